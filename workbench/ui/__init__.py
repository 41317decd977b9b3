"""Notebook front ends (ipywidgets): thin views over the pure model.

Importing this package imports no widget library; the names below load when first used.
The form itself is ``workbench.form(...)`` (``workbench.ui.form`` is its module).
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    "Form": ("form", "Form"),
    "ParamField": ("fields", "ParamField"),
    "PointsPlot": ("preview", "PointsPlot"),
    "Explorer": ("explorer", "Explorer"),
}

__all__: list[str] = [*_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'workbench.ui' has no attribute {name!r}") from None
    return getattr(importlib.import_module(f".{module}", __name__), attr)


def __dir__() -> list[str]:
    return sorted(__all__)
