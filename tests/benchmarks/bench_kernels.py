"""Benchmark the compiled kernels (not a test: run it, read it).

    python tests/benchmarks/bench_kernels.py [--quick] [--repeats R]

Crank–Nicolson: nanoseconds per grid point per step, for N = 1e3 ... 1e6, of

* the Cython kernel (:class:`workbench.kernels.tdse.CrankNicolson`, many steps per call);
* a step built on :func:`scipy.linalg.solve_banded` (numpy right-hand side,
  LAPACK's banded LU with partial pivoting);
* a pure-numpy step (numpy right-hand side, vectorised cyclic reduction);
* two memory floors measured with ``np.copyto``: streaming the bytes the
  kernel itself reads and writes per step (120 B per point: psi twice, the
  diagonal, the elimination coefficients twice, the force; plus 32 B for each
  row whose spike the AVX2 + FMA build's lanes carry, see spike_rows), and streaming
  only the state (read + write 16 B per point: no step can do less).

Matrix multiply: GFLOP/s of the blocked kernel per block size, beside numpy's
BLAS on all threads and on one (the latter in a subprocess with
``OPENBLAS_NUM_THREADS=1``, since the thread count is fixed at import).

Timings are the best of ``--repeats`` runs; on a shared machine the spread
is large, so compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from workbench.kernels.matmul import matmul
from workbench.kernels import tdse
from workbench.kernels.tdse import CrankNicolson, Grid, soft_core

#: Bytes the Cython step moves per grid point without spikes: the forward sweep
#: reads psi (16) and d0 (16) and writes (c', d') (32); back substitution reads
#: (c', d') (32) and the force (8) and writes psi (16).  Rows that carry a spike
#: P (the AVX2 + FMA build's lanes, see below) move 16 B more each way: 152.
#: Once per call (not counted) psi, d0 and the force are copied into lane
#: order and psi back.
BASE_BYTES_PER_POINT = 120
SPIKE_BYTES_PER_ROW = 32
STATE_BYTES_PER_POINT = 32
LANES = 16


def spike_rows(prob: Problem) -> int:
    """Rows per lane that carry a spike in the AVX2 build: the kernel's rule, redone with numpy.

    Each of the 16 lanes starts with P = 1 and multiplies it by -c'_j row by
    row; every 32 rows spikes below 2**-200 are set to zero, and once all are
    zero the rest of the lanes moves no spikes.
    """
    n = prob.grid.n
    k_rows = n // LANES
    if not tdse._tdse.USES_LANES or k_rows < 8:
        return 0
    dx = prob.grid.dx
    alpha = -prob.c / (2 * dx * dx)
    b = (1 + prob.c * (1 / dx**2 + prob.v)) / alpha - 2 * dx * dx * prob.field * prob.x
    rows = b[: LANES * k_rows].reshape(LANES, k_rows)
    cp = np.zeros(LANES, dtype=complex)
    p = np.ones(LANES, dtype=complex)
    for k in range(k_rows):
        if k and k % 32 == 0:
            small = np.abs(p.real) + np.abs(p.imag) < 6.2e-61
            p[small] = 0
            if small.all():
                return k
        cp = 1 / (rows[:, k] - cp)
        p = -p * cp
    return k_rows


def kernel_bytes_per_point(prob: Problem) -> float:
    return BASE_BYTES_PER_POINT + SPIKE_BYTES_PER_ROW * LANES * spike_rows(prob) / prob.grid.n


def best_of(repeats: int, fn: Callable[[], None]) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# -- reference steps ----------------------------------------------------------------


class Problem:
    """Soft-core hydrogen on N points with a field: the same step for every method."""

    def __init__(self, n: int, dx: float = 0.1, dt: float = 0.05, field: float = 0.01) -> None:
        self.grid = Grid(x0=-0.5 * (n - 1) * dx, dx=dx, n=n)
        self.x = self.grid.x
        self.v = soft_core(self.x)
        self.dt, self.field = dt, field
        self.c = 0.5j * dt
        self.off = -self.c / (2 * dx * dx)  # off-diagonal of 1 + cH
        self.a = 1 + self.c * (1 / dx**2 + self.v + self.x * field)  # its diagonal
        self.psi0 = np.exp(-0.5 * (self.x / 5.0) ** 2).astype(np.complex128)

    def rhs(self, psi: np.ndarray) -> np.ndarray:
        r = (2 - self.a) * psi
        r[1:] -= self.off * psi[:-1]
        r[:-1] -= self.off * psi[1:]
        return r


def banded_step(prob: Problem) -> Callable[[np.ndarray], np.ndarray]:
    from scipy.linalg import solve_banded

    n = prob.grid.n
    ab = np.empty((3, n), dtype=np.complex128)

    def step(psi: np.ndarray) -> np.ndarray:
        ab[0, 1:] = prob.off
        ab[1] = prob.a
        ab[2, :-1] = prob.off
        return solve_banded((1, 1), ab, prob.rhs(psi), overwrite_ab=True, overwrite_b=True, check_finite=False)

    return step


def cyclic_reduction(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Solve the tridiagonal system (sub a, diagonal b, super c) by odd-even reduction, vectorised."""
    n = b.shape[0]
    if n == 1:
        return d / b
    if n == 2:
        det = b[0] * b[1] - c[0] * a[1]
        return np.array([(d[0] * b[1] - c[0] * d[1]) / det, (b[0] * d[1] - a[1] * d[0]) / det])
    zero, one = np.zeros(1, a.dtype), np.ones(1, b.dtype)
    A, B = np.concatenate((zero, a, zero)), np.concatenate((one, b, one))
    C, D = np.concatenate((zero, c, zero)), np.concatenate((zero, d, zero))
    i = np.arange(0, n, 2) + 1  # padded positions of the even unknowns
    al = -A[i] / B[i - 1]
    ga = -C[i] / B[i + 1]
    x = np.empty(n, dtype=np.result_type(a, b, c, d))
    x[0::2] = cyclic_reduction(
        al * A[i - 1], B[i] + al * C[i - 1] + ga * A[i + 1], ga * C[i + 1], D[i] + al * D[i - 1] + ga * D[i + 1]
    )
    j = np.arange(1, n, 2)
    right = np.zeros(j.shape[0], dtype=x.dtype)
    inside = j + 1 < n
    right[inside] = x[j[inside] + 1]
    x[1::2] = (d[j] - a[j] * x[j - 1] - c[j] * right) / b[j]
    return x


