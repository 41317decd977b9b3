"""What the security tests share: crafted bundles, a way to run the command line as a user does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from wbtest_security import CLI

TESTS = Path(__file__).parent.parent


@pytest.fixture
def cli(tmp_path: Path) -> CLI:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(TESTS)])}
    (tmp_path / "site").mkdir(exist_ok=True)
    return CLI(tmp_path, env)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the bundle that nothing read from a bundle may write into."""
    d = tmp_path / "outside"
    d.mkdir()
    return d


@pytest.fixture
def done(tmp_path: Path):
    """A bundle of three jobs, run: its outputs and event log are there to be damaged."""
    import wbtest_jobs

    from workbench.bundle import create
    from workbench.executors.local import run
    from workbench.scan import scan

    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3]), tmp_path / "b")
    report = run(b, workers=1, progress=False)
    assert report.completed == 3
    return b
