"""Finding 1: nothing in a bundle chooses the code that runs (inputs' "run", info.pkl's job_type_ref)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import wbtest_jobs
from wbtest_security import assert_clean

from workbench import _names, _safepickle
from workbench.bundle import Bundle, create
from workbench.errors import JobTypeError
from workbench.executors.local import run
from workbench.scan import scan

EVIL = '''
from pathlib import Path
Path({marker!r}).write_text("imported")


def run(point, ctx):
    Path({marker!r}).write_text("ran")
    return {{}}
'''


def plant_module(site: Path, name: str, marker: Path) -> None:
    """An importable module that leaves ``marker`` when it is imported or its ``run`` is called."""
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(EVIL.format(marker=str(marker)))


def edit_input(bundle: Bundle, job_id: str, **changes) -> None:
    path = bundle.input_path(job_id)
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_an_input_naming_another_function_runs_nothing(tmp_path, cli, outside):
    marker = outside / "PWNED"
    plant_module(tmp_path / "site", "wbsec_evil_run", marker)
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3]), tmp_path / "b")
    edit_input(b, b.job_ids[0], run="wbsec_evil_run:run")
    # The issue's own exploit: cProfile.run executes its first argument, the input's params.
    edit_input(b, b.job_ids[1], run="cProfile:run", params=f"open({str(marker)!r}, 'w').write('x')")
    proc = cli("run", "b", "--no-progress")
    assert_clean(proc)
    assert not marker.exists()
    assert proc.returncode != 0 and "1 of 3 job(s) completed" in proc.stdout, proc.stdout + proc.stderr
    err = b.stderr_path(b.job_ids[0]).read_text()
    assert "cannot choose the code" in err and "'wbsec_evil_run:run'" in err


def test_an_input_of_another_job_type_is_refused(tmp_path):
    b = create(scan(wbtest_jobs.counting, x=[1, 2]), tmp_path / "b")
    demo = create(scan("demo"), tmp_path / "demo")
    foreign = json.loads(demo.input_path(demo.job_ids[0]).read_text())
    edit_input(b, b.job_ids[0], job_type=foreign["job_type"], run=foreign["run"])
    report = run(b, workers=1, progress=False)
    assert report.completed == 1 and len(report.failed) == 1
    assert "job of type 'demo'" in report.failed[0][1] or "job of type 'demo'" in b.stderr_path(b.job_ids[0]).read_text()


def test_opening_a_bundle_imports_nothing_it_names(tmp_path, monkeypatch, outside):
    marker = outside / "IMPORTED"
    plant_module(tmp_path / "site", "wbsec_evil_ref", marker)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    b = create(scan("demo", damping=[0.1, 0.2]), tmp_path / "b")
    info = dict(b.info)
    info.update(job_type="wbsec-not-installed", job_type_ref="wbsec_evil_ref:cube")
    (b.path / _names.INFO).write_bytes(_safepickle.dumps(info))

    again = Bundle(b.path)
    with pytest.raises(JobTypeError, match="wbsec-not-installed.*if you trust that module, import it"):
        again.scan  # noqa: B018
    from workbench.ui.explorer import declared_outputs

    assert declared_outputs("wbsec-not-installed", "wbsec_evil_ref:cube") == ()
    assert not marker.exists() and "wbsec_evil_ref" not in sys.modules


def test_the_monitor_and_results_of_such_a_bundle_import_nothing(tmp_path, cli, outside):
    marker = outside / "IMPORTED"
    plant_module(tmp_path / "site", "wbsec_evil_mon", marker)
    b = create(scan("demo", damping=[0.1, 0.2]), tmp_path / "b")
    info = dict(b.info)
    info.update(job_type="wbsec-not-installed", job_type_ref="wbsec_evil_mon:cube")
    (b.path / _names.INFO).write_bytes(_safepickle.dumps(info))
    for args in (("status", "b"), ("results", "b"), ("run", "b", "--no-progress")):
        proc = cli(*args)
        assert_clean(proc)
    assert "Unknown job type 'wbsec-not-installed'" in proc.stderr and proc.returncode != 0
    assert not marker.exists()
