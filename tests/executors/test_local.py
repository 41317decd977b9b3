from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import htcondor2
import pytest
import wbtest_jobs

from workbench import _names
from workbench._jsonfile import locked_json, read_json
from workbench.bundle import create, open_bundle
from workbench.errors import ExecutorError
from workbench.executors.local import THREAD_VARIABLES, _usable_cores, run
from workbench.results import results
from workbench.scan import scan
from workbench.settings import RunSettings
from workbench.state import ScanState

TESTS = Path(__file__).parent.parent


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.txt"
    monkeypatch.setenv("WBTEST_LEDGER", str(path))
    return path


def completions(ledger: Path) -> Counter[str]:
    return Counter(ledger.read_text().split()) if ledger.exists() else Counter()


def test_run_records_events_results_and_failures(tmp_path, ledger):
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3, 4], fail_on=3), tmp_path / "b")
    report = run(b, workers=2, progress=False)
    assert report.submitted == 4 and report.completed == 3
    assert report.failed == [(b.job_ids[2], "ValueError: x = 3 is the value this job was told to fail on")]
    kinds = Counter(e.type.name for e in htcondor2.JobEventLog(str(b.log_path)).events(stop_after=0))
    assert kinds == {"SUBMIT": 4, "EXECUTE": 4, "JOB_TERMINATED": 4}
    st = ScanState(b)
    st.update()
    assert st.counts()["completed"] == 3 and st.ids("failed") == [b.job_ids[2]]
    assert st.jobs[b.job_ids[2]].exit_code == 1
    df = results(b)
    assert list(df["x"]) == [1, 2, 3, 4]
    assert list(df["status"]) == ["completed", "completed", "failed", "completed"]
    assert df.loc[3, "y"] == 16 and df.loc[0, "label"] == "x1"
    assert "told to fail on" in df.loc[2, "error"]
    assert df.loc[0, "runtime"] >= 0

    # Re-running runs only what did not complete.
    report = run(b, workers=2, progress=False)
    assert report.submitted == 1 and report.failed and completions(ledger) == Counter(b.job_ids[:2] + b.job_ids[3:])


