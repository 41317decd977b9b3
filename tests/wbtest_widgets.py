"""Helpers for widget tests: which ipywidgets are open (have a comm) in this kernel."""

from __future__ import annotations

import warnings
from typing import Any


def open_widgets() -> dict[str, Any]:
    """The open widgets by model id (a closed widget leaves the registry)."""
    import ipywidgets as w

    with warnings.catch_warnings():  # Widget.widgets is deprecated, but it is the registry
        warnings.simplefilter("ignore", DeprecationWarning)
        return dict(w.Widget.widgets)
