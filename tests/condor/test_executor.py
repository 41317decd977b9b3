"""Submitting to the schedd of this machine, with a stand-in schedd (no pool can run here).

The stand-in (``FakeSchedd`` in conftest.py) gets the real ``htcondor2.Submit``
and items the executor makes, and writes the submit events a schedd would.
"""

from __future__ import annotations

import json
import os
import threading

import htcondor2
import pytest

import workbench as wb
from workbench import _names
from workbench.errors import ExecutorError, SubmitError
from workbench.executors.condor import (
    _QUERY_ATTRS,
    QUERY_INTERVAL,
    CondorExecutor,
    CondorRun,
    executor_for,
    parse_cluster,
    submissions,
)
from workbench.settings import RunSettings
from workbench.submit import read_items
from workbench.state import ScanState


def state(b) -> ScanState:
    st = ScanState(b, cache=False)
    st.update()
    return st


def append(b, text: str) -> None:
    with open(b.log_path, "a") as f:
        f.write(text)


def held_by_exit(cluster: int, proc: int, code: int = 1) -> str:
    return (
        f"012 ({cluster:03d}.{proc:03d}.000) 2025-03-14 10:00:00 Job was held.\n"
        f"\tworkbench: the job exited with code {code}\n\tCode 3 Subcode 1\n...\n"
    )


def test_submit_is_one_transaction_over_every_item_and_is_recorded(make_bundle, fake_schedd):
    b = make_bundle("first scan")
    sub = CondorExecutor(schedd=fake_schedd).submit(b, b.job_ids)
    assert len(fake_schedd.submits) == 1
    description, items = fake_schedd.submits[0]
    assert items == [{"job_index": str(i), "job_id": j} for i, j in enumerate(b.job_ids)]
    # The bindings resolve relative paths against the process's folder: the executor anchors them.
    assert description["initialdir"] == str(b.path)
    assert description["log"] == "logs/scan.log" and description["submit_event_notes"] == "$(job_id)"
    assert (sub.cluster, sub.count, sub.target, sub.items, sub.submit) == (4821, 3, "condor", _names.ITEMS, _names.SUBMIT)
    assert sub.host and sub.time.endswith("+00:00") and "4821" in str(sub)
    assert submissions(b) == [sub]
    assert json.loads((b.path / _names.SUBMISSIONS).read_text())[0]["cluster"] == 4821
    assert (b.path / _names.CHECKPOINTS).is_dir()  # transfer_output_remaps writes there
    st = state(b)
    assert st.counts()["idle"] == 3 and {r.cluster for r in st.jobs.values()} == {4821}


def test_jobs_still_queued_are_not_submitted_twice(make_bundle, fake_schedd):
    b = make_bundle()
    ex = CondorExecutor(schedd=fake_schedd)
    ex.submit(b, b.job_ids)
    with pytest.raises(SubmitError, match="still in the queue.*workbench remove"):
        ex.submit(b, b.job_ids[:1])
    assert len(fake_schedd.submits) == 1


def submit_at_once(b, schedd_class, first_ids, second_ids):
    """Two submissions of ``b`` from two threads, the second started while the first is inside the schedd.

    Returns the stand-in schedd and each submission's outcome (its Submission, or the SubmitError).
    """
    inside, release = threading.Event(), threading.Event()

    class SlowSchedd(schedd_class):
        def submit(self, *args, **kw):
            if not inside.is_set():
                inside.set()
                release.wait(30)
            return super().submit(*args, **kw)

    schedd = SlowSchedd()
    outcome = {}

    def submit(name, ids):
        try:
            outcome[name] = CondorExecutor(schedd=schedd).submit(b, ids)
        except SubmitError as e:
            outcome[name] = e

    first = threading.Thread(target=submit, args=("first", first_ids))
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=submit, args=("second", second_ids))
    second.start()
    second.join(0.5)  # time enough for the second to get as far as it can while the first is in the schedd
    release.set()
    first.join(30)
    second.join(30)
    return schedd, outcome


def test_two_submissions_at_once_never_submit_the_same_jobs_twice(make_bundle, schedd_class):
    # A form and a terminal submitting the same bundle: the second waits for the first, then sees its jobs queued.
    b = make_bundle(x=[1.0, 2.0, 3.0, 4.0])
    schedd, outcome = submit_at_once(b, schedd_class, b.job_ids, b.job_ids[:2])
    assert outcome["first"].n == 1 and outcome["first"].count == 4
    assert isinstance(outcome["second"], SubmitError) and "still in the queue" in str(outcome["second"])
    assert len(schedd.submits) == 1 and [s.n for s in submissions(b)] == [1]


