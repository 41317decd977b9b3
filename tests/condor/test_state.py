"""The job state machine on event logs in the exact format HTCondor writes (``tests/data/eventlogs``).

Every valid log of the corpus is read by both readers (the fast text reader and
``htcondor2.JobEventLog``), which must agree event by event and job by job.
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from workbench import _names
from workbench.state import STATES, ScanState, read_events

CORPUS = Path(__file__).parent.parent / "data" / "eventlogs"
VALID = sorted(p.name for p in CORPUS.glob("*.log") if p.name not in ("garbage.log", "damaged_middle.log"))
I0, I1, I2, I3, I4, I5 = ("3f9a2c1d5e7b8a60", "8c1e0f2a9b3d4e57", "a0b1c2d3e4f50617", "5d6e7f8091a2b3c4",
                          "e1f2a3b4c5d6e7f8", "0a1b2c3d4e5f6071")


def read(bundle, reader="fast", cache=False) -> ScanState:
    st = ScanState(bundle, reader=reader, cache=cache)
    st.update()
    return st


def records(st: ScanState) -> dict[str, dict]:
    return {j: asdict(r) for j, r in st.jobs.items()}


def local(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))


def events_of(path: Path) -> list[str]:
    """The log's events as text, one string each (separator included)."""
    parts = path.read_text().split("...\n")
    return [p + "...\n" for p in parts[:-1]]


# ---------------------------------------------------------------------------
# Both readers agree
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", VALID)
def test_fast_reader_reads_what_htcondor2_reads(name):
    fast = read_events(CORPUS / name)
    ref = read_events(CORPUS / name, reader="htcondor2")
    assert [e[:4] for e in fast] == [e[:4] for e in ref]  # type, cluster, proc, time
    for (code, *_, fields), (*_, ref_fields) in zip(fast, ref):
        for key, value in fields.items():
            # htcondor2 leaves out zero subcodes and empty reasons
            expected = ref_fields.get(key, 0 if key.endswith("SubCode") else "" if key == "HoldReason" else None)
            assert value == expected, (name, code, key)


@pytest.mark.parametrize("name", VALID)
def test_both_readers_give_the_same_job_records(log_bundle, name):
    fast = read(log_bundle("a", name))
    ref = read(log_bundle("b", name), reader="htcondor2")
    assert records(fast) == records(ref)
    assert not fast.unparsable and not fast.problems


# ---------------------------------------------------------------------------
# What each log says
# ---------------------------------------------------------------------------
def test_a_normal_run_with_file_transfers_a_failure_and_a_retried_signal(log_bundle):
    st = read(log_bundle(log="lifecycle_iso.log"))
    done, failed, retried = st.jobs[I0], st.jobs[I1], st.jobs[I2]
    assert (done.state, done.exit_code, done.cluster, done.proc) == ("completed", 0, 4821, 0)
    assert done.host == "slot1_4@e033.example.edu" and done.memory_mb == 143.0 and done.transfer == ""
    assert done.submitted == local(2025, 3, 14, 9, 12, 3) and done.started == local(2025, 3, 14, 9, 13, 12)
    assert done.finished == local(2025, 3, 14, 9, 41, 2)
    assert [k for _, k in done.history] == [
        "SUBMIT", "FILE_TRANSFER", "FILE_TRANSFER", "FILE_TRANSFER", "EXECUTE", "IMAGE_SIZE", "FILE_TRANSFER",
        "FILE_TRANSFER", "FILE_TRANSFER", "JOB_TERMINATED", "JOB_AD_INFORMATION",
    ]
    # Held by workbench's on_exit_hold: a failure, with the exit code from the hold reason.
    assert (failed.state, failed.exit_code, failed.hold_code, failed.hold_subcode) == ("failed", 1, 3, 1)
    assert failed.hold_reason == "workbench: the job exited with code 1"
    assert failed.finished == local(2025, 3, 14, 9, 19, 2)
    # Killed by a signal, held, released by periodic_release, running again on another slot.
    assert (retried.state, retried.starts, retried.host) == ("running", 2, "slot1_2@e036.example.edu")
    assert retried.hold_reason == "" and retried.hold_code is None
    assert "JOB_RELEASED" in [k for _, k in retried.history]
    assert st.counts() == {**dict.fromkeys(STATES, 0), "unsubmitted": 4, "running": 1, "completed": 1, "failed": 1}


