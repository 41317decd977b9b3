"""workbench: a Jupyter-native workbench for high-throughput parameter scans.

Create a scan from a job type, write it as a job bundle, run it (on this
machine by default), and analyze the results::

    import workbench as wb
    s = wb.scan("demo", drive_freq=wb.linspace(0.5, 1.5, 41), damping=[0.05, 0.1, 0.2])
    bundle = wb.create(s, "scans/first")
    wb.run(bundle)
    df = wb.results(bundle)

Importing workbench is cheap and has no side effects: the names below are
loaded when first used.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

# name -> (module, attribute)
_LAZY: dict[str, tuple[str, str]] = {
    # declaring job types
    "JobType": ("jobtype", "JobType"),
    "JobContext": ("jobtype", "JobContext"),
    "Param": ("params", "Param"),
    "Cost": ("jobtype", "Cost"),
    "error": ("jobtype", "error"),
    "warning": ("jobtype", "warning"),
    "register": ("registry", "register"),
    "get_job_type": ("registry", "get_job_type"),
    "job_types": ("registry", "job_types"),
    # scans
    "Scan": ("scan", "Scan"),
    "scan": ("scan", "scan"),
    "value": ("sources", "Value"),
    "values": ("sources", "Values"),
    "linspace": ("sources", "Linspace"),
    "logspace": ("sources", "Logspace"),
    "geomspace": ("sources", "Geomspace"),
    "arange": ("sources", "Arange"),
    "expression": ("sources", "Expr"),
    "sobol": ("designs", "sobol"),
    "halton": ("designs", "halton"),
    "latin_hypercube": ("designs", "latin_hypercube"),
    "uniform": ("designs", "uniform"),
    "table": ("designs", "table"),
    "adaptive": ("designs", "adaptive"),
    "adapt": ("adapting", "adapt"),
    # bundles and runs
    "RunSettings": ("settings", "RunSettings"),
    "Bundle": ("bundle", "Bundle"),
    "create": ("bundle", "create"),
    "plan_bundle": ("bundle", "plan_bundle"),
    "open_bundle": ("bundle", "open_bundle"),
    "run": ("executors", "run"),
    "attach": ("executors", "attach"),
    "ScanState": ("state", "ScanState"),
    "results": ("results", "results"),
    "load_arrays": ("results", "load_arrays"),
    "arrays": ("results", "arrays"),
    "sel": ("select", "sel"),
    "grid": ("select", "grid"),
    "pivot": ("select", "pivot"),
    "neighbours": ("select", "neighbours"),
    "export": ("export", "export"),
    "bundle_notebook": ("notebook", "bundle_notebook"),
    # notebook front ends
    "form": ("ui.form", "form"),
    "monitor": ("monitor", "monitor"),
    "explore": ("ui.explorer", "explore"),
}

__all__ = ["__version__", *_LAZY]


class _Package(types.ModuleType):
    """The ``workbench`` module, whose functions keep their names when a same-named submodule loads.

    ``workbench.scan``, ``workbench.results`` and ``workbench.monitor`` are
    both submodules and functions.  Importing a submodule makes Python bind it
    as an attribute of the package, which would hide the function; this class
    declines that binding for the names of :data:`_LAZY` (the submodule stays
    importable by its full name: ``from workbench.scan import Scan``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def status(bundle: Any) -> Any:
    """The :class:`~workbench.state.ScanState` of a bundle, freshly read."""
    from .bundle import open_bundle
    from .state import ScanState

    st = ScanState(open_bundle(bundle))
    st.update()
    return st


__all__.append("status")
