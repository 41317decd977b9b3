"""Benchmark: tracking a 100,000-job scan from its HTCondor event log.

Run on demand (not part of the test suite)::

    python tests/benchmarks/bench_state.py [--jobs 100000] [--no-htcondor2]

A pool log of ``4 x jobs`` events in the format HTCondor writes (submit with
the job id in its notes, execute with the slot and its resources, image size,
terminate with the usage blocks), over four clusters, is read from scratch;
then 1,000 events are appended (evictions with checkpoints, holds, releases,
restarts, terminations) and applied.  Goals: under 5 s from scratch and under
50 ms for the increment.  The references are a naive full re-read after the
append (what a reader without a position would do) and the same two steps
with ``htcondor2.JobEventLog`` (``reader="htcondor2"``).  A new session that
resumes from the bundle's state cache is timed too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from workbench import _names
from workbench.bundle import Bundle
from workbench.state import ScanState

SUBMIT_HOST = "<10.0.4.21:9618?addrs=10.0.4.21-9618&alias=submit01.example.edu&noUDP&sock=schedd_2417_7c1e>"


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _head(code: int, cluster: int, proc: int, t: datetime) -> str:
    return f"{code:03d} ({cluster:03d}.{proc:03d}.000) {_stamp(t)} "


def submit(c: int, p: int, t: datetime, jid: str) -> str:
    return f"{_head(0, c, p, t)}Job submitted from host: {SUBMIT_HOST}\n    {jid}\n...\n"


def execute(c: int, p: int, t: datetime) -> str:
    slot = p % 48 + 1
    node = p % 300
    return (
        f"{_head(1, c, p, t)}Job executing on host: <10.0.7.{node % 250}:9618?addrs=10.0.7.{node % 250}-9618&alias="
        f"e{node:03d}.example.edu&noUDP&sock=startd_1731_2b0e>\n"
        f"\tSlotName: slot1_{slot}@e{node:03d}.example.edu\n"
        f'\tCondorScratchDir = "/var/lib/condor/execute/dir_{28817 + p}"\n'
        "\tCpus = 1\n\tDisk = 1048576\n\tMemory = 1024\n...\n"
    )


def image_size(c: int, p: int, t: datetime) -> str:
    return (
        f"{_head(6, c, p, t)}Image size of job updated: 182344\n"
        "\t143  -  MemoryUsage of job (MB)\n\t146284  -  ResidentSetSize of job (KB)\n...\n"
    )


def terminated(c: int, p: int, t: datetime, rv: int = 0) -> str:
    return (
        f"{_head(5, c, p, t)}Job terminated.\n"
        f"\t(1) Normal termination (return value {rv})\n"
        "\t\tUsr 0 00:27:31, Sys 0 00:00:04  -  Run Remote Usage\n"
        "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n"
        "\t\tUsr 0 00:27:31, Sys 0 00:00:04  -  Total Remote Usage\n"
        "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n"
        "\t18213  -  Run Bytes Sent By Job\n\t4211  -  Run Bytes Received By Job\n"
        "\t18213  -  Total Bytes Sent By Job\n\t4211  -  Total Bytes Received By Job\n"
        "\tPartitionable Resources :    Usage  Request Allocated \n"
        "\t   Cpus                 :     0.98        1         1 \n"
        "\t   Disk (KB)            :      312     1024   1048576 \n"
        "\t   Memory (MB)          :      143      256      1024 \n"
        "...\n"
    )


def evicted_ckpt(c: int, p: int, t: datetime) -> str:
    return (
        f"{_head(4, c, p, t)}Job was evicted.\n\t(1) Job was checkpointed.\n"
        "\t\tUsr 0 00:12:08, Sys 0 00:00:02  -  Run Remote Usage\n"
        "\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n"
        "\t5120  -  Run Bytes Sent By Job\n\t4211  -  Run Bytes Received By Job\n...\n"
    )


def held(c: int, p: int, t: datetime) -> str:
    return (
        f"{_head(12, c, p, t)}Job was held.\n"
        "\tTransfer output files failure at access point submit01 while receiving files from the execution point\n"
        "\tCode 12 Subcode 2\n...\n"
    )


def released(c: int, p: int, t: datetime) -> str:
    return f"{_head(13, c, p, t)}Job was released.\n\tvia condor_release (by user alice)\n...\n"


def make_bundle(root: Path, jobs: int) -> tuple[Bundle, list[tuple[int, int]], datetime]:
    """A bundle folder with ``jobs`` ids and a pool log of 4 events per job; returns (bundle, (cluster, proc)s, last time)."""
    (root / _names.LOGS).mkdir(parents=True)
    (root / _names.OUTPUTS).mkdir()
    ids = [f"{i:016x}" for i in range(jobs)]
    (root / _names.ITEMS).write_text("".join(f"{i} {j}\n" for i, j in enumerate(ids)))
    per_cluster = (jobs + 3) // 4
    where = [(7001 + i // per_cluster, i % per_cluster) for i in range(jobs)]
    t0 = datetime(2025, 3, 14, 9, 0, 0)
    parts: list[str] = []
    for i, (c, p) in enumerate(where):
        parts.append(submit(c, p, t0 + timedelta(seconds=i // 1000), ids[i]))
    for i, (c, p) in enumerate(where):
        t = t0 + timedelta(seconds=200 + i // 100)
        parts.append(execute(c, p, t))
        parts.append(image_size(c, p, t + timedelta(seconds=300)))
        parts.append(terminated(c, p, t + timedelta(seconds=1600)))
    (root / _names.LOGS / _names.EVENT_LOG).write_text("".join(parts))
    return Bundle(root), where, t0 + timedelta(seconds=3000 + jobs // 100)


def append_events(bundle: Bundle, where: list[tuple[int, int]], t: datetime, n: int = 1000) -> None:
    """``n`` new events: per job an eviction with a checkpoint, a hold, a release and a restart, or a termination."""
    kinds = (evicted_ckpt, held, released, execute)
    out = []
    for k in range(n):
        c, p = where[(k // 4) * 97 % len(where)]
        fn = kinds[k % 4] if k < n - n // 10 else terminated
        out.append(fn(c, p, t + timedelta(seconds=k)))
    with open(bundle.log_path, "a") as f:
        f.write("".join(out))


CPU: dict[str, float] = {}


def timed(fn, name: str = ""):  # type: ignore[no-untyped-def]
    """``(result, wall seconds)``; the CPU seconds go to ``CPU[name]`` (other processes may share the cores)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    CPU[name] = time.process_time() - c
    return out, time.perf_counter() - t


