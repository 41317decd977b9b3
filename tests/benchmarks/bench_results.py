"""Benchmark: 100,000 results into a DataFrame, cold and warm from the sqlite cache.

Run on demand (not part of the test suite)::

    python tests/benchmarks/bench_results.py [--jobs 100000] [--dir DIR] [--keep]

The result files are synthetic (written with :func:`workbench.job.write_result`,
the same code a job uses; no job runs).  Timed:

* **reference**: what the walking skeleton did, the obvious loop: ``json.load``
  of every result file, ``DataFrame.from_records``, joined to the points;
* **cold**: :func:`workbench.results` with no cache (reads every file once, fills ``results.sqlite``);
* **warm**: :func:`workbench.results` again (nothing new: no listing, no file read);
* **incremental**: after 1 % more results arrive (only those files are read);
* **full re-check**: ``results(full=True)`` (a ``stat`` per file, for in-place overwrites).

Goals on the 2-core reference machine: cold under 5 s, warm under 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _write_results(bundle, job_ids: list[str], points) -> None:
    """Synthetic demo-like results for ``job_ids`` (scalars and a short trajectory)."""
    from workbench.job import write_result

    outdir = bundle.path / "outputs"
    rows = points.set_index("job_id")
    traj = np.cos(np.linspace(0, 2 * math.pi, 64))
    for jid in job_ids:
        p = rows.loc[jid]
        w, z = float(p["drive_freq"]), float(p["damping"])
        amp = 1.0 / math.hypot(1 - w * w, 2 * z * w)
        job_input = {"job_id": jid, "index": int(p["index"]), "job_type": "demo", "params": {"drive_freq": w, "damping": z}}
        results = {
            "amplitude": amp,
            "phase": math.atan2(2 * z * w, 1 - w * w),
            "amplitude_exact": amp,
            "phase_exact": math.atan2(2 * z * w, 1 - w * w),
            "rel_error": 1e-9,
            "steps": 1000 + int(p["index"]) % 97,
            "trajectory": amp * traj,
        }
        write_result(outdir, job_input, results, {"runtime": 0.01, "host": "bench", "started": "", "finished": ""})


def reference(bundle) -> object:
    """The naive loop: read and parse every result file, build the frame, join the points."""
    import pandas as pd

    points = bundle.points()
    outdir = bundle.path / "outputs"
    rows = []
    for jid in points["job_id"]:
        try:
            with open(outdir / f"{jid}.result.json", "rb") as f:
                rec = json.load(f)
        except FileNotFoundError:
            rows.append({})
            continue
        rows.append({**rec["scalars"], "runtime": rec.get("runtime"), "host": rec.get("host")})
    return pd.concat([points, pd.DataFrame.from_records(rows, index=points.index)], axis=1)


_CPU: dict[int, float] = {}


def _timed(fn, repeat: int = 1) -> tuple[float, object]:
    """Median wall time of ``fn``; its CPU time (all threads) is kept in ``_CPU[id(result)]``."""
    times, cpus, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    _CPU[id(out)] = statistics.median(cpus)
    return (statistics.median(times) if repeat > 1 else times[0]), out


def _cpu(out: object) -> float:
    return _CPU.get(id(out), float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--dir", default=None, help="where to build the bundle (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the bundle (re-used by the next run with the same --dir)")
    args = ap.parse_args()

    import workbench as wb
    from workbench.store import ResultStore

    n_freq = 1000 if args.jobs >= 1000 else args.jobs
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="wb-bench-results-"))
    path = base / f"bundle-{args.jobs}"
    try:
        extra = max(1, args.jobs // 100)
        t_make = 0.0
        if not (path / "info.pkl").exists():
            s = wb.scan("demo", drive_freq=wb.linspace(0.5, 1.5, n_freq), damping=wb.linspace(0.01, 1.0, args.jobs // n_freq))
            t = time.perf_counter()
            bundle = wb.create(s, path)
            t_bundle = time.perf_counter() - t
            t = time.perf_counter()
            _write_results(bundle, bundle.job_ids[: len(bundle.job_ids) - extra], bundle.points())
            t_make = time.perf_counter() - t
            print(f"Made the bundle in {t_bundle:.1f} s and {len(bundle.job_ids) - extra:,} result files in {t_make:.1f} s ({path}).")
        bundle = wb.open_bundle(path)
        n = len(bundle.job_ids)
        # Start from the state "all but the last 1 % finished".
        for jid in bundle.job_ids[n - extra :]:
            for suffix in (".result.json", ".arrays.npz"):
                (path / "outputs" / f"{jid}{suffix}").unlink(missing_ok=True)
        (path / "results.sqlite").unlink(missing_ok=True)
        os.sync()

        t_ref, ref = _timed(lambda: reference(bundle))
        c_ref = _cpu(ref)
        t_cold, df = _timed(lambda: wb.results(bundle))
        c_cold = _cpu(df)
        assert df["status"].eq("completed").sum() == n - extra, df["status"].value_counts()
        assert np.allclose(df["amplitude"].dropna().to_numpy(), ref["amplitude"].dropna().to_numpy())
        # A freshly opened bundle each time: nothing kept in memory between calls.
        t_warm, warm = _timed(lambda: wb.results(wb.open_bundle(path)), repeat=5)
        c_warm = _cpu(warm)
        with ResultStore(path) as st:
            t_refresh, rep = _timed(st.refresh, repeat=5)
            t_frame, _ = _timed(st.table, repeat=5)

        _write_results(bundle, bundle.job_ids[n - extra :], bundle.points())
        st = ResultStore(path)
        t = time.perf_counter()
        rep = st.refresh()
        t_incr_refresh = time.perf_counter() - t
        st.close()
        assert len(rep.read) == extra, rep
        t_incr, df = _timed(lambda: wb.results(path))
        assert df["status"].eq("completed").sum() == n
        t_full, _ = _timed(lambda: wb.results(path, full=True))
        size = (path / "results.sqlite").stat().st_size

        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\n{n:,} jobs, {len(df.columns)} columns; results.sqlite {size / 1e6:.1f} MB; {os.cpu_count()} cores, load {load:.1f}\n")
        print("                                              wall        CPU")
        print(f"  reference (json.load loop + from_records)  {t_ref:7.2f} s  {c_ref:7.2f} s")
        print(f"  cold   (read every file, fill the cache)   {t_cold:7.2f} s  {c_cold:7.2f} s   goal < 5 s    {t_ref / t_cold:5.1f}x faster than the reference")
        print(f"  warm   (nothing new; median of 5)          {t_warm:7.3f} s  {c_warm:7.3f} s   goal < 0.5 s  {t_ref / t_warm:5.0f}x faster than the reference")
        print(f"    of which: store.refresh() {t_refresh * 1e3:.1f} ms, store.table() {t_frame * 1e3:.0f} ms")
        print(f"  incremental: {extra:,} new files, refresh     {t_incr_refresh:7.2f} s   (then results() {t_incr:.2f} s)")
        print(f"  full re-check (stat every file)            {t_full:7.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(path if args.dir else base, ignore_errors=True)


if __name__ == "__main__":
    main()
