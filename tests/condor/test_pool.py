"""On a real HTCondor pool (marker ``condor``): run only where ``condor_status`` answers, else skipped with why.

The jobs run ``python -m workbench.job`` with this very interpreter, so the
pool must see it (a personal pool on this machine, or a shared file system).
"""

from __future__ import annotations

import sys

import pytest

from workbench.executors.condor import CondorExecutor, submissions
from workbench.settings import RunSettings

pytestmark = pytest.mark.condor


def test_a_small_scan_runs_and_completes_on_the_pool(pool, make_bundle):
    b = make_bundle("on-pool", settings=RunSettings(python=sys.executable, request_memory_mb=256, request_disk_mb=64),
                    job_type="demo", drive_freq=[0.9, 1.1])
    ex = CondorExecutor()
    sub = ex.submit(b, b.job_ids)
    assert submissions(b)[0].cluster == sub.cluster
    st = ex.wait(b, poll=2.0, timeout=900)
    assert st.counts()["completed"] == len(b.job_ids), st.summary()
    assert all(b.result_path(j).exists() for j in b.job_ids)


def test_hold_and_release_on_the_pool(pool, make_bundle):
    b = make_bundle("hold-release", settings=RunSettings(python=sys.executable), x=[1.0])
    ex = CondorExecutor()
    ex.submit(b, b.job_ids)
    assert "hold 1 job" in ex.hold(b)
    assert "release 1 job" in ex.release(b, b.job_ids)
    ex.remove(b)
