"""ScanState between full listings: a refresh looks only at the jobs its new events name."""

from __future__ import annotations

import wbtest_jobs

from workbench import _names
from workbench.bundle import create
from workbench.eventlog import EventWriter
from workbench.job import write_result
from workbench.scan import scan
from workbench.state import ScanState


def test_new_results_are_found_through_their_events_without_listing_outputs(tmp_path, monkeypatch):
    b = create(scan(wbtest_jobs.counting, x=list(range(6))), tmp_path / "b")
    ids = b.job_ids
    log = EventWriter(b.log_path, 1)
    log.submitted(enumerate(ids))
    st = ScanState(b, cache=False)
    st.update()  # first read: one full listing
    listings = []
    real = type(b).finished_ids
    monkeypatch.setattr(type(b), "finished_ids", lambda self: (listings.append(1), real(self))[1])

    # Job 0 ends with its result; job 1's result is copied in by hand with no event.
    for jid in ids[:2]:
        write_result(b.path / _names.OUTPUTS, b.input(jid), {"y": 1}, {})
    log.executing(0)
    log.terminated(0, 0, 1.0)
    changed = st.update()
    assert ids[0] in changed and st.jobs[ids[0]].state == "completed"
    assert st.jobs[ids[1]].state == "idle"  # not looked at yet
    assert listings == []

    # "Sync now" (full=True) lists the folder and finds the result that came without an event.
    changed = st.update(full=True)
    assert listings == [1] and ids[1] in changed and st.jobs[ids[1]].state == "completed"
    assert st.counts()["completed"] == 2