def test_killed_half_way_then_resumed_runs_every_job_exactly_once(tmp_path, ledger):
    n = 12
    b = create(scan(wbtest_jobs.counting, x=list(range(n)), sleep=0.4), tmp_path / "b")
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(b.path), "--workers", "2", "--no-progress"],
                            env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(b.finished_ids()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up: like a power cut
    proc.wait()
    done_before = b.finished_ids()
    assert 4 <= len(done_before) < n

    st = ScanState(open_bundle(b.path))
    st.update()
    counts = st.counts()
    assert counts["completed"] == len(done_before)
    assert counts["interrupted"] == n - len(done_before)  # the dead executor's queued and running jobs

    report = run(b, workers=2, progress=False)
    assert report.submitted == n - len(done_before) and report.completed == report.submitted
    assert b.finished_ids() == set(b.job_ids)
    seen = completions(ledger)
    assert set(seen) == set(b.job_ids)
    # Jobs finished before the kill were not run again; at most the ones in flight ran twice.
    assert all(seen[j] == 1 for j in done_before)
    assert sum(seen.values()) - n <= 2
    df = results(b)
    assert (df["status"] == "completed").all() and list(df["y"]) == [x * x for x in range(n)]


@pytest.mark.parametrize(
    "how, reason, error",
    [
        ("kill", "killed by signal 9 (SIGKILL)", "killed by signal 9 (SIGKILL) after"),
        ("segv", "killed by signal 11 (SIGSEGV)", "killed by signal 11 (SIGSEGV) after"),
        ("exit", "", "exited with code 3 after"),
    ],
)
def test_a_job_that_kills_its_process_fails_alone_and_the_run_goes_on(tmp_path, how, reason, error):
    # The out-of-memory killer, a crash in compiled code, os._exit: the pool breaks, the run must not.
    b = create(scan(wbtest_jobs.dying, x=list(range(12)), die_on=5, how=how, sleep=0.2), tmp_path / "b")
    report = run(b, workers=2, progress=False)
    dead = b.job_ids[5]
    assert (report.completed, [j for j, _ in report.failed]) == (11, [dead])
    assert error in report.failed[0][1]
    assert b.finished_ids() == set(b.job_ids) - {dead}
    st = ScanState(b, cache=False)
    st.update()
    assert st.counts()["completed"] == 11 and st.counts()["failed"] == 1
    assert (st.jobs[dead].state, st.jobs[dead].reason) == ("failed", reason)
    df = results(b).set_index("job_id")
    assert error in df.loc[dead, "error"] and (df.drop(dead)["status"] == "completed").all()
    if how == "kill":
        assert "out-of-memory killer" in df.loc[dead, "error"]
    log = b.stderr_path(dead).read_text()
    if how == "segv":  # where in Python it crashed, for crashes in compiled code
        assert "Fatal Python error: Segmentation fault" in log and "in run_dying" in log
    assert log.rstrip().endswith(df.loc[dead, "error"])
    assert not list((b.path / _names.LOGS).glob(".worker-*"))  # the workers' crash files are gone
    ends = [e for e in htcondor2.JobEventLog(str(b.log_path)).events(0) if e.type == htcondor2.JobEventType.JOB_TERMINATED]
    (end,) = [e for e in ends if e.proc == 5]
    assert end["TerminatedNormally"] == (how == "exit")
    assert end.get("TerminatedBySignal") == {"kill": 9, "segv": 11}.get(how)


def test_a_job_whose_process_keeps_dying_unexplained_is_failed_and_the_run_ends(tmp_path):
    # SIGTERM is also how the pool stops the other workers, so this death names no culprit: the run
    # retries twice, then fails the jobs that were running rather than loop for ever.
    b = create(scan(wbtest_jobs.dying, x=list(range(6)), die_on=2, how="term", sleep=0.1), tmp_path / "b")
    report = run(b, workers=1, progress=False)
    assert [j for j, _ in report.failed] == [b.job_ids[2]]
    assert "died without a result, more than once" in report.failed[0][1]
    assert report.completed == 5


def test_each_job_gets_request_cpus_threads_as_on_a_pool(tmp_path, monkeypatch):
    # Two workers whose BLAS each start a thread per core would oversubscribe the machine.
    for var in THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    one = create(scan(wbtest_jobs.threads, x=list(range(4))), tmp_path / "one")
    run(one, workers=2, progress=False)
    df = results(one)
    assert set(df["blas_threads"]) == {1} and set(df["omp"].astype(str)) == {"1"}

    cores = _usable_cores()
    wide = create(scan(wbtest_jobs.threads, x=list(range(4)), sleep=0.2), tmp_path / "wide",
                  settings=RunSettings(request_cpus=cores))  # fmt: skip
    run(wide, progress=False)  # default workers: as many jobs as fit the cores, here one
    df = results(wide)
    assert set(df["blas_threads"]) == {cores} and set(df["omp"].astype(str)) == {str(cores)}
    assert df["pid"].nunique() == 1


def test_a_thread_limit_the_user_set_is_kept(tmp_path, monkeypatch):
    for var in THREAD_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    b = create(scan(wbtest_jobs.threads, x=list(range(2))), tmp_path / "b")
    run(b, workers=2, progress=False)
    assert set(results(b)["omp"].astype(str)) == {"3"}


def test_ctrl_c_aborts_the_rest_and_says_how_to_resume(tmp_path):
    b = create(scan(wbtest_jobs.counting, x=list(range(8)), sleep=0.5), tmp_path / "b")
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", str(b.path), "--workers", "2", "--no-progress"],
                            env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not b.finished_ids() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # leave nothing running for the next test
        proc.communicate()
        raise
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    st = ScanState(b)
    st.update()
    c = st.counts()
    assert c["removed"] + c["completed"] == 8 and c["removed"] > 0
    assert all("interrupted" in st.jobs[j].reason for j in st.ids("removed"))


def test_ctrl_c_in_a_notebook_stops_the_run_and_leaves_ctrl_c_as_it_was(tmp_path):
    # A kernel interrupt is a SIGINT to this process, the main thread running the cell.
    b = create(scan(wbtest_jobs.counting, x=list(range(40)), sleep=0.2), tmp_path / "b")
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run(b, workers=2, progress=False)
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGINT) is before
    st = ScanState(b)
    st.update()
    c = st.counts()
    assert c["removed"] > 0 and c["removed"] + c["completed"] == 40  # stopped: 40 jobs of 0.2 s on 2 workers take 4 s
    assert not b.finished_ids() - set(st.ids("completed"))
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C raises again once the run is over
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


