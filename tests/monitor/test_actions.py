"""The monitor follows the bundle's latest run, whatever its target: its buttons act on it, its sync pulls it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import workbench as wb
from workbench import _names
from workbench.executors import condor
from workbench.executors.local import LocalRun
from workbench.monitor.actions import RunFollower
from workbench.monitor.widget import Monitor


def record_submission(bundle: Any, **fields: Any) -> None:
    sub = {"n": 1, "cluster": 42, "count": len(bundle.job_ids), "host": "submit01", "time": "2024-03-01T12:00:00+00:00", **fields}
    (bundle.path / _names.SUBMISSIONS).write_text(json.dumps([sub]))


def test_a_bundle_never_run_has_no_run_to_follow_and_nothing_to_pull(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0])
    m = Monitor(b, panels=False)
    assert isinstance(m.actions, RunFollower) and m.run is None
    assert m.follower.sync() is None and not m.follower.remote
    m.refresh()
    assert m.model.counts()["unsubmitted"] == 1 and m.remove_button.disabled and m.release_button.disabled
    with pytest.raises(wb.errors.ExecutorError, match="has not been run yet"):
        m.follower.resubmit(b.job_ids)


def test_pool_bundles_get_the_pool_actions(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0, 2.0])
    record_submission(b, target="condor")
    m = Monitor(b, panels=False)
    assert isinstance(m.run, condor.CondorRun) and m.run.target == "condor" and not m.follower.remote
    m.refresh()
    assert m.model.counts()["idle"] == 3  # queued according to the submission record
    assert not m.remove_button.disabled and m.release_button.disabled
    m.remove_button.click()
    m.remove_button.click()
    # No schedd here: the pool executor's error shows in the panel, nothing is raised.
    assert m.message.startswith("Removing failed:") and "schedd" in m.message
    # A run this kernel starts afterwards is the latest: the monitor follows it.
    run = wb.run(b, wait=False, progress=False, workers=1, only="all")
    try:
        run.wait(60)
        assert isinstance(m.run, LocalRun) and m.run.cluster == run.cluster
        m.refresh()
        assert m.model.counts()["completed"] == 3
    finally:
        run.wait(60)


def test_bundles_on_a_remote_submit_host_are_pulled_before_each_refresh(make_bundle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(x=[0.0])
    record_submission(b, target="condor-ssh", remote_dir="workbench/scan", condor_bin="")
    pulls: list[Any] = []
    monkeypatch.setattr(condor.CondorSSHExecutor, "pull", lambda self, bundle, **o: pulls.append((self.host, bundle.path)))
    m = Monitor(b, panels=False)
    assert isinstance(m.run, condor.CondorRun) and m.follower.remote and m.model.sync is not None
    m.refresh()
    m.sync_now()
    assert pulls == [("submit01", b.path)] * 2
    quiet = Monitor(b, panels=False, sync=False)
    quiet.refresh()
    assert quiet.model.sync is None and len(pulls) == 2
