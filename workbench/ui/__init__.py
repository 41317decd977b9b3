"""Notebook front ends (ipywidgets): thin views over the pure model."""

from __future__ import annotations

__all__: list[str] = []