def test_interrupting_the_kernel_stops_the_run_and_running_the_cell_again_resumes(tmp_path):
    # The notebook path for real: a Jupyter kernel runs the cell, the user presses Interrupt, then runs it again.
    from jupyter_client.manager import start_new_kernel

    b = create(scan(wbtest_jobs.counting, x=list(range(30)), sleep=0.3), tmp_path / "b")
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=env, startup_timeout=120)
    cell = "import wbtest_jobs, workbench as wb\nprint(wb.run(wb.open_bundle('b'), workers=2, progress=False))"
    try:
        msg_id = kc.execute(cell)
        deadline = time.monotonic() + 120
        while not b.finished_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        st = ScanState(b)
        st.update()
        assert st.counts()["removed"] > 0

        printed = []
        again = kc.execute_interactive(
            cell, timeout=120, output_hook=lambda m: printed.append(m["content"].get("text", ""))
        )
        assert again["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    ran = 30 - st.counts()["completed"]
    assert f"{ran} of {ran} job(s) completed, 0 failed" in "".join(printed)
    assert b.finished_ids() == set(b.job_ids)


def test_background_run_can_be_stopped_and_a_second_run_is_refused(tmp_path):
    b = create(scan(wbtest_jobs.counting, x=list(range(20)), sleep=0.3), tmp_path / "b")
    handle = run(b, workers=2, progress=False, wait=False)
    deadline = time.monotonic() + 30
    runs = b.path / _names.LOGS / _names.LOCAL_RUNS

    def recorded() -> bool:  # the run has written itself into the file (not only created it)
        try:
            return bool(json.loads(runs.read_text() or "{}"))
        except (FileNotFoundError, ValueError):  # not there yet, or caught half written
            return False

    while not recorded() and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(ExecutorError, match="is already being run by process"):
        run(b, progress=False)
    handle.stop()
    report = handle.wait(timeout=60)
    assert handle.done and report.interrupted
    assert report.completed < 20
    st = ScanState(b)
    st.update()
    assert st.counts()["completed"] == report.completed
    assert st.counts()["removed"] == 20 - report.completed - len(report.failed)


def _rewrite(path: Path, rounds: int) -> None:
    for i in range(rounds):
        with locked_json(path, dict) as record:
            record["round"] = i
            record["pad"] = "x" * (i % 7) * 50_000  # long writes: a wide gap between truncate and write


def test_run_records_read_while_another_process_rewrites_them_are_never_seen_empty(tmp_path):
    path = tmp_path / _names.LOCAL_RUNS
    assert read_json(path, dict) == {}  # missing
    path.write_text("")
    assert read_json(path, list) == []  # empty
    with locked_json(path, dict) as record:
        record["round"] = -1
    import multiprocessing

    writer = multiprocessing.get_context("fork").Process(target=_rewrite, args=(path, 300))
    writer.start()
    seen = []
    while writer.is_alive():
        seen.append(read_json(path, lambda: None))
    writer.join()
    assert writer.exitcode == 0 and seen
    assert all(r is not None and "round" in r for r in seen)
    assert read_json(path, dict)["round"] == 299


def test_what_jobs_print_goes_to_their_logs_not_to_the_caller(tmp_path, capfd, monkeypatch):
    monkeypatch.delenv("WORKBENCH_SHOW_JOB_OUTPUT", raising=False)
    b = create(scan(wbtest_jobs.chatty, x=[1, 2, 3]), tmp_path / "b")
    print("before the run")
    report = run(b, workers=2, progress=False)
    print("after the run")
    assert report.completed == 3
    out, err = capfd.readouterr()
    assert "chatty" not in out and "chatty" not in err
    assert out == "before the run\nafter the run\n"  # the caller's own output is where it was
    for x, jid in zip([1, 2, 3], b.job_ids):
        assert b.stdout_path(jid).read_text().splitlines() == [f"chatty {x}: ctx.log", f"chatty {x}: print", f"chatty {x}: fd 1"]
        assert b.stderr_path(jid).read_text().splitlines() == [f"chatty {x}: sys.stderr", f"chatty {x}: fd 2"]


def test_job_output_is_shown_when_asked(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SHOW_JOB_OUTPUT", "1")
    b = create(scan(wbtest_jobs.chatty, x=[1]), tmp_path / "b")
    run(b, workers=1, progress=False)
    out, err = capfd.readouterr()
    assert "chatty 1: print" in out and "chatty 1: fd 1" in out and "chatty 1: fd 2" in err
    assert not b.stdout_path(b.job_ids[0]).exists()
