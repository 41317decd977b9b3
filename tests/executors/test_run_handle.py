"""One run handle on every target: wb.run / wb.attach, the monitor and the CLI find the same run.

The remote runs go to the real OpenSSH server of the ``sshd`` fixture (this
machine on 127.0.0.1, the remote bundle in a temporary folder).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import wbtest_jobs

import workbench as wb
from workbench import runs
from workbench.bundle import create
from workbench.cli import _attach, build_parser
from workbench.errors import ExecutorError
from workbench.executors import RunHandle, Target, get_target, register_target, targets
from workbench.executors.local import LocalRun
from workbench.executors.ssh import SSHRun
from workbench.monitor.widget import Monitor
from workbench.scan import scan

TESTS = Path(__file__).parent.parent


@pytest.fixture
def where(sshd, tmp_path: Path) -> dict:
    return {
        "host": sshd.host,
        "remote_dir": str(tmp_path / "remote"),
        "python": sys.executable,
        "env": {"PYTHONPATH": str(TESTS)},
        **sshd.connect_options(),
    }


def refresh_until_done(m: Monitor, timeout: float = 90.0) -> list[str]:
    """Drive the monitor with refresh() alone, as a script would; the messages it showed."""
    deadline = time.monotonic() + timeout
    said = []
    while m.progress.done < m.progress.total:
        assert time.monotonic() < deadline, f"timed out: {m.progress.summary()}; {m.message}"
        m.refresh()
        said.append(m.message)
        time.sleep(0.2)
    return said


def test_the_four_targets_are_registered_and_an_unknown_one_is_named() -> None:
    assert {"local", "ssh", "condor", "condor-ssh"} <= set(targets())
    with pytest.raises(ExecutorError, match="'nowhere' is not a target workbench knows"):
        get_target("nowhere")


def test_a_local_run_is_found_by_the_monitor_attach_and_the_cli_alike(tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=list(range(6)), sleep=0.2), tmp_path / "b")
    with pytest.raises(ExecutorError, match="has not been run yet"):
        wb.attach(b)
    run = wb.run(b, wait=False, progress=False, workers=2)
    assert isinstance(run, LocalRun) and isinstance(run, RunHandle)
    report = run.wait(60)
    assert report is not None and report.completed == 6 and run.done
    m = Monitor(b, panels=False)
    attached = wb.attach(b)
    cli = _attach(build_parser().parse_args(["status", str(b.path)]))
    assert {type(h) for h in (m.run, attached, cli)} == {LocalRun}
    assert m.run.cluster == attached.cluster == cli.cluster == report.cluster
    assert attached.report().completed == 6 and attached.done
    assert "6 completed" in attached.status()
    m.close()


@pytest.mark.ssh
def test_an_ssh_run_reaches_100_percent_in_the_monitor_through_refresh_alone(where, tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=list(range(8)), sleep=0.3), tmp_path / "local" / "b")
    run = wb.run(b, target="ssh", wait=False, workers=2, **where)
    assert isinstance(run, SSHRun) and run.remote
    with run:
        m = Monitor(b, panels=False)
        try:
            assert isinstance(m.run, SSHRun) and m.run.record.pid == run.record.pid  # found by itself
            refresh_until_done(m)
            assert m.model.counts()["completed"] == 8
            assert "synced" in m.follower.sync_text() and "results from" in m.progress_text.value
            assert m.model.column("y").tolist() == [float(x * x) for x in range(8)]
            # The CLI and wb.attach give the same run.
            cli = _attach(build_parser().parse_args(["status", str(b.path)]))
            with cli, wb.attach(b) as attached:
                assert type(cli) is type(attached) is SSHRun
                assert cli.record.pid == attached.record.pid == run.record.pid
        finally:
            m.close()


@pytest.mark.ssh
def test_a_new_process_follows_a_running_ssh_run_and_another_stops_it(where, tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=list(range(40)), sleep=0.5), tmp_path / "b")
    run = wb.run(b, target="ssh", wait=False, workers=2, **where)
    run.close()
    # As after a kernel restart: a new process knows only the bundle's path.
    follow = textwrap.dedent(
        f"""
        import time, workbench as wb
        m = wb.monitor({str(b.path)!r}, display=False, panels=False)
        deadline = time.monotonic() + 60
        while m.model.counts()["completed"] < 3:
            assert time.monotonic() < deadline, m.progress.summary()
            m.refresh(); time.sleep(0.2)
        print("target", m.run.target, "completed", m.model.counts()["completed"], flush=True)
        print(wb.attach({str(b.path)!r}).stop())
        m.refresh()
        print(m.progress.done, m.progress.total, m.model.counts()["removed"])
        m.close()
        """
    )
    out = subprocess.run([sys.executable, "-c", follow], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("target ssh completed")
    assert "has stopped; unfinished jobs were removed" in lines[1]
    done, total, removed = map(int, lines[2].split())
    assert done == total == 40 and removed > 0
    with wb.attach(b) as again:
        assert again.done and not again.alive()


@pytest.mark.ssh
def test_the_monitor_reports_a_lost_connection_and_completes_when_the_host_is_back(where, sshd, tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=list(range(12)), sleep=0.4), tmp_path / "b")
    run = wb.run(b, target="ssh", wait=False, workers=2, **where)
    run.close()
    m = Monitor(b, panels=False)
    try:
        m.refresh()
        sshd.stop()
        try:
            m.refresh()
            assert m.message.startswith("Sync failed: Cannot reach") and "retrying in" in m.message
            assert sshd.host in m.message
            kept = b.finished_ids()
            m.refresh()  # within the pause: no new attempt, the same trouble shown
            assert "retrying in" in m.message and b.finished_ids() == kept
        finally:
            sshd.start()
        m.follower._retry_at = 0.0  # the pause would end by itself in 2 s; the test does not wait for it
        refresh_until_done(m)
        assert m.model.counts()["completed"] == 12
        assert m.message == "The connection is back: results are coming home again."
    finally:
        m.close()


def test_a_plugin_target_is_used_by_wb_run_and_attach(tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=[1, 2]), tmp_path / "b")
    started = []

    def start(bundle, *, only="unfinished", **options):
        started.append((only, options))
        return wb.run(bundle, "local", only=only, wait=False, progress=False)

    def attach(bundle, record, **options):
        return LocalRun(bundle, record=record)

    register_target(Target("here-too", start, attach, "this machine, by a plug-in"))
    try:
        handle = wb.run(b, "here-too", wait=False, flavour="x")
        handle.wait(60)
        assert started == [("unfinished", {"flavour": "x"})]
        assert targets()["here-too"] == "this machine, by a plug-in"
    finally:
        from workbench.executors import _TARGETS

        _TARGETS.pop("here-too")


def test_run_records_of_every_target_read_as_one_list(tmp_path: Path) -> None:
    b = create(scan(wbtest_jobs.counting, x=[1]), tmp_path / "b")
    wb.run(b, progress=False)
    (b.path / "submissions.json").write_text(json.dumps([
        {"n": 1, "cluster": 7, "count": 1, "target": "condor-ssh", "host": "ap40", "time": "2999-01-01T00:00:00+00:00",
         "remote_dir": "workbench/b"},
        {"damaged": True},
    ]))  # fmt: skip
    recs = runs.all_runs(b)
    assert [(r.target, r.cluster) for r in recs] == [("local", 1), ("condor-ssh", 7)]
    assert recs[0].how == "finished" and not recs[0].running
    assert runs.latest(b).where == "ap40:workbench/b"
    assert runs.owner(b) is None
