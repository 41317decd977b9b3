"""The blocked matrix multiply against numpy, on awkward shapes and blocks, and its input checks."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.kernels.matmul import matmul


def rel_diff(c: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(c - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize(
    "m, k, n",
    [(1, 1, 1), (1, 7, 1), (5, 1, 3), (7, 13, 9), (33, 17, 65), (100, 101, 99), (128, 64, 257)],
)
@pytest.mark.parametrize("block, block_k", [(1, 1), (3, 5), (4, 4), (16, 7), (64, 256), (1000, 1000)])
def test_agrees_with_numpy_on_odd_sizes_and_non_multiple_blocks(m, k, n, block, block_k):
    rng = np.random.default_rng(m * 10_000 + k * 100 + n)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
    assert rel_diff(matmul(a, b, block=block, block_k=block_k), a @ b) <= 1e-12


def test_a_larger_product_with_rectangular_tiles():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((301, 257)), rng.standard_normal((257, 203))
    c = matmul(a, b, block=36, block_n=52, block_k=40)
    assert rel_diff(c, a @ b) <= 1e-12


def test_block_sizes_change_the_speed_not_the_bits():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((70, 90)), rng.standard_normal((90, 50))
    results = {matmul(a, b, block=bl, block_k=bk).tobytes() for bl, bk in ((1, 1), (4, 8), (13, 90), (64, 256))}
    assert len(results) == 1


def test_out_inputs_conversion_and_empty_shapes():
    a = np.arange(6, dtype=np.int64).reshape(2, 3)  # integers are promoted to float64
    out = np.full((2, 2), np.nan)
    assert matmul(a, a.T, out=out) is out
    np.testing.assert_array_equal(out, [[5.0, 14.0], [14.0, 50.0]])
    f = np.asfortranarray(np.ones((3, 4), dtype=np.float32))
    np.testing.assert_array_equal(matmul(f, np.ones((4, 2))), np.full((3, 2), 4.0))
    assert matmul(np.ones((0, 3)), np.ones((3, 2))).shape == (0, 2)
    np.testing.assert_array_equal(matmul(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3)))


def test_bad_inputs_say_what_is_wrong_and_how_to_fix_it():
    a = np.ones((3, 4))
    with pytest.raises(ParameterError, match=r"shapes \(3, 4\) and \(3, 4\) do not chain \(4 columns of a but 3 rows of b\); transpose"):
        matmul(a, a)
    with pytest.raises(ParameterError, match=r"a = <complex128 array>: is not a real numeric matrix"):
        matmul(a.astype(complex), a.T)
    with pytest.raises(ParameterError, match=r"b = <array of shape \(4,\)>: is not two-dimensional"):
        matmul(a, np.ones(4))
    with pytest.raises(ParameterError, match=r"a = <object array>"):
        matmul(np.array([[None]]), np.ones((1, 1)))
    for kw in ({"block": 0}, {"block_k": -2}, {"block": 2.5}, {"block_n": True}):
        name, value = next(iter(kw.items()))
        with pytest.raises(ParameterError, match=rf"{name} = {value!r}: is not a whole number >= 1"):
            matmul(a, a.T, **kw)
    with pytest.raises(ParameterError, match=r"out = <float64 array of shape \(4, 4\)>: is not .* of shape \(3, 3\)"):
        matmul(a, a.T, out=np.empty((4, 4)))
    with pytest.raises(ParameterError, match=r"out = <float32 array"):
        matmul(a, a.T, out=np.empty((3, 3), dtype=np.float32))
    sq = np.ones((3, 3))
    with pytest.raises(ParameterError, match="out overlaps a or b"):
        matmul(sq, np.eye(3), out=sq)