def test_transfers_in_progress_are_shown(log_bundle, corpus):
    b = log_bundle()
    text = events_of(corpus / "lifecycle_iso.log")
    b.log_path.write_text("".join(text[:4]))  # three submits, then "Entered queue to transfer input files"
    st = read(b)
    assert st.jobs[I0].transfer == "queued for input transfer" and st.jobs[I0].state == "idle"
    with open(b.log_path, "a") as f:
        f.write(text[4])
    st.update()
    assert st.jobs[I0].transfer == "transferring input"
    with open(b.log_path, "a") as f:
        f.write(text[5] + text[6])
    st.update()
    assert st.jobs[I0].transfer == "" and st.jobs[I0].state == "running"


def test_legacy_timestamps_and_abnormal_terminations(log_bundle):
    st = read(log_bundle(log="legacy_timestamps.log"))
    year = time.localtime().tm_year  # MM/DD stamps have no year; HTCondor takes the current one
    assert st.jobs[I0].submitted == local(year, 3, 14, 11, 2, 33)
    assert (st.jobs[I0].state, st.jobs[I0].host) == ("completed", "e021.example.edu")
    assert (st.jobs[I1].state, st.jobs[I1].exit_code, st.jobs[I1].reason) == ("failed", None, "killed by signal 9 (SIGKILL)")
    assert st.jobs[I2].reason == "killed by signal 11 (SIGSEGV)"


def test_utc_and_sub_second_timestamps(log_bundle):
    st = read(log_bundle(log="utc_subsecond.log"))
    assert st.jobs[I0].submitted == calendar.timegm((2025, 3, 14, 8, 12, 3, 0, 0, 0))
    assert st.jobs[I0].finished == calendar.timegm((2025, 3, 14, 8, 41, 2, 0, 0, 0))
    assert st.jobs[I1].started == calendar.timegm((2025, 3, 15, 0, 0, 30, 0, 0, 0))


def test_holds_with_reasons_and_codes_and_releases(log_bundle):
    st = read(log_bundle(log="holds_releases.log"))
    user, memory, transfer, unspecified, on_hold = (st.jobs[i] for i in (I0, I1, I2, I3, I4))
    assert (user.state, user.evictions, user.starts) == ("running", 1, 2)  # held by the user, released, restarted
    assert user.reason == "evicted: via condor_hold (by user alice)"
    assert (memory.state, memory.hold_code, memory.hold_subcode) == ("held", 34, 102)
    assert memory.hold_reason.startswith("Error from slot1_2@e041.example.edu: Job has gone over cgroup memory limit")
    assert memory.memory_mb == 1075.0
    assert (transfer.state, transfer.starts) == ("running", 1)  # input transfer failed, released, ran
    assert [k for _, k in transfer.history].count("JOB_HELD") == 1
    assert (unspecified.state, unspecified.hold_reason, unspecified.hold_code) == ("held", "", 21)
    assert on_hold.state == "idle" and [k for _, k in on_hold.history] == ["SUBMIT", "JOB_HELD", "JOB_RELEASED"]


