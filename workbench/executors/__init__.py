"""Executors run a bundle's jobs somewhere and record what happens in its event log.

``local`` (the embedded default), ``ssh`` (a remote host without a scheduler)
and ``condor`` (an HTCondor pool, through a local schedd or ``condor_submit``
on a submit host over SSH) share the small :class:`Executor` protocol.
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Executor, RunReport
from .local import LocalExecutor, LocalRun

# The remote executors load paramiko / htcondor2 when used, not on import.
_LAZY = {
    "SSHExecutor": "ssh",
    "SSHRun": "ssh",
    "CondorExecutor": "condor",
    "CondorSSHExecutor": "condor",
}

__all__ = ["Executor", "RunReport", "LocalExecutor", "LocalRun", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
