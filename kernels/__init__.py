"""Compiled numerical kernels for workbench job types (installed as ``workbench.kernels``)."""

from __future__ import annotations

__all__: list[str] = []