def test_evictions_checkpoints_and_the_checkpoint_exit_code(log_bundle):
    st = read(log_bundle(log="evictions_checkpoints.log"))
    evicted, requeued, exit85 = st.jobs[I0], st.jobs[I1], st.jobs[I2]
    assert (evicted.state, evicted.evictions, evicted.checkpoints, evicted.starts) == ("completed", 1, 1, 2)
    assert evicted.host == "slot1_2@e054.example.edu" and evicted.reason == "evicted: The startd is shutting down"
    # An old-style checkpointed event, then a terminate-and-requeue eviction: running again.
    assert (requeued.state, requeued.checkpoints, requeued.evictions) == ("running", 1, 1)
    assert requeued.reason == "evicted: OnExitRemove evaluated to FALSE"
    # A pool that logs exit 85 as a termination: a checkpoint, never a failure.
    assert (exit85.state, exit85.exit_code, exit85.checkpoints, exit85.finished) == ("idle", 85, 1, None)


def test_aborts(log_bundle):
    st = read(log_bundle(log="aborts.log"))
    assert st.ids("removed") == [I0, I1, I2, I3]
    assert st.jobs[I1].evictions == 1 and st.jobs[I1].reason == "via condor_rm (by user alice)"
    assert st.jobs[I2].reason == "via condor_rm (by user alice)"  # "Job was aborted by the user." banner
    assert st.jobs[I3].reason.startswith("The job attribute PeriodicRemove") and st.jobs[I3].hold_code is None


def test_shadow_exceptions_reconnects_remote_errors_and_suspension(log_bundle):
    st = read(log_bundle(log="execute_trouble.log"))
    shadow, reconnected, lost, starter, exe, paused = (st.jobs[i] for i in (I0, I1, I2, I3, I4, I5))
    assert (shadow.state, shadow.starts, shadow.host) == ("running", 2, "slot1_4@e073.example.edu")
    assert shadow.reason.startswith("Error from slot1_1@e070.example.edu: FileTransfer")
    assert reconnected.state == "completed"
    assert lost.state == "idle" and lost.reason.startswith("reconnection failed: Job disconnected too long")
    assert (starter.state, starter.hold_code, starter.hold_subcode) == ("held", 6, 2)
    assert starter.reason.startswith("Failed to execute '/usr/bin/env'")  # the starter's remote error
    assert (exe.state, exe.reason) == ("failed", "executable error (type 0)")
    assert paused.state == "suspended" and [k for _, k in paused.history][-3:] == ["JOB_SUSPENDED", "JOB_UNSUSPENDED", "JOB_SUSPENDED"]


def test_several_clusters_an_old_clusters_late_abort_does_not_touch_the_new_run(log_bundle):
    b = log_bundle(log="multi_cluster.log")
    st = read(b)
    assert st.ids("completed") == [I0, I1, I2]
    rec = st.jobs[I1]
    assert (rec.cluster, rec.proc, rec.starts) == (10021, 0, 2)
    kinds = [k for _, k in rec.history]
    assert kinds == ["SUBMIT", "EXECUTE", "JOB_HELD", "SUBMIT", "JOB_ABORTED", "EXECUTE", "JOB_TERMINATED"]
    assert "ffffffffffffffff" not in st.jobs  # another scan's job in the same log
    assert st.by_cluster() == {10020: [I0, I2], 10021: [I1]}


def test_a_recorded_resubmission_wins_over_a_late_submit_of_the_older_cluster(log_bundle):
    b = log_bundle(ids=[I0])
    (b.path / "submissions").mkdir()
    (b.path / "submissions" / "2.txt").write_text(f"0 {I0}\n")
    (b.path / _names.SUBMISSIONS).write_text(json.dumps([
        {"n": 1, "cluster": 300, "count": 1, "target": "condor", "host": "h", "time": "2025-03-14T09:00:00+00:00"},
        {"n": 2, "cluster": 301, "count": 1, "target": "condor", "host": "h", "time": "2025-03-14T09:30:00+00:00",
         "items": "submissions/2.txt"},
    ]))
    st = read(b)
    assert (st.jobs[I0].state, st.jobs[I0].cluster, st.jobs[I0].proc) == ("idle", 301, None)  # queued, not in the log yet
    b.log_path.write_text(
        f"000 (301.000.000) 2025-03-14 09:30:00 Job submitted from host: <h>\n    {I0}\n...\n"
        f"000 (300.000.000) 2025-03-14 09:30:01 Job submitted from host: <h>\n    {I0}\n...\n"  # late, from the old one
        "001 (300.000.000) 2025-03-14 09:30:05 Job executing on host: <e>\n...\n"
        "001 (301.000.000) 2025-03-14 09:31:00 Job executing on host: <e>\n...\n"
    )
    st.update()
    assert (st.jobs[I0].state, st.jobs[I0].cluster, st.jobs[I0].proc, st.jobs[I0].starts) == ("running", 301, 0, 1)