def run(jobs: int, htcondor2: bool, keep: str | None) -> None:
    base = Path(tempfile.mkdtemp(prefix="wb-bench-state-", dir=keep))
    try:
        (bundle, where, t_end), t_make = timed(lambda: make_bundle(base / "scan", jobs))
        size = bundle.log_path.stat().st_size
        print(f"{jobs:,} jobs, log of {4 * jobs:,} events ({size / 1e6:.0f} MB) made in {t_make:.1f} s")

        st = ScanState(bundle, cache=False)
        changed, t_scratch = timed(st.update, "scratch")
        assert st.counts()["completed"] == jobs and len(changed) == jobs, st.summary()
        _, t_save = timed(st.save, "save")

        append_events(bundle, where, t_end)
        changed, t_inc = timed(st.update, "inc")
        assert st.events_read == 4 * jobs + 1000, st.events_read

        naive = ScanState(bundle, cache=False)
        _, t_naive = timed(naive.update, "naive")
        assert naive.counts() == st.counts()

        resumed = ScanState(bundle)  # a new session: the cache saved before the append, then the 1,000 events
        _, t_resume = timed(resumed.update, "resume")
        assert resumed.cache_loaded and resumed.counts() == st.counts()

        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; CPU seconds of this process in brackets)")
        print()
        print(f"from scratch ({4 * jobs:,} events):    {t_scratch:8.3f} s  [{CPU['scratch']:.3f}]   (goal < 5 s)")
        print(f"increment (1,000 events):        {t_inc * 1e3:8.1f} ms [{CPU['inc'] * 1e3:.1f}]    "
              f"(goal < 50 ms; {len(changed)} jobs changed)")
        print(f"naive full re-read after it:     {t_naive:8.3f} s  [{CPU['naive']:.3f}]   "
              f"-> the increment is {t_naive / t_inc:,.0f}x faster")
        print(f"save the state cache:            {t_save * 1e3:8.1f} ms [{CPU['save'] * 1e3:.0f}]")
        print(f"new session from the cache:      {t_resume * 1e3:8.1f} ms [{CPU['resume'] * 1e3:.0f}]   "
              f"(load + the 1,000 new events; {t_scratch / t_resume:.1f}x faster than from scratch)")
        print(f"counts: {st.summary()}")

        if htcondor2:
            ref = ScanState(bundle, reader="htcondor2", cache=False)
            _, t_ref = timed(ref.update, "ref")
            assert ref.counts() == st.counts(), (ref.counts(), st.counts())
            append_events(bundle, where, t_end + timedelta(hours=1))
            _, t_ref_inc = timed(ref.update, "ref_inc")
            _, t_fast_inc = timed(st.update, "inc2")
            assert ref.counts() == st.counts()
            print()
            print("reference reader htcondor2.JobEventLog (reader='htcondor2'):")
            print(f"from scratch ({4 * jobs + 1000:,} events):    {t_ref:8.3f} s  [{CPU['ref']:.3f}]   "
                  f"({t_ref / t_scratch:.1f}x the fast reader)")
            print(f"increment (1,000 events):        {t_ref_inc * 1e3:8.1f} ms [{CPU['ref_inc'] * 1e3:.1f}]   "
                  f"(fast reader: {t_fast_inc * 1e3:.1f} ms)")
    finally:
        if keep is None:
            shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--no-htcondor2", action="store_true", help="skip the htcondor2.JobEventLog reference")
    ap.add_argument("--dir", default=None, help="keep the files in this folder")
    args = ap.parse_args()
    run(args.jobs, not args.no_htcondor2, args.dir)


if __name__ == "__main__":
    sys.exit(main())
