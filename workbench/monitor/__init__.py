"""The monitor: watch a scan in a notebook cell, with live plots that fill in as results arrive.

``workbench.monitor(bundle)`` shows one panel that refreshes itself from an
asyncio task on the kernel's loop; see :func:`~workbench.monitor.widget.monitor`.
The pure model (:mod:`workbench.monitor.model`) imports neither ipywidgets
nor matplotlib; this package loads them only when a monitor is made.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["monitor", "Monitor", "MonitorModel"]

_LAZY = {"monitor": "widget", "Monitor": "widget", "MonitorModel": "model"}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