def test_late_materialisation_queued_jobs_and_a_cluster_removed_early(log_bundle):
    b = log_bundle(log="late_materialization.log")
    (b.path / "submissions").mkdir()
    (b.path / "submissions" / "2.txt").write_text("".join(f"{i} {j}\n" for i, j in ((3, I3), (4, I4), (5, I5), (6, IDS6))))
    (b.path / _names.SUBMISSIONS).write_text(json.dumps([
        {"n": 1, "cluster": 9001, "count": 3, "target": "condor", "host": "h", "time": "2025-03-14T15:00:00", "items": "s1.txt"},
        {"n": 2, "cluster": 9002, "count": 4, "target": "condor", "host": "h", "time": "2025-03-14T15:30:00",
         "items": "submissions/2.txt"},
    ]))
    (b.path / "s1.txt").write_text(f"0 {I0}\n1 {I1}\n2 {I2}\n")
    st = read(b)
    assert st.ids("completed") == [I0, I1, I2]
    assert st.clusters[9001]["completion"] == 1 and st.clusters[9001]["materialized"] == 3
    # 9002 made two of its four jobs, which were removed; the two it never made went with the cluster.
    assert st.ids("removed") == [I3, I4, I5, IDS6]
    assert st.jobs[I5].reason == "its cluster was removed before HTCondor made this job" and st.jobs[I5].proc is None
    assert st.clusters[9002]["reason"] == "Resumed by condor_release (by user alice)"


IDS6 = "9e8d7c6b5a493827"


def test_queued_jobs_of_a_late_materialising_cluster_before_the_log_shows_them(log_bundle):
    b = log_bundle()
    (b.path / _names.SUBMISSIONS).write_text(json.dumps([
        {"n": 1, "cluster": 9001, "count": 7, "target": "condor", "host": "h", "time": "2025-03-14T15:00:00+00:00"}
    ]))
    st = ScanState(b, cache=False)
    assert st.update() == set(st.jobs)
    assert st.counts()["idle"] == 7 and all(r.proc is None and r.cluster == 9001 for r in st.jobs.values())
    changed = st.apply_queue([
        {"ClusterId": 9001, "ProcId": 0, "JobStatus": 2, "RemoteHost": "slot1@e080", "SubmitEventNotes": I0},
        {"ClusterId": 9001, "ProcId": 1, "JobStatus": 5, "HoldReason": "via condor_hold", "HoldReasonCode": 1,
         "HoldReasonSubCode": 0, "SubmitEventNotes": I1},
        {"ClusterId": 9001, "ProcId": 2, "JobStatus": 1, "SubmitEventNotes": "not-a-job"},
    ])
    assert changed == {I0, I1}
    assert (st.jobs[I0].state, st.jobs[I0].proc, st.jobs[I0].host) == ("running", 0, "slot1@e080")
    assert (st.jobs[I1].state, st.jobs[I1].hold_code, st.jobs[I1].hold_reason) == ("held", 1, "via condor_hold")
    shutil.copyfile(CORPUS / "late_materialization.log", b.log_path)
    st.update()  # the log, once it has them, is the truth
    assert st.jobs[I0].state == "completed"


# ---------------------------------------------------------------------------
# Damage
# ---------------------------------------------------------------------------
def test_a_file_that_is_not_an_event_log_is_reported_not_silently_empty(log_bundle):
    for reader in ("fast", "htcondor2"):
        st = read(log_bundle(f"g-{reader}", "garbage.log"), reader)
        assert st.unparsable and st.events_read == 0
        assert "no events could be read" in st.summary()
        assert st.problems


