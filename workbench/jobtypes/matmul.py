"""The ``matmul`` job type: GFLOP/s of a cache-blocked matrix multiply, beside numpy's BLAS.

The natural scan is matrix size × block size, an autotuning sweep: which
tiling of ``C = A @ B`` suits this machine's caches.  Each job multiplies two
random ``size x size`` float64 matrices with :func:`workbench.kernels.matmul.matmul`,
checks the product against numpy to a relative 1e-12 (Frobenius norm), and
times both.  numpy's BLAS (OpenBLAS, hand-written AVX2/FMA kernels) is expected
to be several times faster; the point is the shape of the scan, not beating it.
Under the executors both run on the job's ``request_cpus`` cores (one by
default), as on an HTCondor pool; called directly, numpy's BLAS uses every core.

Results
-------
gflops, seconds
    Best of ``repeats`` timings of the blocked kernel (``2 size³`` flops).
numpy_gflops, numpy_seconds
    The same for ``numpy.matmul``.
speed_vs_numpy
    ``gflops / numpy_gflops``.
rel_error, agrees
    ``||C - C_numpy|| / ||C_numpy||`` and whether it is <= 1e-12.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..jobtype import Cost, JobContext, JobType, Problem, warning
from ..params import Param

__all__ = ["matmul", "run", "TOLERANCE"]

#: Largest accepted relative (Frobenius) difference from numpy's product.
TOLERANCE = 1e-12

#: Rates on the 2-core reference machine (tests/benchmarks/bench_kernels.py):
#: the blocked kernel on one core, numpy's BLAS on both (about 37e9 on one: the
#: estimate stays on the safe side for jobs limited to one core).
_KERNEL_FLOPS = 5e9
_NUMPY_FLOPS = 3e10


def _blocks(p: Mapping[str, Any]) -> tuple[int, int]:
    return p["block"], p["block_k"] or p["block"]


def run(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Multiply, check against numpy, time both."""
    from ..kernels.matmul import matmul as blocked

    n, repeats = point["size"], point["repeats"]
    block, block_k = _blocks(point)
    rng = np.random.default_rng(point["seed"])
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    c = np.empty((n, n))
    flops = 2.0 * n**3

    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        blocked(a, b, block=block, block_k=block_k, out=c)
        best = min(best, time.perf_counter() - t0)
    ref = np.empty((n, n))
    best_np = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=ref)
        best_np = min(best_np, time.perf_counter() - t0)
    rel = float(np.linalg.norm(c - ref) / np.linalg.norm(ref))
    ctx.log(f"matmul: n={n} block={block} block_k={block_k}: {flops / best / 1e9:.2f} GFLOP/s "
            f"(numpy {flops / best_np / 1e9:.2f}), relative difference {rel:.1e}")
    return {
        "gflops": flops / best / 1e9,
        "seconds": best,
        "numpy_gflops": flops / best_np / 1e9,
        "numpy_seconds": best_np,
        "speed_vs_numpy": best_np / best,
        "rel_error": rel,
        "agrees": rel <= TOLERANCE,
    }


def _check_blocks(p: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    block, block_k = _blocks(p)
    if block > p["size"]:
        found.append(warning(
            f"block = {block} exceeds size = {p['size']}: the whole matrix is one tile, so this point measures "
            "the unblocked loop. Use block <= size to test tiling.", "block", "size"))
    if block_k > p["size"]:
        found.append(warning(
            f"block_k = {block_k} exceeds size = {p['size']}: the shared dimension is one slab. "
            "Use block_k <= size to test tiling.", "block_k", "size"))
    if block < 4:
        found.append(warning(
            f"block = {block} is below the 4 x 4 register tile of the kernel, which then falls back to "
            "its slow edge loops. Use block >= 4 (a multiple of 4).", "block"))
    return found


def _cost(p: Mapping[str, Any]) -> Cost:
    n = p["size"]
    flops = 2.0 * n**3 * p["repeats"]
    return Cost(
        seconds=0.05 + flops / _KERNEL_FLOPS + flops / _NUMPY_FLOPS,
        memory_mb=80.0 + 4 * 8 * n * n / 1e6,
        disk_mb=0.01,
    )


matmul = JobType(
    name="matmul",
    title="Cache-blocked matrix multiply",
    description="GFLOP/s of a Cython matrix multiply tiled in block × block × block_k, beside numpy's BLAS.",
    params=(
        Param("size", "int", 512, min=1, max=16384, help="n of the n × n float64 matrices."),
        Param("block", "int", 64, min=1, max=16384, help="Rows and columns of a tile of C."),
        Param("block_k", "int", 0, min=0, max=16384,
              help="Depth of the slabs of the shared dimension (0: same as block)."),
        Param("repeats", "int", 3, min=1, max=100, help="Timings per job; the best is reported."),
        Param("seed", "int", 0, min=0, help="Seed of the random matrices."),
    ),
    run=run,
    checks=(_check_blocks,),
    cost=_cost,
    cost_uses=("size", "repeats"),
    outputs=("gflops", "numpy_gflops", "speed_vs_numpy", "rel_error", "agrees"),
)