def test_partial_submissions_at_once_take_their_own_numbers(make_bundle, schedd_class):
    b = make_bundle(x=[1.0, 2.0, 3.0, 4.0])
    schedd, outcome = submit_at_once(b, schedd_class, b.job_ids[:2], b.job_ids[2:])
    assert not any(isinstance(o, SubmitError) for o in outcome.values()), outcome
    subs = submissions(b)
    assert sorted(s.n for s in subs) == [1, 2] and len({s.items for s in subs}) == 2
    sent = {4821 + i: [it["job_id"] for it in items] for i, (_, items) in enumerate(schedd.submits)}
    for s in subs:  # each submission's items file still lists the jobs that submission sent
        assert [it["job_id"] for it in read_items((b.path / s.items).read_text())] == sent[s.cluster]
    assert sorted(sent[4821] + sent[4822]) == sorted(b.job_ids)


def test_resubmit_makes_a_new_cluster_over_just_the_failed_and_removed_items(make_bundle, fake_schedd):
    b = make_bundle(x=[1.0, 2.0, 3.0, 4.0])
    ex = CondorExecutor(schedd=fake_schedd)
    ex.submit(b, b.job_ids)
    append(b, held_by_exit(4821, 1, 2) + "009 (4821.003.000) 2025-03-14 10:01:00 Job was aborted.\n\tvia condor_rm (by user alice)\n...\n")
    assert state(b).ids("failed", "removed") == [b.job_ids[1], b.job_ids[3]]
    sub = ex.resubmit(b)
    # The failed job was still in the queue (held by on_exit_hold): removed first, so it cannot run twice.
    action, spec, _ = fake_schedd.acts[0]
    assert action == htcondor2.JobAction.Remove and spec == ["4821.1"]
    assert (sub.n, sub.cluster, sub.count, sub.items, sub.submit) == (2, 4822, 2, "submissions/2.txt", "submissions/2.sub")
    _, items = fake_schedd.submits[1]
    assert [it["job_id"] for it in items] == [b.job_ids[1], b.job_ids[3]]
    assert [it["job_index"] for it in items] == ["1", "3"]  # the job's own index, for people and the runner
    # The files of the partial submission are a valid description over just those items.
    cwd = os.getcwd()
    os.chdir(b.path)
    try:
        again = htcondor2.Submit((b.path / sub.submit).read_text())
        assert list(again.itemdata()) == items
    finally:
        os.chdir(cwd)
    st = state(b)
    assert (st.jobs[b.job_ids[1]].state, st.jobs[b.job_ids[1]].cluster) == ("idle", 4822)
    append(b, "009 (4821.001.000) 2025-03-14 10:02:00 Job was aborted.\n\tworkbench: resubmitted as a new cluster\n...\n")
    st.update()  # the old cluster's abort arrives after the resubmission: it does not touch the new run
    assert (st.jobs[b.job_ids[1]].state, st.jobs[b.job_ids[1]].cluster) == ("idle", 4822)
    with pytest.raises(SubmitError, match="No failed or removed job"):
        ex.resubmit(b)


def test_a_held_job_resubmitted_by_id_is_removed_then_submitted_as_a_new_cluster(make_bundle, fake_schedd):
    b = make_bundle()
    ex = CondorExecutor(schedd=fake_schedd)
    ex.submit(b, b.job_ids)
    # Held by the pool (an input transfer failed), not by on_exit_hold: the job is "held", still in the queue.
    append(b, "012 (4821.001.000) 2025-03-14 10:00:00 Job was held.\n\tTransfer input files failure\n"
              "\tCode 13 Subcode 2\n...\n")
    assert state(b).jobs[b.job_ids[1]].state == "held"
    sub = ex.resubmit(b, [b.job_ids[1]])
    assert fake_schedd.acts[-1][:2] == (htcondor2.JobAction.Remove, ["4821.1"])
    assert (sub.n, sub.cluster, sub.count, sub.items) == (2, 4822, 1, "submissions/2.txt")
    assert [it["job_id"] for it in fake_schedd.submits[1][1]] == [b.job_ids[1]]
    assert (b.path / "submissions" / "2.txt").read_text() == f"1 {b.job_ids[1]}\n"
    assert [s.n for s in submissions(b)] == [1, 2]
    st = state(b)
    assert (st.jobs[b.job_ids[1]].state, st.jobs[b.job_ids[1]].cluster) == ("idle", 4822)