def test_a_binary_file_without_separators_is_reported_too(log_bundle):
    b = log_bundle()
    b.log_path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    for reader in ("fast", "htcondor2"):
        st = read(b, reader)
        assert st.unparsable, reader


def test_an_empty_log_and_a_first_event_still_being_written_are_not_damage(log_bundle, corpus):
    b = log_bundle()
    b.log_path.write_text("")
    assert not read(b).unparsable
    b.log_path.write_text(events_of(corpus / "lifecycle_iso.log")[0][:40])
    for reader in ("fast", "htcondor2"):
        st = read(b, reader)
        assert not st.unparsable and not st.problems and st.events_read == 0


def test_a_truncated_log_is_read_up_to_its_last_whole_event_and_resumes_when_completed(log_bundle, corpus):
    for reader in ("fast", "htcondor2"):
        b = log_bundle(f"t-{reader}", "truncated.log")
        st = read(b, reader)
        assert st.events_read == 3 and st.jobs[I0].state == "running" and not st.problems
        # The cut event is job 0's termination, which lifecycle_iso.log has whole.
        cut = (corpus / "truncated.log").read_text().rsplit("...\n", 1)[1]
        whole = next(e for e in events_of(corpus / "lifecycle_iso.log") if e.startswith(cut[:40]))
        assert whole.startswith(cut) and len(cut) < len(whole)
        with open(b.log_path, "a") as f:
            f.write(whole[len(cut) :])
        assert st.update() == {I0}
        assert st.events_read == 4 and st.jobs[I0].state == "completed"


def test_damage_in_the_middle_is_skipped_and_described(log_bundle):
    st = read(log_bundle(log="damaged_middle.log"))
    assert st.ids("completed") == [I0, I1] and st.jobs[I1].starts == 1
    assert len(st.problems) == 1 and "not an event" in st.problems[0]
    assert "damaged stretch" in st.summary() and not st.unparsable
    # htcondor2.JobEventLog stops at the damage; the htcondor2 reader says so.
    ref = read(log_bundle("ref", "damaged_middle.log"), "htcondor2")
    assert ref.jobs[I0].state == "running" and "stopped reading" in ref.problems[0]


def test_a_missing_log_is_no_events_yet(log_bundle):
    st = read(log_bundle())
    assert st.counts()["unsubmitted"] == 7 and not st.unparsable and st.events_read == 0


# ---------------------------------------------------------------------------
# Reading incrementally, and across sessions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("reader", ["fast", "htcondor2"])
@pytest.mark.parametrize("name", ["lifecycle_iso.log", "evictions_checkpoints.log", "late_materialization.log"])
def test_event_by_event_equals_all_at_once(log_bundle, reader, name):
    whole = read(log_bundle("whole", name), reader)
    b = log_bundle("inc")
    st = ScanState(b, reader=reader, cache=False)
    b.log_path.write_text("")
    for k, event in enumerate(events_of(CORPUS / name), 1):
        with open(b.log_path, "a") as f:
            f.write(event)
        changed = st.update()
        assert st.events_read == k
        assert len(changed) <= 4  # one job (or a cluster's unmade ones), never a re-read of everything
    assert records(st) == records(whole)


def test_a_new_session_resumes_from_the_cache_and_reads_only_what_was_appended(log_bundle):
    b = log_bundle(log="lifecycle_iso.log")
    first = ScanState(b)
    first.update()
    assert first.save() == b.path / _names.STATE_CACHE
    with open(b.log_path, "a") as f:
        f.write(events_of(CORPUS / "multi_cluster.log")[-1].replace("10021.000", "4821.002"))  # I2 terminates
    second = ScanState(b)
    changed = second.update()
    assert second.cache_loaded and second.events_read == first.events_read + 1
    assert second.jobs[I2].state == "completed" and I2 in changed
    assert records(second) == records(read(b))  # same as reading everything again


