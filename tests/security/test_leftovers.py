"""Finding 11: a killed ``create`` leaves nothing for ever; printed hints run as printed; long values are shortened."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time

from wbtest_security import assert_clean


def test_the_partial_of_a_killed_create_is_removed_by_the_next_create(cli):
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "create", "demo", "big", "--yes", "--set",
                             "drive_freq=np.linspace(0.1, 2, 400)", "--set", "damping=np.linspace(0.01, 0.5, 250)"],
                            cwd=cli.cwd, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(cli.cwd.glob(".big.*.partial/inputs")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert list(cli.cwd.glob(".big.*.partial")), "the create finished before it could be killed"
    again = cli("create", "demo", "big", "--yes", "--set", "damping=[0.1, 0.2]")
    assert again.returncode == 0, again.stderr
    assert not list(cli.cwd.glob(".big.*")) and (cli.cwd / "big" / "info.pkl").exists()
    assert not (cli.cwd / "big" / ".creator").exists()


def test_the_partial_of_a_running_create_is_left_alone(cli):
    from workbench.bundle import _CREATOR, _process_start, create
    from workbench.scan import scan

    live = subprocess.Popen(["sleep", "60"])
    try:
        partial = cli.cwd / ".b.abcd1234.partial"
        partial.mkdir()
        (partial / _CREATOR).write_text(f"{live.pid} {_process_start(live.pid)}\n")
        create(scan("demo"), cli.cwd / "b")
        assert partial.exists()
    finally:
        live.kill()
        live.wait()
    create(scan("demo"), cli.cwd / "b", overwrite=True)
    assert not partial.exists()


def test_the_run_hint_for_a_name_starting_with_a_dash_runs_as_printed(cli):
    made = cli("create", "demo", "--yes", "--set", "damping=[0.1]", "--", "-dash")
    assert made.returncode == 0, made.stderr
    hint = made.stdout.split("Run it with: ")[1].strip()
    assert hint == "workbench run ./-dash"
    ran = cli(*shlex.split(hint)[1:], "--no-progress")
    assert ran.returncode == 0 and "1 of 1 job(s) completed" in ran.stdout, ran.stderr


def test_a_rejected_10000_character_value_is_echoed_shortened(cli):
    proc = cli("create", "demo", "x", "--yes", "--set", "damping=" + "a" * 10_000)
    assert_clean(proc)
    assert proc.returncode == 2 and len(proc.stderr) < 1_500 and "a" * 1_000 not in proc.stderr  # shortened, not echoed
    assert "not a number" in proc.stderr  # and still says what is wrong