def test_unknown_job_ids_are_refused_by_name_before_anything_is_done(make_bundle, fake_schedd):
    b = make_bundle()
    ex = CondorExecutor(schedd=fake_schedd)
    with pytest.raises(SubmitError, match=r"(?s)\['zz'\] are not in .*jobs of this bundle.*workbench status"):
        ex.submit(b, ["zz", b.job_ids[0]])
    ex.submit(b, b.job_ids)
    append(b, held_by_exit(4821, 0))
    with pytest.raises(SubmitError, match=r"(?s)\['zz'\] are not in .*workbench status"):
        ex.resubmit(b, [b.job_ids[0], "zz"])
    assert len(fake_schedd.submits) == 1 and fake_schedd.acts == []  # nothing removed, nothing submitted


def test_hold_release_remove_act_on_the_right_jobs(make_bundle, fake_schedd):
    b = make_bundle(x=[1.0, 2.0, 3.0, 4.0])
    ex = CondorExecutor(schedd=fake_schedd)
    ex.submit(b, b.job_ids)
    append(b, "001 (4821.000.000) 2025-03-14 10:00:00 Job executing on host: <e>\n...\n" + held_by_exit(4821, 2))
    msg = ex.hold(b, reason="cluster maintenance")
    action, spec, reason = fake_schedd.acts[-1]
    assert action == htcondor2.JobAction.Hold and spec == ["4821.0", "4821.1", "4821.3"]
    assert reason == ("cluster maintenance", 0)  # Schedd.act takes (text, code)
    assert msg == "Asked the pool to hold 3 job(s)."
    ex.release(b, [b.job_ids[2]])
    assert fake_schedd.acts[-1][:2] == (htcondor2.JobAction.Release, ["4821.2"])
    ex.remove(b)
    assert fake_schedd.acts[-1][:2] == (htcondor2.JobAction.Remove, ["4821.0", "4821.1", "4821.2", "4821.3"])


def test_actions_on_a_late_materialising_cluster_use_the_whole_cluster(make_bundle, fake_schedd):
    b = make_bundle(x=[1.0, 2.0, 3.0])
    (b.path / _names.SUBMISSIONS).write_text(json.dumps([
        {"n": 1, "cluster": 900, "count": 3, "target": "condor", "host": "h", "time": "2025-03-14T15:00:00+00:00"}
    ]))
    append(b, f"000 (900.000.000) 2025-03-14 15:00:00 Job submitted from host: <h>\n    {b.job_ids[0]}\n...\n")
    ex = CondorExecutor(schedd=fake_schedd)
    assert ex.remove(b) == "Asked the pool to remove 1 job(s) (cluster(s) 900)."
    assert fake_schedd.acts[-1][1] == 900
    msg = ex.hold(b, [b.job_ids[2]])  # not made yet, and not the whole cluster
    assert "were not held" in msg and len(fake_schedd.acts) == 1


def test_no_schedd_says_where_to_submit_from(make_bundle):
    b = make_bundle()
    with pytest.raises(ExecutorError) as e:
        CondorExecutor().submit(b, b.job_ids)  # the real htcondor2: there is no pool on this machine
    text = str(e.value)
    assert "No HTCondor schedd on this machine" in text and "submit node" in text
    assert "target='condor-ssh'" in text and "--host" in text
    assert submissions(b) == []


def test_a_refused_submission_shows_what_was_submitted_and_what_to_do(make_bundle, schedd_class):
    b = make_bundle()
    schedd = schedd_class(fail=htcondor2.HTCondorException("Failed to commit job submission into the queue."))
    with pytest.raises(SubmitError) as e:
        CondorExecutor(schedd=schedd).submit(b, b.job_ids)
    text = str(e.value)
    assert "refused the submission of 3 job(s)" in text and "Failed to commit" in text
    assert "condor_submit -dry-run" in text and submissions(b) == []


