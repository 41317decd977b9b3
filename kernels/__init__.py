"""Compiled numerical kernels for workbench job types (installed as ``workbench.kernels``).

Each kernel is a checked Python face over an unchecked Cython core:

``tdse`` / ``_tdse``
    Crank–Nicolson propagation of the 1D Schrödinger equation in real and
    imaginary time (the ``tdse`` job type).
``matmul`` / ``_matmul``
    Cache-blocked float64 matrix multiplication (the ``matmul`` job type).

Use the faces; the cores trust their callers.  Importing this package loads
neither (``from workbench.kernels import tdse`` does).
"""

from __future__ import annotations

__all__ = ["tdse", "matmul"]
