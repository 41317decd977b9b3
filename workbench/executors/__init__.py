"""Executors run a bundle's jobs somewhere and record what happens in its event log."""

from __future__ import annotations

from .base import Executor, RunReport
from .local import LocalExecutor, LocalRun

__all__ = ["Executor", "RunReport", "LocalExecutor", "LocalRun"]