def test_wheels_are_staged_with_the_wrapper(make_bundle, fake_schedd, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "workbench-0.1.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"wheel")
    (dist / "numpy-2.4.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"wheel")
    b = make_bundle(settings=RunSettings(wheels=str(dist)))
    CondorExecutor(schedd=fake_schedd).submit(b, b.job_ids)
    assert sorted(p.name for p in (b.path / _names.WHEELS).iterdir()) == sorted(p.name for p in dist.iterdir())
    script = b.path / _names.JOB_SCRIPT
    assert os.access(script, os.X_OK) and "pip install" in script.read_text()
    description, _ = fake_schedd.submits[0]
    assert description["executable"] == str(script)  # absolute for the bindings
    empty = make_bundle("e", settings=RunSettings(wheels=str(tmp_path / "nothing")))
    with pytest.raises(SubmitError, match="no wheel there.*pip wheel"):
        CondorExecutor(schedd=fake_schedd).submit(empty, empty.job_ids)


def test_the_queue_is_asked_at_most_once_a_minute(make_bundle, fake_schedd):
    b = make_bundle()
    ex = CondorExecutor(schedd=fake_schedd)
    ex.submit(b, b.job_ids)
    now = [1000.0]
    ex.clock = lambda: now[0]
    fake_schedd.ads = [{"ClusterId": 4821, "ProcId": 0, "JobStatus": 2, "RemoteHost": "slot1@e001"}]
    rows = ex.query(b)
    assert rows == fake_schedd.ads and fake_schedd.queries == [("ClusterId == 4821", list(_QUERY_ATTRS))]
    now[0] += QUERY_INTERVAL - 1
    assert ex.query(b) == rows and len(fake_schedd.queries) == 1
    now[0] += 2
    ex.query(b)
    ex.query(b, force=True)
    assert len(fake_schedd.queries) == 3
    st = state(b)
    append(b, "001 (4821.000.000) 2025-03-14 10:00:00 Job executing on host: <10.0.7.1:9618>\n...\n")
    st.update()
    st.jobs[b.job_ids[0]].host = ""
    assert st.apply_queue(rows) == {b.job_ids[0]} and st.jobs[b.job_ids[0]].host == "slot1@e001"


def test_attach_gives_the_pool_run_of_a_submitted_bundle(make_bundle, fake_schedd):
    b = make_bundle()
    assert executor_for(b) is None
    with pytest.raises(ExecutorError, match="has not been run yet"):
        wb.attach(b)
    CondorExecutor(schedd=fake_schedd).submit(b, b.job_ids)
    with wb.attach(b, schedd=fake_schedd) as run:
        assert isinstance(run, CondorRun) and run.target == "condor" and run.cluster == 4821
        assert not run.done  # queued according to the submission record
        assert run.remove(b.job_ids[:2]) == "Asked the pool to remove 2 job(s)."
        assert run.resubmit([]) == "There are no failed jobs to resubmit."
        assert "Asked the pool to remove" in run.stop()


def test_parse_cluster():
    assert parse_cluster("Submitting job(s)...\n3 job(s) submitted to cluster 1234.\n") == (1234, 3)
    assert parse_cluster("Submitting job(s)\n1 job(s) submitted to cluster 7.\n") == (7, 1)
    assert parse_cluster("1234.0 - 1234.99\n") == (1234, 100)  # condor_submit -terse
    with pytest.raises(SubmitError, match="(?s)did not say which cluster.*ERROR: on Line 3"):
        parse_cluster("ERROR: on Line 3 of submit file: \n")


def test_module_functions_act_on_the_pool_the_bundle_was_submitted_to(make_bundle, fake_schedd):
    from workbench.executors import condor

    b = make_bundle()
    with pytest.raises(ExecutorError, match="never submitted"):
        condor.hold(b)
    sub = condor.submit(str(b.path), target="condor", schedd=fake_schedd)
    assert sub.cluster == 4821 and len(fake_schedd.submits) == 1
    assert condor.hold(b, reason="why", schedd=fake_schedd) == "Asked the pool to hold 3 job(s)."
    assert condor.release(b, b.job_ids[:1], schedd=fake_schedd) == "Asked the pool to release 1 job(s)."
    assert condor.remove(b, schedd=fake_schedd) == "Asked the pool to remove 3 job(s)."
    append(b, held_by_exit(4821, 0, 3))
    assert condor.resubmit(b, schedd=fake_schedd).count == 1
    with pytest.raises(ExecutorError, match="not a pool"):
        condor.submit(b, target="local")
