"""The executors' event log must read back through htcondor2.JobEventLog as HTCondor's own does."""

from __future__ import annotations

import htcondor2

from workbench.eventlog import EventWriter


def test_written_events_parse_with_htcondor2(tmp_path):
    log = tmp_path / "scan.log"
    w = EventWriter(log, cluster=7)
    w.submitted([(0, "aaaa"), (1, "bbbb"), (2, "cccc")])
    w.executing(0)
    w.executing(1)
    w.terminated(0, 0, 3725.4)
    w.terminated(1, 1, 2.0)
    w.aborted([2], "removed by workbench: the run was\ninterrupted")
    events = list(htcondor2.JobEventLog(str(log)).events(stop_after=0))
    kinds = [(e.type.name, e.cluster, e.proc) for e in events]
    assert kinds == [
        ("SUBMIT", 7, 0), ("SUBMIT", 7, 1), ("SUBMIT", 7, 2),
        ("EXECUTE", 7, 0), ("EXECUTE", 7, 1),
        ("JOB_TERMINATED", 7, 0), ("JOB_TERMINATED", 7, 1),
        ("JOB_ABORTED", 7, 2),
    ]
    assert [e["LogNotes"] for e in events[:3]] == ["aaaa", "bbbb", "cccc"]
    assert events[5]["ReturnValue"] == 0 and events[5]["TerminatedNormally"] is True
    assert events[5]["RunRemoteUsage"] == "Usr 0 01:02:05, Sys 0 00:00:00"
    assert events[6]["ReturnValue"] == 1
    assert events[7]["Reason"] == "removed by workbench: the run was interrupted"


def test_the_reader_resumes_with_only_new_events(tmp_path):
    log = tmp_path / "scan.log"
    w = EventWriter(log, cluster=1)
    w.submitted([(0, "a")])
    reader = htcondor2.JobEventLog(str(log))
    assert [e.type.name for e in reader.events(stop_after=0)] == ["SUBMIT"]
    w.executing(0)
    assert [e.type.name for e in reader.events(stop_after=0)] == ["EXECUTE"]
