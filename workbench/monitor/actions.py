"""What the monitor's buttons do to jobs, per executor: release held, resubmit failed, remove.

An *actions* object has any of the methods ``release(job_ids)``,
``resubmit(job_ids)`` and ``remove(job_ids)``; each returns a message for
people (or ``None``) and raises with a message on failure.  A button whose
method is missing is disabled.  :class:`LocalActions` serves the embedded
executor; :func:`default_actions` picks the pool's when the bundle runs on
one and that executor is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ExecutorError

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..executors.local import LocalRun

__all__ = ["Actions", "LocalActions", "FunctionActions", "as_actions", "default_actions", "default_sync", "ACTIONS"]

#: The action names, in the order the buttons show them.
ACTIONS = ("release", "resubmit", "remove")


class Actions(Protocol):
    """Any subset of these methods."""

    def release(self, job_ids: Sequence[str]) -> str | None: ...

    def resubmit(self, job_ids: Sequence[str]) -> str | None: ...

    def remove(self, job_ids: Sequence[str]) -> str | None: ...


class FunctionActions:
    """Actions from plain callables, e.g. ``FunctionActions(release=lambda ids: ...)``."""

    def __init__(self, **functions: Callable[[Sequence[str]], Any]) -> None:
        unknown = sorted(set(functions) - set(ACTIONS))
        if unknown:
            raise ValueError(f"Unknown action(s) {unknown}; the monitor knows {list(ACTIONS)}.")
        for name, fn in functions.items():
            if fn is not None:
                setattr(self, name, fn)


def as_actions(actions: Any) -> Any:
    """Accept an actions object or a mapping of action names to callables."""
    if isinstance(actions, Mapping):
        return FunctionActions(**actions)
    return actions


class LocalActions:
    """Actions for the embedded executor, through the run handle of this kernel.

    Parameters
    ----------
    bundle
        The bundle.
    run
        The :class:`~workbench.executors.local.LocalRun` of ``run(bundle, wait=False)``,
        if this kernel started one; *Remove* stops it.
    workers
        Processes for resubmitted jobs (default: the bundle's settings).

    Notes
    -----
    Jobs of the embedded executor are never held, so there is no ``release``.
    """

    def __init__(self, bundle: Bundle, run: LocalRun | None = None, *, workers: int | None = None) -> None:
        self.bundle = bundle
        self.run = run
        self.workers = workers

    def resubmit(self, job_ids: Sequence[str]) -> str:
        """Run ``job_ids`` again in the background (``run(bundle, only=job_ids, wait=False)``)."""
        from ..executors.local import run

        if not job_ids:
            return "There are no failed jobs to resubmit."
        if self.run is not None and not self.run.done:
            raise ExecutorError(
                f"{self.bundle.path} is still being run by this kernel; wait for the run to end, "
                "or press Remove to stop it, then resubmit."
            )
        self.run = run(self.bundle, only=list(job_ids), wait=False, progress=False, workers=self.workers)  # type: ignore[assignment]
        return f"Resubmitted {len(job_ids):,} job(s) to the local executor."

    def remove(self, job_ids: Sequence[str]) -> str:
        """Stop the run of this kernel: jobs that have not finished are removed."""
        if self.run is None or self.run.done:
            raise ExecutorError(
                "No run of this bundle is going on in this kernel, so there is nothing the monitor can stop. "
                "A run started elsewhere (e.g. `workbench run` in a terminal) stops with Ctrl-C there."
            )
        self.run.stop()
        return f"Stopping the local run: {len(job_ids):,} unfinished job(s) will be removed."


def default_actions(bundle: Bundle, run: Any = None) -> Any:
    """The actions for how ``bundle`` runs: the pool's if it was submitted to one, else the local executor's.

    The pool's come from :func:`workbench.executors.condor.monitor_actions`
    (``None`` for a bundle never submitted to a pool).
    """
    try:
        from ..executors.condor import monitor_actions
    except ImportError:  # pragma: no cover - a tree without the pool executor
        monitor_actions = None
    if monitor_actions is not None and run is None:
        pool = monitor_actions(bundle)
        if pool is not None:
            return pool
    return LocalActions(bundle, run)


def default_sync(bundle: Bundle, actions: Any) -> Callable[[], Any] | None:
    """What brings a remote bundle's events and results home before each refresh, if anything.

    A pool executor that works through an SSH submit host has ``pull(bundle)``
    (:meth:`workbench.executors.condor.CondorSSHExecutor.pull`); local runs
    and pools on this machine need nothing.
    """
    pull = getattr(getattr(actions, "executor", None), "pull", None)
    if pull is None:
        return None

    def sync() -> Any:
        return pull(bundle)

    return sync
