"""Cache-blocked float64 matrix multiplication: the checked face of :mod:`workbench.kernels._matmul`.

Not a BLAS replacement (numpy's ``@`` is several times faster): the block
sizes are parameters so a scan can show how tiling for the cache changes the
speed of the same arithmetic.

Examples
--------
>>> import numpy as np
>>> a = np.arange(6.0).reshape(2, 3)
>>> matmul(a, a.T, block=2)
array([[ 5., 14.],
       [14., 50.]])
"""

from __future__ import annotations

import numbers

import numpy as np

from workbench.errors import ParameterError

from . import _matmul

__all__ = ["matmul", "DEFAULT_BLOCK", "DEFAULT_BLOCK_K"]

#: Tile edge of C (rows and columns) and depth of the k slabs used by default.
DEFAULT_BLOCK = 64
DEFAULT_BLOCK_K = 256


def _block(name: str, value: object) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ParameterError(f"{name} = {value!r}: is not a whole number >= 1; give a block size such as 64.",
                             parameter=name)
    return int(value)


def _matrix(name: str, x: object) -> np.ndarray:
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ParameterError(
            f"{name} = <{arr.dtype} array>: is not a real numeric matrix; this kernel multiplies float64 "
            f"(use numpy's @ for {arr.dtype}).", parameter=name)
    if arr.ndim != 2:
        raise ParameterError(f"{name} = <array of shape {arr.shape}>: is not two-dimensional; give an (m, k) matrix.",
                             parameter=name)
    return np.ascontiguousarray(arr, dtype=np.float64)


def matmul(
    a: np.ndarray,
    b: np.ndarray,
    *,
    block: int = DEFAULT_BLOCK,
    block_k: int | None = None,
    block_n: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``a @ b`` for float64 matrices, in ``block x block_n`` tiles of the result and slabs of ``block_k``.

    Parameters
    ----------
    a, b
        ``(m, k)`` and ``(k, n)`` real matrices (integers and float32 are
        converted to float64; complex is refused).
    block
        Rows of a tile of the result (and columns, unless ``block_n`` is given).
    block_k
        Depth of the slabs of the shared dimension; default :data:`DEFAULT_BLOCK_K`.
    block_n
        Columns of a tile of the result; default ``block``.
    out
        A C-contiguous float64 ``(m, n)`` array to write into, overlapping
        neither ``a`` nor ``b``.

    Returns
    -------
    numpy.ndarray
        ``out``, or a new ``(m, n)`` array.

    Notes
    -----
    Every element is summed over the shared index in ascending order, so the
    block sizes change the speed but not the bits of the result.
    """
    bm = _block("block", block)
    bn = _block("block_n", bm if block_n is None else block_n)
    bk = _block("block_k", DEFAULT_BLOCK_K if block_k is None else block_k)
    A = _matrix("a", a)
    B = _matrix("b", b)
    (m, k), (k2, n) = A.shape, B.shape
    if k != k2:
        raise ParameterError(
            f"a @ b: shapes {A.shape} and {B.shape} do not chain ({k} columns of a but {k2} rows of b); "
            "transpose one of them or check the sizes.", parameter="b")
    if out is None:
        out = np.empty((m, n))
    else:
        if (not isinstance(out, np.ndarray) or out.dtype != np.float64 or out.shape != (m, n)
                or not out.flags.c_contiguous or not out.flags.writeable):
            what = f"<{out.dtype} array of shape {out.shape}>" if isinstance(out, np.ndarray) else repr(out)
            raise ParameterError(
                f"out = {what}: is not a writeable C-contiguous float64 array of shape {(m, n)}; "
                "pass np.empty((m, n)) or leave out unset.", parameter="out")
        if np.shares_memory(out, A) or np.shares_memory(out, B):
            raise ParameterError("out overlaps a or b; the product would overwrite its own input. "
                                 "Pass a separate output array.", parameter="out")
    if m == 0 or n == 0:
        return out
    if k == 0:
        out[...] = 0.0
        return out
    _matmul.matmul_blocked(A, B, out, bm, bn, bk)
    return out
