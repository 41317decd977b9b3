"""The ``matmul`` job type: a point runs, agrees with numpy and reports rates; checks and cost."""

from __future__ import annotations

import pytest

from workbench.jobtype import JobContext
from workbench.jobtypes.matmul import matmul, run
from workbench.registry import get_job_type


def test_registry_finds_it_and_the_defaults_are_clean():
    assert get_job_type("matmul") is matmul
    assert matmul.problems(matmul.defaults()) == []


@pytest.mark.parametrize("size, block, block_k", [(97, 16, 0), (130, 32, 24), (64, 128, 0)])
def test_a_point_agrees_with_numpy_and_reports_rates(size, block, block_k):
    lines: list[str] = []
    p = matmul.coerce({"size": size, "block": block, "block_k": block_k, "repeats": 2})
    r = run(p, JobContext("t", log=lines.append))
    assert r["agrees"] is True and r["rel_error"] <= 1e-12
    assert r["gflops"] > 0 and r["numpy_gflops"] > 0
    assert r["gflops"] == pytest.approx(2 * size**3 / r["seconds"] / 1e9)
    assert r["speed_vs_numpy"] == pytest.approx(r["gflops"] / r["numpy_gflops"])
    assert len(lines) == 1 and f"n={size} block={block}" in lines[0]


def test_checks_warn_about_blocks_that_do_not_tile():
    msgs = [p.message for p in matmul.problems(matmul.coerce({"size": 100, "block": 128, "block_k": 200}))]
    assert len(msgs) == 2
    assert "block = 128 exceeds size = 100" in msgs[0] and "block_k = 200 exceeds size = 100" in msgs[1]
    (small,) = matmul.problems(matmul.coerce({"block": 2}))
    assert small.level == "warning" and "below the 4 x 4 register tile" in small.message


def test_cost_grows_as_size_cubed():
    small = matmul.estimate(matmul.coerce({"size": 500}))
    large = matmul.estimate(matmul.coerce({"size": 1000}))
    assert (large.seconds - 0.05) == pytest.approx(8 * (small.seconds - 0.05))
    assert large.memory_mb > small.memory_mb
    assert matmul.estimate(matmul.coerce({"size": 500, "block": 8})) == small  # block is not in cost_uses
