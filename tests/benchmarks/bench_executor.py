"""Benchmark: what the embedded executor costs per job, beyond the job itself.

Run on demand (not part of the test suite)::

    python tests/benchmarks/bench_executor.py [--jobs 2000] [--workers 2]

Scans of many short jobs (small matrix sizes, cheap parameter points) are
where per-job overhead shows. A job type whose run does nothing but return
two scalars and a small array is run three ways, in this process:

* the floor: ``write_result`` alone for every job, in a loop (the files a
  job must leave behind, and nothing else);
* the runner alone: :func:`workbench.job.run_job` for every job, in a loop
  (reads the input, finds the function, runs it, writes the result);
* the executor: ``workbench.run(bundle)`` with a process pool (events,
  queueing, result collection).

The job type is not registered: it is found as a plug-in or an importable
module's job type is, by the import path the bundle recorded.

Printed: milliseconds per job and the ratios against the floor. The
executor's per-job cost with ``--workers 2`` is per job of wall time, so it
can undercut the sequential runner.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench import _names
from workbench.bundle import create
from workbench.executors.local import run
from workbench.job import run_job, write_result
from workbench.jobtype import Cost, JobType
from workbench.params import Param
from workbench.scan import scan


def run_tiny(point, ctx):
    return {"y": point["x"] * 2.0, "z": -point["x"], "series": np.arange(8.0)}


TINY = JobType(
    name="bench-tiny",
    title="Does nothing (benchmark)",
    params=(Param("x", "int", 0, min=0, max=10**9),),
    run=run_tiny,
    cost=lambda p: Cost(seconds=0.001),
)


def _bundle(root: Path, n: int, name: str):
    return create(scan(TINY, x=list(range(n))), root / name)


def floor(root: Path, n: int) -> float:
    b = _bundle(root, n, "floor")
    out = b.path / _names.OUTPUTS
    inputs = [{"job_id": j, "params": {"x": k}} for k, j in enumerate(b.job_ids)]
    t = time.perf_counter()
    for job_input in inputs:
        write_result(out, job_input, run_tiny(job_input["params"], None), {"runtime": 0.0})
    return time.perf_counter() - t


def runner(root: Path, n: int) -> float:
    b = _bundle(root, n, "runner")
    out = b.path / _names.OUTPUTS
    paths = [str(b.input_path(j)) for j in b.job_ids]
    t = time.perf_counter()
    for p in paths:
        outcome = run_job(p, out)
        assert outcome.ok, outcome.error
    return time.perf_counter() - t


def executor(root: Path, n: int, workers: int) -> float:
    b = _bundle(root, n, f"executor{workers}")
    t = time.perf_counter()
    report = run(b, workers=workers, progress=False)
    dt = time.perf_counter() - t
    assert report.completed == n, report
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.jobs
    print(f"{n:,} no-op jobs; best of {args.repeat}; ms per job (ratio to the floor)")
    rows: dict[str, list[float]] = {"floor: write_result": [], "runner: run_job": [], "executor, 1 worker": []}
    rows[f"executor, {args.workers} workers"] = []
    for _ in range(args.repeat):
        root = Path(tempfile.mkdtemp(prefix="wb-bench-exec-"))
        try:
            rows["floor: write_result"].append(floor(root, n))
            rows["runner: run_job"].append(runner(root, n))
            rows["executor, 1 worker"].append(executor(root, n, 1))
            rows[f"executor, {args.workers} workers"].append(executor(root, n, args.workers))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    base = min(rows["floor: write_result"]) / n
    for name, times in rows.items():
        per = min(times) / n
        print(f"  {name:<24} {per * 1e3:7.3f} ms/job   {per / base:5.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
