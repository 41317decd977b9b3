"""The SSH executor against a real OpenSSH server (the ``sshd`` fixture).

The "remote host" is this machine reached through sshd on 127.0.0.1, with the
remote bundle in a temporary folder: the same Python (it has workbench), but
its own copy of the bundle, its own event log and its own process record.
Nothing here mocks the transport.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import wbtest_jobs

from workbench import _names
from workbench.bundle import create
from workbench.cli import main
from workbench.errors import ExecutorError
from workbench.executors.ssh import SSHExecutor, SSHRun, runs, sync_bundle
from workbench.executors.ssh import run as ssh_run
from workbench.results import results
from workbench.scan import scan
from workbench.state import ScanState

pytestmark = pytest.mark.ssh

TESTS = Path(__file__).parent.parent


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return tmp_path / "ledger.txt"


@pytest.fixture
def where(sshd, tmp_path: Path, ledger: Path) -> dict:
    """Keywords of ssh_run() for the test server: host, folder, Python, environment, connection options."""
    return {
        "host": sshd.host,
        "remote_dir": str(tmp_path / "remote"),
        "python": sys.executable,
        # The remote process starts from sshd, not from pytest: give it the tests' job types.
        "env": {"PYTHONPATH": str(TESTS), "WBTEST_LEDGER": str(ledger)},
        **sshd.connect_options(),
    }


def completions(ledger: Path) -> Counter[str]:
    return Counter(ledger.read_text().split()) if ledger.exists() else Counter()


def counts(bundle) -> dict[str, int]:
    st = ScanState(bundle)
    st.update()
    return {k: v for k, v in st.counts().items() if v}


def wait_for(condition, handle: SSHRun, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        handle.sync()
        time.sleep(0.1)


def test_runs_a_scan_remotely_and_its_results_arrive(where, tmp_path):
    b = create(scan("demo", drive_freq=[0.5, 1.5], damping=[0.1, 0.2]), tmp_path / "local" / "a scan")
    report = ssh_run(b, workers=2, progress=False, **where)
    assert (report.submitted, report.completed, report.failed, report.interrupted) == (4, 4, [], False)

    df = results(b)
    assert len(df) == 4 and (df["status"] == "completed").all() and df["amplitude"].notna().all()
    assert counts(b) == {"completed": 4}

    remote = (tmp_path / "remote" / "a scan").resolve()
    [rec] = runs(b)
    assert (rec.remote_dir, rec.cluster, rec.host) == (str(remote), 1, where["host"])
    assert rec.ended is not None and rec.pid > 0 and rec.connect["port"] == where["port"]
    # The local record names the run's host so that no local pid check applies to it ...
    local_runs = json.loads((b.path / _names.LOGS / _names.LOCAL_RUNS).read_text())
    assert local_runs["1"]["host"] == f"ssh:{rec.destination}" and local_runs["1"]["pid"] == rec.pid
    # ... while the remote's own record (host = that machine) is never pulled over it.
    remote_runs = json.loads((remote / _names.LOGS / _names.LOCAL_RUNS).read_text())
    assert remote_runs["1"]["host"] == socket.gethostname()
    assert "ssh_executor.log" in {p.name for p in (b.path / _names.LOGS).iterdir()}

    # Half-written results (a temporary name, renamed when complete) are never pulled.
    (remote / "outputs" / f".{b.job_ids[0]}.result.json.4242.tmp").write_text('{"half')
    (remote / "outputs" / "late.txt").write_text("new")
    (remote / _names.LOGS / _names.LOCAL_RUNS).write_text("{}")
    report = sync_bundle(b)
    assert report.ok and report.files_new == 1
    assert (b.path / "outputs" / "late.txt").read_text() == "new"
    assert not [p for p in (b.path / "outputs").iterdir() if p.name.startswith(".")]
    assert json.loads((b.path / _names.LOGS / _names.LOCAL_RUNS).read_text()) == local_runs


def test_stopped_half_way_then_resumed_runs_every_job_once(where, tmp_path, ledger):
    n = 16
    b = create(scan(wbtest_jobs.counting, x=list(range(n)), sleep=0.6), tmp_path / "b")
    handle = ssh_run(b, workers=2, wait=False, **where)
    assert isinstance(handle, SSHRun) and handle.uploaded.files > n
    with handle:
        wait_for(lambda: len(b.finished_ids()) >= 3, handle)
        # While it runs, the local state shows it running: the remote pid is not checked here.
        c = counts(b)
        assert "interrupted" not in c and c.get("running", 0) + c.get("idle", 0) > 0
        with pytest.raises(ExecutorError, match="already running on"):
            ssh_run(b, wait=False, **where)
        handle.stop()
        assert handle.done and not handle.alive()
    done_before = b.finished_ids()
    assert 3 <= len(done_before) < n
    c = counts(b)
    # SIGINT made the remote executor abort what it had not finished, as Ctrl-C does locally.
    assert c == {"completed": len(done_before), "removed": n - len(done_before)}
    st = ScanState(b)
    st.update()
    assert all("interrupted" in st.jobs[j].reason for j in st.ids("removed"))

    # Resume: nothing is uploaded again and only the unfinished jobs run.
    handle = ssh_run(b, workers=2, wait=False, **where)
    with handle:
        assert handle.uploaded.files == 0
        report = handle.wait(timeout=60, interval=0.3)
    assert report is not None and report.cluster == 2
    assert report.submitted == n - len(done_before) and report.completed == report.submitted
    assert counts(b) == {"completed": n}
    seen = completions(ledger)
    assert set(seen) == set(b.job_ids) and all(seen[j] == 1 for j in done_before)
    # A job stopped in the instant between its last line and its result file may count twice.
    assert sum(seen.values()) - n <= 2
    df = results(b)
    assert list(df["y"]) == [x * x for x in range(n)]


def test_a_killed_remote_run_shows_interrupted_jobs_and_resumes(where, tmp_path, ledger):
    n = 10
    b = create(scan(wbtest_jobs.counting, x=list(range(n)), sleep=0.6), tmp_path / "b")
    handle = ssh_run(b, workers=2, wait=False, **where)
    with handle:
        wait_for(lambda: len(b.finished_ids()) >= 2, handle)
        # Power cut on the remote host: no abort events, no end in its record.
        os.killpg(handle.record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while handle.alive():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # A killed process stays a zombie until init reaps it, and the local executor's own
        # liveness check (kill -0) still counts a zombie as running: wait for the reaping.
        while os.path.exists(f"/proc/{handle.record.pid}"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    sync_bundle(b)
    [rec] = runs(b)
    assert rec.ended is not None
    done = len(b.finished_ids())
    c = counts(b)
    assert c == {"completed": done, "interrupted": n - done}

    report = ssh_run(b, workers=2, progress=False, **where)
    assert report.completed == report.submitted == n - done
    assert counts(b) == {"completed": n}
    assert set(completions(ledger)) == set(b.job_ids)


def test_submit_with_job_ids_runs_just_those_jobs(where, tmp_path, ledger):
    b = create(scan(wbtest_jobs.counting, x=[1, 2, 3, 4]), tmp_path / "b")
    chosen = [b.job_ids[3], b.job_ids[1]]
    report = SSHExecutor(**where, progress=False).submit(b, chosen)
    assert (report.submitted, report.completed, report.failed) == (2, 2, [])
    assert completions(ledger) == Counter(chosen)
    assert counts(b) == {"completed": 2, "unsubmitted": 2}
    assert b.finished_ids() == set(chosen)
    with pytest.raises(KeyError, match="not in"):
        SSHExecutor(**where, progress=False).submit(b, ["zz"])


def test_a_remote_python_without_workbench_is_a_clear_error(where, tmp_path):
    b = create(scan("demo", drive_freq=[1.0], damping=[0.1]), tmp_path / "b")
    # The same interpreter, but without site-packages: no workbench there.
    bare = tmp_path / "bare-python"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    bare.chmod(0o755)
    with pytest.raises(ExecutorError) as info:
        ssh_run(b, **{**where, "python": str(bare)})
    text = str(info.value)
    assert "exited at once" in text and str(bare) in text and "-c" in text  # the command ...
    assert "No module named 'workbench'" in text  # ... its output ...
    assert "has no workbench" in text and "python=" in text  # ... and the fix
    assert runs(b) == []

    with pytest.raises(ExecutorError, match="not on the PATH|absolute path"):
        ssh_run(b, **{**where, "python": "no-such-python3"})
    assert runs(b) == []

    # Another bundle of the same folder name is refused there, not mixed into the first one.
    other = create(scan("demo", drive_freq=[1.0, 2.0], damping=[0.1]), tmp_path / "elsewhere" / "b")
    with pytest.raises(ExecutorError, match="holds a 'demo' bundle of 1 job"):
        ssh_run(other, **where)


def test_ctrl_c_while_following_stops_the_remote_run_cleanly(where, tmp_path):
    # Ctrl-C in a terminal or a notebook: SIGINT to this process while it follows (syncs) the remote run.
    b = create(scan(wbtest_jobs.counting, x=list(range(30)), sleep=0.3), tmp_path / "b")
    handle = ssh_run(b, **where, workers=1, wait=False)
    before = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            handle.follow(progress=False, interval=0.3)
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C behaves as before once the run is left
    assert not runs(b)[-1].running
    c = counts(b)  # the remote wrote abort events for what it had not finished; they were pulled
    assert c.get("removed", 0) > 0 and c.get("completed", 0) + c["removed"] == 30, c


def test_command_line_run_sync_and_stop(sshd, where, tmp_path, monkeypatch, capsys):
    # A ~/.ssh/config entry, as users have: the commands take nothing but the alias.
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text(
        f"Host wbtest\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_path}\n  UserKnownHostsFile {sshd.known_hosts}\n"
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    # Jobs long enough that the stop below comes before the last one ends, on a busy machine too.
    b = create(scan(wbtest_jobs.counting, x=list(range(6)), sleep=1.0), tmp_path / "b")
    common = ["--target", "ssh", "--host", "wbtest", "--remote-dir", where["remote_dir"], "--python", sys.executable,
              "--env", f"PYTHONPATH={TESTS}", "--workers", "1", "--no-progress"]  # fmt: skip

    assert main(["run", str(b.path), *common, "--detach"]) == 0
    out = capsys.readouterr().out
    assert "Started run 1 on wbtest" in out and "workbench sync" in out
    assert main(["sync", str(b.path), "--exclude", "*.err"]) == 0
    out = capsys.readouterr().out
    assert f"-> {b.path}" in out and f"{b.name}: " in out
    assert not list((b.path / _names.LOGS).glob("*.err"))

    assert main(["stop", str(b.path)]) == 0
    out = capsys.readouterr().out
    assert "has stopped" in out and "workbench run" in out
    assert main(["stop", str(b.path)]) == 0
    assert "Nothing of" in capsys.readouterr().out

    # --every repeats until Ctrl-C.
    log = tmp_path / "sync-every.txt"
    with open(log, "w") as f:
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "sync", str(b.path), "--every", "0.2"],
                                env={**os.environ, "HOME": str(home)}, stdout=f, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while log.read_text().count(" unchanged") < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert log.read_text().count(" unchanged") >= 2 and "Traceback" not in err

    # Resume from the command line, following to the end: host, folder and Python are those of the last run.
    assert main(["run", str(b.path), "--target", "ssh", "--env", f"PYTHONPATH={TESTS}", "--no-progress"]) == 0
    assert "completed" in capsys.readouterr().out
    assert counts(b) == {"completed": 6}
