"""Benchmark: adaptive scans against uniform grids, and the adaptive loop's overhead per round.

Run on demand (not part of the test suite)::

    python tests/benchmarks/bench_adaptive.py [--only a,b,overhead] [--error 0.01] [--batch 4]

(a) The demo oscillator's amplitude across its resonance, drive_freq in
    [0.5, 1.5] at damping 0.01 (a peak of height 50 and width 0.02).
(b) The TDSE ionisation probability against intensity at 800 nm,
    1e13 to 1e15 W/cm² (the learner works on log10 of the intensity).

For each, the learners of :mod:`workbench.learners` (what ``wb.adapt`` uses)
ask for points in batches of ``--batch`` and are told the job type's real
output, computed in-process by its run function (no bundle, no processes:
this measures how well the points are placed).  After each batch the maximum
error of the piecewise-linear interpolation of the points so far is measured
on a reference, until it is below ``--error`` times the curve's maximum.
The grid's figure is the smallest ``numpy.linspace`` of the same parameter
(of log10 intensity for (b)) whose interpolation meets the same error.

References: for (a) the analytic resonance curve (the demo's measured
amplitudes agree with it to ~1e-5 relative at the periods used here); for
(b) a dense grid of TDSE runs (``--reference`` points, uniform in log10 I),
whose monotone cubic interpolation stands for the curve between them (grid
values are taken from it, and errors are measured at its points).

Overhead: a bundle of ``--points`` (10,000) jobs with results, then rounds of
the real loop (``wb.adapt``, local target, 2 workers, a job type that returns
at once): ask + append + submit per round, and reading + telling per round.
Goal: under 200 ms per round.  The wall time per round is printed too; it
includes the local executor's start (a process pool per run).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the fast test job types

import workbench as wb  # noqa: E402
from workbench.jobtype import JobContext  # noqa: E402
from workbench.learners import AdaptiveScan  # noqa: E402


def _interp_error(xs: np.ndarray, ys: np.ndarray, x_ref: np.ndarray, y_ref: np.ndarray) -> float:
    order = np.argsort(xs)
    return float(np.max(np.abs(np.interp(x_ref, xs[order], ys[order]) - y_ref)))


def adaptive_jobs(scan, name: str, output: str, run, x_ref, y_ref, target: float, batch: int, log: bool, limit: int,
                  loss: str = "curvature"):
    """Jobs the learners need until the interpolation error is at most ``target``."""
    learners = AdaptiveScan(scan, output, loss)
    xs: list[float] = []
    ys: list[float] = []
    err = math.inf
    while len(xs) < limit:
        asked = learners.ask(batch)
        for w in asked:
            p = learners.point(*w)
            y = float(run(p)[output])
            learners.tell(w, y)
            xs.append(math.log10(p[name]) if log else p[name])
            ys.append(y)
        if len(xs) >= 3:
            err = _interp_error(np.array(xs), np.array(ys), x_ref, y_ref)
            if err <= target:
                break
    return len(xs), err


def grid_jobs(truth, lo: float, hi: float, x_ref, y_ref, target: float, limit: int = 100_000) -> tuple[int, float]:
    """The smallest linspace(lo, hi, n) whose interpolation of ``truth`` is within ``target`` on the reference."""
    def err(n: int) -> float:
        g = np.linspace(lo, hi, n)
        return _interp_error(g, truth(g), x_ref, y_ref)

    n = 3
    while err(n) > target and n < limit:
        n *= 2
    lo_n = max(3, n // 2)
    # The error is not monotone in n (points fall on or beside the peak): the first n from below that meets it.
    for m in range(lo_n, n + 1):
        if err(m) <= target:
            return m, err(m)
    return n, err(n)


def bench_demo(target_rel: float, batch: int, losses: list[str]) -> None:
    from workbench.jobtypes.demo import run, steady_state

    fixed = {"damping": 0.01, "force": 1.0, "periods": 120, "rtol": 1e-6}
    s = wb.scan("demo", drive_freq=wb.adaptive(0.5, 1.5), **fixed)
    x_ref = np.linspace(0.5, 1.5, 20_001)
    truth = np.vectorize(lambda w: steady_state(w, 0.01, 1.0)[0])
    y_ref = truth(x_ref)
    target = target_rel * y_ref.max()
    n_grid, e_grid = grid_jobs(truth, 0.5, 1.5, x_ref, y_ref, target)
    print(f"(a) demo amplitude vs drive_freq at damping 0.01, max interpolation error <= {target_rel:g} x peak ({target:.3g}):")
    print(f"    linspace: {n_grid} jobs (error {e_grid:.3g})")
    for loss in losses:
        t0 = time.perf_counter()
        n_ad, e_ad = adaptive_jobs(s, "drive_freq", "amplitude", lambda p: run(p, None), x_ref, y_ref, target, batch, False, 2000, loss)
        t_ad = time.perf_counter() - t0
        print(f"    adaptive, {loss} loss: {n_ad} jobs (error {e_ad:.3g}; {t_ad:.0f} s of jobs in-process, batches of {batch}): "
              f"{n_grid / n_ad:.1f}x fewer jobs than the grid (goal >= 5x)")


def bench_tdse(target_rel: float, batch: int, reference: int, losses: list[str]) -> None:
    from scipy.interpolate import PchipInterpolator

    from workbench.jobtypes.tdse import run

    jt = wb.get_job_type("tdse")
    fixed = {"wavelength": 800.0, "cycles": 4.0}
    s = wb.scan("tdse", intensity=wb.adaptive(1e13, 1e15, "log"), **fixed)
    point = {p.name: p.default for p in jt.params} | fixed
    ctx = JobContext(job_id="bench", checkpoint=None)

    def ion(p):
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
            return run(p, ctx)  # the job prints its grid and ground state

    t0 = time.perf_counter()
    x_ref = np.linspace(13.0, 15.0, reference)
    y_ref = np.array([ion(point | {"intensity": float(10.0**x)})["ionization"] for x in x_ref])
    t_ref = time.perf_counter() - t0
    truth = PchipInterpolator(x_ref, y_ref)
    target = target_rel * y_ref.max()
    n_grid, e_grid = grid_jobs(truth, 13.0, 15.0, x_ref, y_ref, target)
    # Grids of real runs: the reference's nested subsets of 2^k + 1 points.
    nested = None
    k = 2
    while (reference - 1) % (2**k) == 0 and 2**k < reference:
        k += 1
    for step in sorted({(reference - 1) // 2**j for j in range(1, k)} - {0}, reverse=True):
        sub = slice(None, None, step)
        if _interp_error(x_ref[sub], y_ref[sub], x_ref, y_ref) <= target:
            nested = len(x_ref[sub])
            break
    print(f"(b) TDSE ionisation vs intensity 1e13-1e15 W/cm² at 800 nm, 4 cycles, max error <= {target_rel:g} x max ({target:.3g}):")
    print(f"    reference: {reference} runs in {t_ref:.0f} s; ionisation from {y_ref.min():.2g} to {y_ref.max():.3g}")
    print(f"    linspace of log10 I: {n_grid} jobs (error {e_grid:.3g}; its values from the reference's monotone cubic)")
    print(f"    linspace of log10 I, real runs (nested in the reference, 2^k + 1 points): "
          f"{nested if nested else f'more than {(reference - 1) // 2 + 1}'} jobs")
    for loss in losses:
        t0 = time.perf_counter()
        n_ad, e_ad = adaptive_jobs(s, "intensity", "ionization", ion, x_ref, y_ref, target, batch, True, 2 * reference, loss)
        t_ad = time.perf_counter() - t0
        print(f"    adaptive, {loss} loss: {n_ad} jobs (error {e_ad:.3g}; {t_ad:.0f} s in-process, batches of {batch}): "
              f"{n_grid / n_ad:.1f}x fewer jobs than the grid")


def bench_overhead(points: int, rounds: int) -> None:
    import wbtest_adapt_jobs as J

    from workbench.grow import append_points
    from workbench.job import write_result

    root = Path(tempfile.mkdtemp(prefix="bench-adaptive-"))
    try:
        s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=[0.01, 0.1])
        b = wb.create(s, root / "big")
        learners = AdaptiveScan(s)
        t0 = time.perf_counter()
        results: list[str] = []
        while len(results) < points:
            asked = learners.ask(min(1000, points - len(results)))
            pts = [learners.point(*w) for w in asked]
            for w, p in zip(asked, pts):
                learners.tell(w, J.run_lorentz(p, None)["y"])
            rep = append_points(b, pts)
            results += rep.added
        for jid in b.job_ids:
            job_input = b.input(jid)
            write_result(b.path / "outputs", job_input, J.run_lorentz(job_input["params"], None), {"runtime": 0.0, "host": "bench"})
        t_fill = time.perf_counter() - t0
        t0 = time.perf_counter()
        a = wb.adapt(b.path, max_jobs=b.count + 2 * rounds, workers=2, progress=False)
        t_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        report = a.wait()
        wall = time.perf_counter() - t0
        ask = np.array(a.timings)
        tell = np.array(a.tell_timings)
        per_round = ask[: len(tell)] + tell
        print(f"overhead per round at {b.count:,} points in the bundle ({report.rounds} rounds of 2 jobs, local, 2 workers):")
        print(f"    filling the bundle: {t_fill:.1f} s; wb.adapt(path) (replay of {b.count:,} points): {t_open:.2f} s")
        print(f"    ask + append + submit: median {np.median(ask) * 1e3:.1f} ms, max {ask.max() * 1e3:.1f} ms")
        print(f"    read + tell:           median {np.median(tell) * 1e3:.1f} ms, max {tell.max() * 1e3:.1f} ms")
        print(f"    together:              median {np.median(per_round) * 1e3:.1f} ms (goal < 200 ms)")
        print(f"    wall time per round (the executor's start included): {wall / report.rounds * 1e3:.0f} ms")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="a,b,overhead")
    ap.add_argument("--error", type=float, default=0.01, help="the maximum interpolation error, relative to the curve's maximum")
    ap.add_argument("--batch", type=int, default=4, help="points asked per round (the workers)")
    ap.add_argument("--reference", type=int, default=129, help="TDSE runs of the reference curve")
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--loss", default="curvature,default", help="the learners' losses to compare")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if "a" in only:
        bench_demo(args.error, args.batch, args.loss.split(","))
    if "b" in only:
        bench_tdse(args.error, args.batch, args.reference, args.loss.split(","))
    if "overhead" in only:
        bench_overhead(args.points, args.rounds)


if __name__ == "__main__":
    main()
