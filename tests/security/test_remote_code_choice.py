"""Finding 1 over SSH (the real ``sshd`` fixture): the remote worker finds the code by the job type's name too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import wbtest_jobs

from workbench.bundle import create
from workbench.executors.ssh import run as ssh_run
from workbench.scan import scan

pytestmark = pytest.mark.ssh

TESTS = Path(__file__).parent.parent


def test_a_remote_worker_runs_the_job_types_code_not_the_inputs(sshd, tmp_path, outside):
    site = tmp_path / "site"
    site.mkdir()
    marker = outside / "PWNED"
    (site / "wbsec_evil_remote.py").write_text(
        f"from pathlib import Path\n\ndef run(point, ctx):\n    Path({str(marker)!r}).write_text('ran')\n    return {{}}\n"
    )
    b = create(scan(wbtest_jobs.counting, x=[1, 2]), tmp_path / "b")
    path = b.input_path(b.job_ids[0])
    path.write_text(json.dumps({**json.loads(path.read_text()), "run": "wbsec_evil_remote:run"}))
    # The remote Python can import both modules; only the job type (as found here) says which code runs.
    env = {"PYTHONPATH": f"{site}:{TESTS}"}
    report = ssh_run(b, remote_dir=str(tmp_path / "remote"), python=sys.executable, env=env, workers=1,
                     progress=False, host=sshd.host, **sshd.connect_options())  # fmt: skip
    assert not marker.exists()
    assert report.completed == 1 and len(report.failed) == 1, report
    assert "cannot choose the code" in b.stderr_path(b.job_ids[0]).read_text()
