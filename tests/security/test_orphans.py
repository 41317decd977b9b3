"""Finding 4: ``kill -9`` of ``workbench run`` takes its workers with it (no orphans taking queued jobs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import wbtest_jobs

from workbench.bundle import create
from workbench.scan import scan


def children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.add(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_workers_die_with_a_killed_run(tmp_path, cli):
    b = create(scan(wbtest_jobs.counting, x=list(range(12)), sleep=1.0), tmp_path / "b")
    ledger = tmp_path / "ledger.txt"
    env = {**cli.env, "WBTEST_LEDGER": str(ledger)}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "run", "b", "--workers", "2", "--no-progress"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while (not b.log_path.exists() or b.log_path.read_text().count("Job executing") < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = children(proc.pid)
        assert len(workers) >= 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [w for w in workers if alive(w)], "workers outlived their run"
    done = ledger.read_text().split() if ledger.exists() else []
    time.sleep(2.5)  # orphans would finish (and take) more jobs by now
    assert (ledger.read_text().split() if ledger.exists() else []) == done
    assert len(done) < 12
