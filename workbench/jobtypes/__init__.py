"""Job types that ship with workbench (found by name through :mod:`workbench.registry`)."""

from __future__ import annotations

__all__: list[str] = []