def test_the_cache_is_not_used_when_the_log_was_replaced_or_truncated(log_bundle, corpus):
    b = log_bundle(log="lifecycle_iso.log")
    st = ScanState(b)
    st.update()
    st.save()
    shutil.copyfile(corpus / "aborts.log", b.log_path)  # a different log, longer than the offset
    again = ScanState(b)
    again.update()
    assert not again.cache_loaded and again.ids("removed") == [I0, I1, I2, I3]
    b.log_path.write_text(b.log_path.read_text()[:200])  # truncated under a live reader
    assert again.update() == set(again.jobs)
    assert again.counts()["removed"] == 0


@pytest.mark.parametrize("reader", ["fast", "htcondor2"])
def test_a_log_renamed_into_place_by_a_sync_is_resumed_not_reread(log_bundle, corpus, monkeypatch, reader):
    b = log_bundle(f"s-{reader}")
    events = events_of(corpus / "lifecycle_iso.log")
    b.log_path.write_text("".join(events[:23]))  # the rest are job 0's output transfer, end and ad
    st = read(b, reader)
    tmp = b.path / _names.LOGS / ".scan.log.part"
    tmp.write_text("".join(events))  # the whole remote file, written aside, then renamed (a new inode)
    os.replace(tmp, b.log_path)

    def no_reread(self):
        raise AssertionError("the log was read again from the start")

    with monkeypatch.context() as m:
        m.setattr(ScanState, "_reset", no_reread)  # every read from byte 0 starts there
        changed = st.update()
    assert st.events_read == len(events)
    assert changed == {I0}  # only the job the appended events are about (a re-read changes all 7)
    assert records(st) == records(read(b, reader))


def test_a_stale_or_foreign_cache_is_ignored(log_bundle):
    b = log_bundle(log="aborts.log")
    cache = b.path / _names.STATE_CACHE
    cache.write_bytes(b"not a numpy file")
    st = ScanState(b)
    st.update()
    assert not st.cache_loaded and st.counts()["removed"] == 4
    st.save()
    other = ScanState(b, reader="htcondor2")  # the cache is for the other reader's offsets
    other.update()
    assert not other.cache_loaded and records(other) == records(st)
    (b.path / _names.ITEMS).write_text(f"0 {I0}\n")  # not the same jobs any more
    from workbench.bundle import Bundle

    fewer = ScanState(Bundle(b.path))
    fewer.update()
    assert not fewer.cache_loaded and fewer.ids("removed") == [I0]


def test_the_cache_is_saved_after_a_big_read_and_then_rarely(log_bundle, monkeypatch):
    import workbench.state as state

    monkeypatch.setattr(state, "_SAVE_EVENTS", 20)
    b = log_bundle(log="lifecycle_iso.log")
    st = ScanState(b)
    st.update()  # 28 events >= 20: saved
    assert (b.path / _names.STATE_CACHE).exists()
    stamp = (b.path / _names.STATE_CACHE).stat().st_mtime_ns
    with open(b.log_path, "a") as f:
        f.write(events_of(CORPUS / "lifecycle_iso.log")[0])
    st.update()  # one event, five minutes have not passed: not saved
    assert (b.path / _names.STATE_CACHE).stat().st_mtime_ns == stamp


def test_a_cache_that_cannot_be_written_does_not_stop_reading(log_bundle):
    b = log_bundle(log="aborts.log")
    (b.path / _names.STATE_CACHE).mkdir()  # something in the way (a read-only bundle fails the same way)
    st = ScanState(b)
    st.update()
    assert st.save() is None and st.counts()["removed"] == 4 and not st.cache_loaded
    assert sorted(p.name for p in b.path.iterdir()) == sorted([_names.ITEMS, _names.LOGS, _names.OUTPUTS, _names.STATE_CACHE])
