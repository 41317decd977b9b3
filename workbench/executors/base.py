"""The small protocol every executor follows (local, SSH, HTCondor)."""

from __future__ import annotations

import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self, get_args

if TYPE_CHECKING:
    from ..bundle import Bundle

__all__ = ["CtrlC", "Executor", "RunReport", "SELECTIONS", "Selection", "check_selection", "select_jobs"]

#: Which jobs of a bundle to run: those without a result, only failed/removed/interrupted ones, or all.
Selection = Literal["unfinished", "failed", "all"]
#: The names a :data:`Selection` may take.
SELECTIONS: tuple[str, ...] = get_args(Selection)


@dataclass
class RunReport:
    """What one executor run did."""

    cluster: int
    submitted: int
    completed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (job_id, last line of the error)
    seconds: float = 0.0
    interrupted: bool = False

    def __str__(self) -> str:
        if not self.submitted:
            return "Nothing to run: no job was selected."
        what = "interrupted" if self.interrupted else "finished"
        return (
            f"Run {self.cluster} {what} in {self.seconds:.1f} s: {self.completed} of {self.submitted} job(s) "
            f"completed, {len(self.failed)} failed."
        )


class CtrlC:
    """While a run owns the main thread, Ctrl-C sets a flag instead of raising.

    A ``KeyboardInterrupt`` raised at an arbitrary point can land inside
    ``concurrent.futures`` or paramiko while the main thread holds one of their
    locks; a helper thread then waits for that lock forever and the run never
    ends. The handler here only sets a flag (it takes no lock: it runs in the
    main thread, wherever that is); the loop that polls :meth:`is_set` stops
    the run at a point of its choosing and raises ``KeyboardInterrupt``
    itself. :meth:`is_set` and :meth:`wait` make it usable where a
    ``threading.Event`` stops something (a sync). Off the main thread nothing
    is installed: Ctrl-C never reaches other threads.
    """

    #: How often :meth:`wait` looks at the flag.
    POLL = 0.05

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None
        self._installed = False

    def is_set(self) -> bool:
        return self.pressed

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until Ctrl-C or ``timeout`` seconds; True once Ctrl-C was pressed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.pressed:
            left = self.POLL if deadline is None else min(self.POLL, deadline - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self.pressed

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.pressed = True

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            # None: the previous handler was not set from Python; Python's own is the closest match.
            signal.signal(signal.SIGINT, signal.default_int_handler if self._previous is None else self._previous)


def check_selection(bundle: Bundle, only: Selection | Sequence[str]) -> list[str] | None:
    """Check a selection: ``None`` for a valid name, else the given job ids (each in ``bundle``).

    Raises
    ------
    ValueError
        ``only`` is a string but not one of :data:`SELECTIONS`.
    KeyError
        Some of the job ids are not in the bundle.
    """
    if isinstance(only, str):
        if only not in SELECTIONS:
            named = ", ".join(repr(s) for s in SELECTIONS)
            raise ValueError(f"only = {only!r}; use {named} or a list of job ids.")
        return None
    ids = list(only)
    unknown = set(ids) - set(bundle.job_ids)
    if unknown:
        raise KeyError(f"Job id(s) {sorted(unknown)[:5]} are not in {bundle.path}.")
    return ids


def select_jobs(bundle: Bundle, only: Selection | Sequence[str] = "unfinished") -> list[str]:
    """The job ids to run, in bundle order."""
    ids = check_selection(bundle, only)
    if ids is not None:
        wanted = set(ids)
        return [j for j in bundle.job_ids if j in wanted]
    if only == "all":
        return list(bundle.job_ids)
    if only == "unfinished":
        done = bundle.finished_ids()
        return [j for j in bundle.job_ids if j not in done]
    # only == "failed"
    from ..state import ScanState

    st = ScanState(bundle)
    st.update()
    return st.ids("failed", "removed", "interrupted", "held")


class Executor(ABC):
    """Runs jobs of a bundle.  Implementations record events in the bundle's event log."""

    name: str = ""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the executor holds open (connections); nothing by default."""

    @abstractmethod
    def submit(self, bundle: Bundle, job_ids: Sequence[str], *, wait: bool = True) -> Any:
        """Start the given jobs; with ``wait`` block until they end and return a :class:`RunReport`."""

    def remove(self, bundle: Bundle, job_ids: Sequence[str] | None = None) -> None:  # pragma: no cover - optional
        raise NotImplementedError(f"The {self.name} executor cannot remove jobs.")
