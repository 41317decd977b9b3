"""What the monitor's buttons do to jobs, per executor: release held, resubmit failed, remove.

An *actions* object has any of the methods ``release(job_ids)``,
``resubmit(job_ids)`` and ``remove(job_ids)``; each returns a message for
people (or ``None``) and raises with a message on failure.  A button whose
method is missing is disabled.  :class:`RunFollower` serves every target
through the bundle's run handle; it also brings a remote run's results home.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ExecutorError

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..executors.handle import RunHandle

__all__ = ["Actions", "FunctionActions", "RunFollower", "as_actions", "ACTIONS"]

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


class RunFollower:
    """The monitor's link to a bundle's run, whatever its target: it finds the run, brings its results home, acts on it.

    Every refresh, the monitor calls :meth:`sync` (in its worker thread) and
    the buttons call :meth:`release`, :meth:`resubmit` and :meth:`remove`.
    The run is the bundle's latest (:func:`workbench.attach`), looked up again
    whenever a new run is recorded, so a monitor opened before the run starts,
    or in a new kernel, follows it.  A remote run's sync that fails (host
    down, connection lost) is tried again after a growing pause (2, 4, 8 ... 60
    seconds); :attr:`trouble` says so meanwhile, and nothing already synced is lost.
    Between full syncs (every :attr:`FULL_SYNC_SECONDS`, and on *Sync now*) a sync
    lists only the remote files changed since the last one, so that following a
    scan of 10^5 jobs costs what arrived, not what the bundle holds.

    Parameters
    ----------
    bundle
        The bundle.
    run
        A run handle to follow (default: the bundle's latest run, when it has one).
    """

    #: The longest pause between two attempts to reach a host that did not answer.
    MAX_RETRY_SECONDS = 60.0
    #: Between full syncs, a sync lists only the files changed since the last listing (less this
    #: margin, for a file written before the listing and renamed into place after it) ...
    SINCE_MARGIN_SECONDS = 60.0
    #: ... and every this many seconds (or on :attr:`full_next`) a full sync checks every file.
    FULL_SYNC_SECONDS = 300.0

    def __init__(self, bundle: Bundle, run: Any = None) -> None:
        self.bundle = bundle
        self._handle: RunHandle | None = run
        #: When the last sync succeeded (epoch seconds), what it brought, and what went wrong since.
        self.last_sync: float | None = None
        self.last_report: Any = None
        self.trouble = ""
        self._failures = 0
        self._retry_at = 0.0
        #: Make the next sync a full one (every remote file listed), e.g. for *Sync now*.
        self.full_next = False
        self._last_full: float | None = None
        self._remote_now: float | None = None
        self._lock = threading.Lock()

    # -- the run ------------------------------------------------------------------
    @property
    def run(self) -> RunHandle | None:
        """The run followed: the bundle's latest (``None`` before it first runs)."""
        from .. import runs
        from ..executors import get_target

        latest = runs.latest(self.bundle)
        with self._lock:
            mine = self._handle
            if latest is None or (mine is not None and _same_run(mine, latest)):
                return mine
            # A newer run was recorded (by another process, or after a restart): follow that one.
            if mine is not None:
                mine.close()
            self._handle = get_target(latest.target).attach(self.bundle, latest)
            return self._handle

    @run.setter
    def run(self, handle: RunHandle | None) -> None:
        with self._lock:
            if self._handle is not None and self._handle is not handle:
                self._handle.close()
            self._handle = handle

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()

    # -- syncing ------------------------------------------------------------------------
    @property
    def remote(self) -> bool:
        """Whether the run followed is elsewhere, so that results must be brought home."""
        handle = self.run
        return bool(handle is not None and handle.remote)

    def sync(self) -> Any:
        """Bring a remote run's events and outputs home (nothing for a run here).

        Raises
        ------
        TransportError, ExecutorError
            The host could not be reached; the message says when the next try is.
        """
        handle = self.run
        if handle is None or not handle.remote:
            return None
        now = time.time()
        if self.trouble and now < self._retry_at:
            raise ExecutorError(f"{self.trouble}; retrying in {self._retry_at - now:.0f} s")
        full = (self.full_next or self._remote_now is None or self._last_full is None
                or now - self._last_full > self.FULL_SYNC_SECONDS)  # fmt: skip
        since = None if full else self._remote_now - self.SINCE_MARGIN_SECONDS  # type: ignore[operator]
        try:
            report = handle.sync(since=since)
        except Exception as e:
            self._failures += 1
            pause = min(self.MAX_RETRY_SECONDS, 2.0**self._failures)
            self._retry_at = time.time() + pause
            self.trouble = f"Cannot reach {handle.where}: {e}"
            raise ExecutorError(f"{self.trouble}; retrying in {pause:.0f} s") from e
        self._failures, self.trouble = 0, ""
        self.last_sync, self.last_report = time.time(), report
        if full:
            self.full_next, self._last_full = False, now
        self._remote_now = getattr(report, "remote_now", None)
        return report

    def sync_text(self) -> str:
        """When the run's results last came home and how much came, for people ('' for a run here)."""
        handle = self._handle
        if handle is None or not handle.remote:
            return ""
        if self.last_sync is None:
            return f"from {handle.where}: not synced yet"
        r = self.last_report
        got = ""
        if r is not None:
            n = r.files_new + r.files_updated
            got = f", {n:,} file(s) came, {r.bytes_transferred / 1e6:.2f} MB" if n else ", nothing new"
        return f"from {handle.where}: synced {time.strftime('%H:%M:%S', time.localtime(self.last_sync))}{got}"

    # -- the buttons ---------------------------------------------------------------------
    def _need_run(self) -> RunHandle:
        handle = self.run
        if handle is None:
            raise ExecutorError(
                f"{self.bundle.path} has not been run yet: start it with wb.run(bundle, target=...) "
                f"(or `workbench run {self.bundle.path}`)."
            )
        return handle

    def release(self, job_ids: Sequence[str]) -> str:
        return self._need_run().release(list(job_ids))

    def resubmit(self, job_ids: Sequence[str]) -> str:
        if not job_ids:
            return "There are no failed jobs to resubmit."
        return self._need_run().resubmit(list(job_ids))

    def remove(self, job_ids: Sequence[str]) -> str:
        handle = self._need_run()
        if handle.done:
            raise ExecutorError(
                f"The latest run of {self.bundle.path} ({handle.target} on {handle.where}) has ended: there is "
                "nothing to remove."
            )
        return handle.remove(list(job_ids) if handle.target in ("condor", "condor-ssh") else None)


def _same_run(handle: RunHandle, latest: Any) -> bool:
    """Whether ``handle`` is the run ``latest`` (a :class:`~workbench.runs.RunRecord`) records."""
    rec = handle.record
    if rec is None:
        return True  # this kernel's own run, before it has recorded itself
    if handle.target != latest.target:
        return False
    cluster = getattr(rec, "cluster", None)
    if cluster is not None and latest.cluster is not None:
        return bool(cluster == latest.cluster)
    return bool(getattr(rec, "pid", None) == latest.pid)
