from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wbtest_jobs

from workbench import _names
from workbench.bundle import create
from workbench.job import run_job, write_result
from workbench.errors import JobError
from workbench.results import load_arrays, load_result
from workbench.scan import scan

TESTS = Path(__file__).parent


@pytest.fixture
def bundle(tmp_path):
    return create(scan(wbtest_jobs.counting, x=[2, 5], fail_on=5), tmp_path / "b")


def test_a_job_writes_scalars_and_arrays(bundle):
    jid = bundle.job_ids[0]
    out = run_job(bundle.input_path(jid), bundle.path / _names.OUTPUTS, stderr_path=bundle.stderr_path(jid))
    assert out.ok and out.exit_code == 0
    rec = load_result(bundle, jid)
    assert rec["scalars"] == {"y": 4, "half": 1.0, "label": "x2"}
    assert rec["params"]["x"] == 2 and rec["runtime"] >= 0 and rec["host"]
    np.testing.assert_array_equal(load_arrays(bundle, jid)["series"], [0.0, 1.0, 2.0])
    # Nothing temporary is left in outputs/.
    assert sorted(p.name for p in (bundle.path / _names.OUTPUTS).iterdir()) == [f"{jid}.arrays.npz", f"{jid}.result.json"]


def test_an_exception_is_captured_in_the_log_and_exits_non_zero(bundle):
    jid = bundle.job_ids[1]
    out = run_job(bundle.input_path(jid), bundle.path / _names.OUTPUTS, stderr_path=bundle.stderr_path(jid))
    assert out.exit_code == 1
    assert out.error == "ValueError: x = 5 is the value this job was told to fail on"
    log = bundle.stderr_path(jid).read_text()
    assert "Traceback (most recent call last)" in log and f"job {jid} failed" in log
    assert not bundle.result_path(jid).exists()


def test_the_command_line_runner_as_on_a_pool(bundle, tmp_path):
    """python -m workbench.job in a scratch folder, as HTCondor runs it on an execute node."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # The pool's user trusts the tests' job types by name (a bundle cannot name a module to import).
    env = {"PYTHONPATH": str(TESTS), "PATH": "/usr/bin:/bin", "WORKBENCH_JOB_TYPES": "wbtest_jobs:counting"}
    for jid, code in zip(bundle.job_ids, (0, 1)):
        (scratch / f"{jid}.json").write_bytes(bundle.input_path(jid).read_bytes())
        proc = subprocess.run([sys.executable, "-m", "workbench.job", f"{jid}.json"], cwd=scratch, env=env,
                              capture_output=True, text=True)
        assert proc.returncode == code, proc.stderr
    ok, bad = bundle.job_ids
    assert json.loads((scratch / f"{ok}.result.json").read_text())["scalars"]["y"] == 4
    assert "ValueError: x = 5 is the value" in proc.stderr and "Traceback" in proc.stderr
    assert not (scratch / f"{bad}.result.json").exists()


@pytest.mark.parametrize(
    "results, match",
    [
        ({"a": object()}, "result 'a' is a object"),
        ({"a": [1, "x", None]}, "holds Python objects"),
        ({"not an id": 1}, "is not an identifier"),
        ([1, 2], "returned a list"),
    ],
)
def test_results_that_cannot_be_stored_are_refused(tmp_path, results, match):
    with pytest.raises(JobError, match=match):
        write_result(tmp_path, {"job_id": "j"}, results, {})
    assert list(tmp_path.iterdir()) == []


def test_non_finite_and_complex_scalars_are_kept_exactly(tmp_path, bundle):
    jid = bundle.job_ids[0]
    write_result(bundle.path / _names.OUTPUTS, bundle.input(jid), {"nan": float("nan"), "z": 1 + 2j, "n": np.int32(3)}, {})
    rec = load_result(bundle, jid)
    assert rec["scalars"] == {"n": 3} and rec["arrays"] == ["nan", "z"]
    arrays = load_arrays(bundle, jid)
    assert np.isnan(arrays["nan"]) and arrays["z"] == 1 + 2j