def numpy_step(prob: Problem) -> Callable[[np.ndarray], np.ndarray]:
    n = prob.grid.n
    sub = np.full(n, prob.off, dtype=np.complex128)
    sub[0] = 0
    sup = np.full(n, prob.off, dtype=np.complex128)
    sup[-1] = 0

    def step(psi: np.ndarray) -> np.ndarray:
        return cyclic_reduction(sub, prob.a, sup, prob.rhs(psi))

    return step


# -- benchmarks --------------------------------------------------------------------------


def bench_crank_nicolson(sizes: list[int], repeats: int) -> None:
    print("Crank–Nicolson step, complex128, ns per grid point per step (best of %d)" % repeats)
    head = (f"{'N':>9} {'cython':>8} {'banded':>8} {'numpy':>8} {'floor':>7} {'state':>7} | "
            f"{'banded/cy':>9} {'numpy/cy':>8} {'cy/floor':>8} {'cy/state':>8}  agree  B/pt")
    print(head)
    print("-" * len(head))
    for n in sizes:
        prob = Problem(n)
        # Enough work per timing to dwarf call overheads, bounded for the slow methods.
        k_steps = max(3, int(2e7 // n))
        r_steps = max(2, int(2e6 // n))
        field = np.full(k_steps, prob.field)
        prop = CrankNicolson(prob.grid, prob.v, prob.dt)
        psi = prob.psi0.copy()
        t_cy = best_of(repeats, lambda: prop.propagate(psi, field)) / (k_steps * n)

        results = {}
        times = {}
        for name, make in (("banded", banded_step), ("numpy", numpy_step)):
            step = make(prob)

            def go(step: Callable[[np.ndarray], np.ndarray] = step, name: str = name) -> None:
                p = prob.psi0.copy()
                for _ in range(r_steps):
                    p = step(p)
                results[name] = p

            times[name] = best_of(repeats, go) / (r_steps * n)
        ref = prob.psi0.copy()
        prop.propagate(ref, field[:r_steps])
        agree = max(float(np.max(np.abs(results[k] - ref))) for k in results)

        traffic = kernel_bytes_per_point(prob)
        src = np.ones(int(traffic * n / 16))  # read + write: half the bytes each
        dst = np.empty_like(src)
        floor = best_of(repeats, lambda: [np.copyto(dst, src) for _ in range(max(3, k_steps // 10))])
        floor /= max(3, k_steps // 10) * n
        s_src = np.ones(n, dtype=np.complex128)
        s_dst = np.empty_like(s_src)
        state = best_of(repeats, lambda: [np.copyto(s_dst, s_src) for _ in range(k_steps)]) / (k_steps * n)

        ns = 1e9
        print(
            f"{n:>9.0e} {t_cy * ns:8.2f} {times['banded'] * ns:8.2f} {times['numpy'] * ns:8.2f} "
            f"{floor * ns:7.2f} {state * ns:7.2f} | {times['banded'] / t_cy:9.2f} {times['numpy'] / t_cy:8.1f} "
            f"{t_cy / floor:8.2f} {t_cy / state:8.1f}  {agree:.0e}  {traffic:5.1f}"
        )
    print(
        "floor: np.copyto of arrays with the kernel's traffic (B/point, last column: 120, plus 32 for each row "
        "that carries a spike); state: of the %d B/point that any step must read and write." % STATE_BYTES_PER_POINT
    )


def numpy_single_thread_gflops(n: int, repeats: int) -> float:
    code = (
        "import numpy as np, time\n"
        f"a = np.random.default_rng(0).standard_normal(({n}, {n})); b = a.T.copy(); c = np.empty_like(a)\n"
        "best = min((lambda t0: (np.matmul(a, b, out=c), time.perf_counter() - t0)[1])(time.perf_counter())"
        f" for _ in range({repeats}))\n"
        f"print(2 * {n}**3 / best / 1e9)\n"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def bench_matmul(sizes: list[int], blocks: list[int], block_k: int, repeats: int) -> None:
    print(f"\nBlocked matmul, float64, GFLOP/s (block x block tiles of C, slabs of block_k = {block_k}; best of {repeats})")
    head = f"{'n':>6} " + " ".join(f"{'b=' + str(b):>7}" for b in blocks) + f" | {'numpy':>7} {'numpy1':>7}  best/numpy1"
    print(head)
    print("-" * len(head))
    for n in sizes:
        rng = np.random.default_rng(n)
        a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
        c = np.empty((n, n))
        ref = a @ b
        rates = []
        for blk in blocks:
            t = best_of(repeats, lambda blk=blk: matmul(a, b, block=blk, block_k=block_k, out=c))
            assert np.linalg.norm(c - ref) <= 1e-12 * np.linalg.norm(ref)
            rates.append(2 * n**3 / t / 1e9)
        t_np = best_of(repeats, lambda: np.matmul(a, b, out=c))
        np1 = numpy_single_thread_gflops(n, repeats)
        print(f"{n:>6} " + " ".join(f"{r:7.2f}" for r in rates)
              + f" | {2 * n**3 / t_np / 1e9:7.2f} {np1:7.2f}  {max(rates) / np1:10.2f}")
    print("numpy: OpenBLAS on all threads; numpy1: on one thread (the blocked kernel uses one).")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        bench_crank_nicolson([1000, 10_000], min(args.repeats, 2))
        bench_matmul([128], [16, 64], 128, min(args.repeats, 2))
        return
    bench_crank_nicolson([1000, 10_000, 100_000, 1_000_000], args.repeats)
    bench_matmul([256, 512, 1024], [8, 16, 32, 64, 128, 256], 256, max(2, args.repeats // 2))


if __name__ == "__main__":
    main()
