"""The run handle: one face for a run of a bundle, whatever its target.

``wb.run(bundle, target=..., wait=False)`` and ``wb.attach(bundle)`` give a
:class:`RunHandle`; the CLI, the form and the monitor use nothing else.  Each
target (:mod:`~workbench.executors.local`, :mod:`~workbench.executors.ssh`,
:mod:`~workbench.executors.condor`) implements the abstract methods; the rest
is shared here.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ExecutorError
from .base import RunReport

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..state import ScanState
    from ..transport.sync import SyncReport

__all__ = ["RunHandle", "report_from_state"]


class RunHandle(ABC):
    """A run of a bundle: watch it, bring its results home, act on its jobs.

    Methods that act on jobs (:meth:`release`, :meth:`resubmit`,
    :meth:`remove`, :meth:`hold`) return a message for people and raise
    :class:`~workbench.errors.ExecutorError` with the reason and the fix when
    the target cannot do what is asked.  The handle is also what the
    monitor's buttons call.
    """

    #: The target's name (``"local"``, ``"ssh"``, ``"condor"``, ``"condor-ssh"``).
    target: str = ""
    #: Whether results must be brought home (:meth:`sync`) before the local bundle shows them.
    remote: bool = False

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self._state: ScanState | None = None

    # -- identity ---------------------------------------------------------------
    #: The run's record: its target's own type, with at least ``cluster``, ``host``, ``started``,
    #: ``ended`` and ``running`` (``None`` until the run has recorded itself).
    record: Any = None

    @property
    def cluster(self) -> int | None:
        rec = self.record
        return rec.cluster if rec is not None else None

    @property
    def where(self) -> str:
        """Where the run goes, for people (``this machine``, ``bigbox:~/workbench/scan``)."""
        rec = self.record
        if rec is None:
            return self.target
        return f"{rec.host}:{rec.remote_dir}" if getattr(rec, "remote_dir", "") else str(rec.host)

    def __repr__(self) -> str:
        state = "done" if self.done else "running"
        return f"<{type(self).__name__} {self.target} run {self.cluster} of {self.bundle.path} on {self.where}: {state}>"

    def __enter__(self) -> RunHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the handle holds open (a connection); the run goes on."""

    # -- watching -------------------------------------------------------------------
    @property
    @abstractmethod
    def done(self) -> bool:
        """Whether the run is known to have ended (remote runs: as of the last :meth:`sync`)."""

    def sync(self, **options: Any) -> SyncReport | None:
        """Bring the run's events and outputs home (nothing to do for a run on this machine)."""
        return None

    def state(self) -> ScanState:
        """The local bundle's job states, updated (call :meth:`sync` first for a remote run's latest)."""
        from ..state import ScanState

        if self._state is None:
            self._state = ScanState(self.bundle)
        self._state.update()
        return self._state

    def status(self) -> str:
        """One line: the bundle's counts per state, and where the run goes."""
        return f"{self.bundle.name} ({self.target} on {self.where}): {self.state().summary()}"

    def report(self) -> RunReport:
        """What this run did so far, from the (synced) event log and outputs."""
        rec = self.record
        return report_from_state(self.bundle, self.state(), self.cluster, rec.started if rec else "",
                                 rec.ended if rec else None)  # fmt: skip

    def wait(
        self, timeout: float | None = None, *, interval: float = 2.0, progress: bool = False, stop: Any = None
    ) -> RunReport | None:
        """Sync every ``interval`` seconds until the run ends; return its report.

        Returns None after ``timeout`` seconds, or once ``stop`` (a
        ``threading.Event``, or anything with ``is_set``/``wait``) is set,
        which also ends a sync in progress.  ``progress`` shows a bar (tqdm).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = min(interval, 0.25)  # short runs end soon after they start: look quickly at first
        bar = None
        try:
            while True:
                if self.remote:
                    self.sync(stop=stop)
                if progress:
                    bar = self._show(bar)
                if self.done:
                    return self.report()
                if stop is not None and stop.is_set():
                    return None
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                nap = pause if deadline is None else max(0.0, min(pause, deadline - time.monotonic()))
                (time.sleep if stop is None else stop.wait)(nap)
                pause = min(interval, pause * 2)
        finally:
            if bar is not None:
                bar.close()

    def follow(self, *, progress: bool = True, interval: float = 2.0) -> RunReport:
        """Wait for the end in a terminal: Ctrl-C stops the run (cleanly) and raises ``KeyboardInterrupt``."""
        from .base import CtrlC

        # Ctrl-C only sets a flag while the sync runs (see CtrlC): the sync ends between files, then the
        # run is stopped over a connection no KeyboardInterrupt has cut through. A second Ctrl-C
        # (the host does not answer, say) interrupts the stop itself.
        with CtrlC() as ctrl_c:
            report = self.wait(interval=interval, progress=progress, stop=ctrl_c)
        if ctrl_c.pressed:
            self.stop()
            raise KeyboardInterrupt
        assert report is not None
        return report

    def _show(self, bar: Any) -> Any:
        """Draw (or make) the progress bar of this run's jobs."""
        from tqdm.auto import tqdm

        c = self.cluster
        mine = [r.state for r in self.state().jobs.values() if c is not None and r.cluster == c]
        done = sum(s in ("completed", "failed", "removed", "interrupted") for s in mine)
        failed = sum(s == "failed" for s in mine)
        if bar is None:
            bar = tqdm(total=len(mine) or None, desc=f"{self.bundle.name} on {self.where}", unit="job")
        if mine and bar.total != len(mine):
            bar.total = len(mine)
        bar.n = done
        if failed:
            bar.set_postfix(failed=failed, refresh=False)
        bar.refresh()
        return bar

    # -- acting -------------------------------------------------------------------------
    @abstractmethod
    def stop(self) -> str:
        """Stop the run: unfinished jobs are removed, finished ones kept (running again resumes)."""

    @abstractmethod
    def resubmit(self, job_ids: Sequence[str] | None = None) -> str:
        """Run ``job_ids`` (default: the failed, held, removed and interrupted jobs) again, on the same target."""

    def remove(self, job_ids: Sequence[str] | None = None) -> str:
        """Remove jobs that have not finished (default: all of them); whole runs only, unless the target queues jobs."""
        if job_ids is not None and self.done:
            return "Nothing to remove: the run has ended."
        return self.stop()

    def release(self, job_ids: Sequence[str] | None = None) -> str:
        """Release held jobs (only a pool holds jobs)."""
        return f"Nothing to release: jobs of the {self.target} target are never held."

    def hold(self, job_ids: Sequence[str] | None = None, *, reason: str | None = None) -> str:
        """Hold queued jobs (only a pool can)."""
        raise ExecutorError(
            f"The {self.target} target cannot hold jobs; stop the run instead (workbench stop, or handle.stop())."
        )

    # -- helpers for targets ------------------------------------------------------------
    def _rerun_ids(self, job_ids: Sequence[str] | None) -> list[str]:
        if job_ids is not None:
            return list(job_ids)
        return self.state().ids("failed", "held", "removed", "interrupted")


def report_from_state(bundle: Bundle, state: ScanState, cluster: int | None, started: str, ended: str | None) -> RunReport:
    """A :class:`RunReport` of cluster ``cluster`` from the bundle's job states."""
    from .._jsonfile import iso_epoch
    from ..results import last_error

    report = RunReport(cluster=cluster if cluster is not None else 0, submitted=0)
    if cluster is not None:
        for r in state.jobs.values():
            if r.cluster != cluster:
                continue
            report.submitted += 1
            if r.state == "completed":
                report.completed += 1
            elif r.state == "failed":
                report.failed.append((r.job_id, last_error(bundle, r.job_id, 1) or f"exit code {r.exit_code}"))
            elif r.state in ("removed", "interrupted"):
                report.interrupted = True
    start = iso_epoch(started)
    end = iso_epoch(ended) if ended else time.time()
    report.seconds = max(0.0, end - start) if start is not None and end is not None else 0.0
    return report
