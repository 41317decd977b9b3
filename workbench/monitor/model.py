"""The monitor's model: progress, throughput, ETA, problem jobs and per-point data, kept up to date incrementally.

Nothing here imports ipywidgets or matplotlib.  A refresh has two steps so that
the slow one can run off the kernel's event loop:

* :meth:`MonitorModel.collect` does the I/O: it asks the
  :class:`~workbench.state.ScanState` for the jobs that changed and reads the
  result files and stderr tails of those jobs only.  It returns a
  :class:`Delta`, plain data.
* :meth:`MonitorModel.apply` folds a :class:`Delta` into numpy arrays indexed by
  job index (state, runtime, one column per scalar output, problem marks) and
  keeps counts, finish times and the problem table up to date.  Its cost is
  proportional to the size of the delta, not to the size of the scan.

The scan's grid (which job index sits at which coordinates) is derived once
from ``points.csv`` by :func:`grid_from_points`, so a bundle whose job type is
not importable here still gets its panels.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from .._format import format_duration
from .._jsonfile import iso_epoch

if TYPE_CHECKING:
    import pandas as pd

    from ..bundle import Bundle
    from ..state import ScanState

__all__ = [
    "ACTIVE",
    "REMOVABLE",
    "TERMINAL",
    "MARKS",
    "Change",
    "Delta",
    "Grid",
    "GridDim",
    "JobSnapshot",
    "LoadedResult",
    "MonitorModel",
    "Problem",
    "Progress",
    "format_duration",
    "grid_from_points",
    "take_slice",
    "throughput",
]

#: States in which a job will not change by itself any more; they count as done for the progress bar.
TERMINAL = ("completed", "failed", "removed")
#: States of jobs that are queued or running; the ETA is for these.
ACTIVE = ("idle", "running", "suspended")
#: States of jobs an executor can still remove (in its queue, or running).
REMOVABLE = ("idle", "running", "suspended", "held")

#: Codes of the per-point marks panels draw over the data (0: nothing to mark).
MARKS = {"failed": 1, "held": 2, "interrupted": 3, "removed": 4, "bad output": 5}

#: Edges of the runtime histogram: 10 bins per decade from 1 ms to 11.6 days, so it is filled incrementally.
RUNTIME_EDGES = 10.0 ** np.arange(-3.0, 6.0001, 0.1)

_RATE_WINDOW = 50  # finishes the throughput is measured over
_KEEP_FINISHES = 4 * _RATE_WINDOW  # finish times kept (the latest ones)


# ---------------------------------------------------------------------------
# Plain data
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class JobSnapshot:
    """A copy of the fields of one :class:`~workbench.state.JobRecord` the monitor shows."""

    job_id: str
    state: str
    exit_code: int | None = None
    hold_reason: str = ""
    hold_code: int | None = None
    reason: str = ""
    evictions: int = 0
    starts: int = 0
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None

    @classmethod
    def of(cls, rec: Any) -> JobSnapshot:
        """Snapshot a job record (fields the record lacks take their defaults)."""
        get = rec.__dict__.get if hasattr(rec, "__dict__") else lambda k, d=None: getattr(rec, k, d)
        return cls(
            job_id=rec.job_id,
            state=str(rec.state),
            exit_code=get("exit_code"),
            hold_reason=get("hold_reason", "") or "",
            hold_code=get("hold_code"),
            reason=get("reason", "") or "",
            evictions=int(get("evictions", 0) or 0),
            starts=int(get("starts", 0) or 0),
            submitted=get("submitted"),
            started=get("started"),
            finished=get("finished"),
        )


@dataclass(frozen=True)
class LoadedResult:
    """What the monitor keeps of one result file."""

    job_id: str
    scalars: Mapping[str, Any]
    runtime: float = math.nan
    finished: float | None = None  # epoch seconds
    error: str = ""  # the OutputError message when the file is unreadable


@dataclass
class Delta:
    """Everything :meth:`MonitorModel.collect` found new, as plain data."""

    jobs: list[JobSnapshot] = field(default_factory=list)
    results: list[LoadedResult] = field(default_factory=list)
    stderr: dict[str, str] = field(default_factory=dict)  # last lines, for jobs that became problems
    time: float = 0.0  # epoch seconds when the collection ended
    seconds: float = 0.0  # how long it took
    sync_error: str = ""
    backlog: int = 0  # completed jobs whose results are still to be read
    new_jobs: list[str] = field(default_factory=list)  # jobs the bundle gained (it grows in an adaptive scan)


@dataclass(frozen=True)
class Change:
    """What one :meth:`MonitorModel.apply` changed."""

    indices: np.ndarray  # job indices whose state, data or marks changed
    results: int = 0  # result files read
    problems: bool = False  # the problem table changed
    new_outputs: tuple[str, ...] = ()  # scalar outputs seen for the first time
    backlog: int = 0

    @property
    def empty(self) -> bool:
        return self.indices.size == 0 and not self.problems and not self.new_outputs


@dataclass(frozen=True)
class Problem:
    """One row of the problem table."""

    job_id: str
    index: int
    kind: str  # "held", "failed", "interrupted", "evicted" or "bad output"
    code: int | None  # hold code, exit code or number of evictions
    message: str  # hold reason, last lines of stderr, abort reason, ...
    evictions: int = 0

    def label(self, width: int = 100) -> str:
        """One line for the table: kind, index, id, code and the last line of the message."""
        code = "" if self.code is None else str(self.code)
        last = next((ln.strip() for ln in reversed(self.message.splitlines()) if ln.strip()), "")
        text = f"{self.kind:<11} #{self.index:<6} {self.job_id}  {code:>4}  {last}"
        return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Progress:
    """Counts, progress, throughput and ETA at one moment."""

    total: int
    counts: Mapping[str, int]
    done: int  # jobs in a terminal state
    active: int  # idle + running
    rate: float | None  # jobs finished per second, recently; None when unknown
    eta: float | None  # seconds until the active jobs are done at that rate
    updated: float | None  # epoch seconds of the last refresh

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def summary(self) -> str:
        """E.g. ``"57 of 123 done (46 %), 3 failed · 4.1 jobs/s · ETA 16 s"``."""
        failed = self.counts.get("failed", 0)
        text = f"{self.done:,} of {self.total:,} done ({100 * self.fraction:.0f} %)"
        if failed:
            text += f", {failed:,} failed"
        if self.rate is not None:
            text += f" · {format_rate(self.rate)}"
        if self.active:
            text += f" · ETA {format_duration(self.eta) if self.eta is not None else 'estimating…'}"
        return text


def format_rate(rate: float) -> str:
    """Jobs per second, minute or hour, whichever reads best."""
    if rate >= 1.0:
        return f"{rate:.3g} jobs/s"
    if rate * 60 >= 1.0:
        return f"{rate * 60:.3g} jobs/min"
    return f"{rate * 3600:.3g} jobs/h"


def throughput(times: Sequence[float], start: float | None, now: float, window: int = _RATE_WINDOW) -> float | None:
    """Recent jobs per second from sorted finish times.

    Only finishes after ``start`` (the latest submission) count.  The rate is
    measured over the last ``window`` of them, up to ``now``, so it falls when
    nothing finishes for a while.  ``None`` when nothing finished since ``start``.
    """
    lo = bisect.bisect_right(times, start) if start is not None else 0
    n = len(times) - lo
    if n <= 0:
        return None
    k = min(n, window)
    if n > k:
        ref = times[len(times) - k - 1]
    elif start is not None:
        ref = start
    else:
        ref = times[lo]
        k -= 1  # the first finish marks the start of the measurement
        if k <= 0:
            return None
    return k / max(now - ref, 1e-3)


# ---------------------------------------------------------------------------
# The grid of a scan
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GridDim:
    """One dimension of the scan grid: one parameter, or a zip group (shown by its first parameter)."""

    names: tuple[str, ...]
    values: tuple[Any, ...]  # values of names[0], in index order

    def __len__(self) -> int:
        return len(self.values)

    @property
    def label(self) -> str:
        return self.names[0] if len(self.names) == 1 else "(" + ", ".join(self.names) + ")"

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in self.values)


@dataclass(frozen=True)
class Grid:
    """Where each job index sits: C order over ``dims`` (the first varies slowest), as scans expand."""

    dims: tuple[GridDim, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(d) for d in self.dims)

    @property
    def ndim(self) -> int:
        return len(self.dims)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def grid_from_points(points: pd.DataFrame, params: Sequence[str] | None = None) -> Grid | None:
    """The grid of a scan from its points table, or ``None`` when the points are not a full grid.

    Columns with one value are fixed; columns whose codes coincide are a zip
    group.  The result is checked against the index order: every index must
    sit where C order over the dimensions puts it.
    """
    import pandas as pd

    n = len(points)
    if params is None:
        params = [c for c in points.columns if c not in ("index", "job_id")]
    dims: list[GridDim] = []
    codes_of: list[np.ndarray] = []
    for name in params:
        codes, uniques = pd.factorize(points[name], sort=False, use_na_sentinel=False)
        if len(uniques) <= 1:
            continue
        for k, known in enumerate(codes_of):
            if np.array_equal(known, codes):
                d = dims[k]
                dims[k] = GridDim((*d.names, name), d.values)
                break
        else:
            codes_of.append(codes)
            dims.append(GridDim((name,), tuple(v.item() if isinstance(v, np.generic) else v for v in uniques)))
    grid = Grid(tuple(dims))
    if grid.size != n:
        return None
    if dims:
        expected = np.unravel_index(np.arange(n), grid.shape)
        if not all(np.array_equal(c, e) for c, e in zip(codes_of, expected)):
            return None
    return grid


def take_slice(values: np.ndarray, shape: Sequence[int], x: int, y: int, fixed: Mapping[int, int]) -> np.ndarray:
    """The 2-D slice ``[y, x]`` of per-index ``values`` seen as an array of ``shape``, other dimensions at ``fixed``."""
    if x == y:
        raise ValueError(f"The x and y dimensions must differ; both are {x}.")
    a = values.reshape(tuple(shape))
    idx = tuple(slice(None) if d in (x, y) else int(fixed.get(d, 0)) for d in range(len(shape)))
    s = a[idx]  # the remaining axes are x and y, in dimension order
    return s.T if x < y else s


# ---------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------
class MonitorModel:
    """The state of a scan as the monitor shows it, updated by :meth:`refresh`.

    Parameters
    ----------
    bundle
        The bundle to watch.
    state
        A :class:`~workbench.state.ScanState` to share (default: a new one).
    sync
        Called at the start of every :meth:`collect` to bring remote outputs
        and events home (e.g. an SSH sync); exceptions are reported in the
        delta, not raised.
    evictions
        A job evicted at least this many times is listed as a problem.
    stderr_lines
        Lines of stderr the problem table keeps per failed job.
    max_results
        Result files read per :meth:`collect` at most; more are left for the
        next one (``Delta.backlog``), so a first look at a large finished scan
        fills in progressively.
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        state: ScanState | None = None,
        sync: Any = None,
        evictions: int = 3,
        stderr_lines: int = 5,
        max_results: int = 5_000,
    ) -> None:
        from ..state import STATES, ScanState

        #: List every result file on the next refresh ("Sync now"), not only jobs with new events.
        self.full_next = False
        self.bundle = bundle
        self.state = state if state is not None else ScanState(bundle)
        self.sync = sync
        self.evictions_threshold = evictions
        self.stderr_lines = stderr_lines
        self.max_results = max_results
        self.job_ids: list[str] = list(bundle.job_ids)
        self.total = len(self.job_ids)
        # Bundle.index_of knows the same; the model keeps its own so that it needs only a bundle's job_ids.
        self._index: dict[str, int] = {j: i for i, j in enumerate(self.job_ids)}
        self._points: pd.DataFrame | None = None
        self._grid: Grid | None | bool = False  # False: not computed yet

        # per-index columns
        self.state_names: list[str] = list(STATES)
        self._codes: dict[str, int] = {s: i for i, s in enumerate(self.state_names)}
        self.status = np.full(self.total, self._code("unsubmitted"), dtype=np.int16)
        self.marks = np.zeros(self.total, dtype=np.int8)
        self.runtime = np.full(self.total, np.nan)
        self.outputs: dict[str, np.ndarray] = {}
        self.hist = np.zeros(len(RUNTIME_EDGES) - 1, dtype=np.int64)
        self._counts = np.zeros(len(self.state_names), dtype=np.int64)
        self._counts[self._code("unsubmitted")] = self.total
        self._terminal = np.zeros(self.total, dtype=bool)
        self._bad: dict[int, str] = {}

        self.problems: dict[str, Problem] = {}
        #: The latest finish times (epoch seconds, sorted; at most a few hundred).
        self.finish_times: list[float] = []
        self.last_submit: float | None = None
        self.updated: float | None = None
        self.last_delta_seconds = 0.0
        self.refreshes = 0

        # owned by collect(), which may run in a worker thread
        self._lock = threading.Lock()
        self._loaded: set[str] = set()
        self._backlog: list[str] = []
        self._seen_jobs = self.total  # jobs the arrays have room for (collect's side: see Delta.new_jobs)
        initial = [JobSnapshot.of(r) for r in self.state.jobs.values() if r.state != "unsubmitted"]
        self._initial = initial  # a shared, already updated state: show what it knows at the first apply
        self._backlog = [s.job_id for s in initial if s.state == "completed"]

    # -- lookups ---------------------------------------------------------------
    def _code(self, state: str) -> int:
        code = self._codes.get(state)
        if code is None:  # a state this version does not list (e.g. one a newer pool reader adds)
            code = self._codes[state] = len(self.state_names)
            self.state_names.append(state)
            self._counts = np.append(self._counts, 0)
        return code

    @property
    def points(self) -> pd.DataFrame:
        """The bundle's points (read once)."""
        if self._points is None:
            self._points = self.bundle.points()
        return self._points

    @property
    def grid(self) -> Grid | None:
        """The scan grid (see :func:`grid_from_points`), or ``None`` if the points are not one."""
        if self._grid is False:
            self._grid = grid_from_points(self.points)
        return self._grid  # type: ignore[return-value]

    def counts(self) -> dict[str, int]:
        """Jobs per state, every known state listed."""
        return {s: int(self._counts[i]) for i, s in enumerate(self.state_names)}

    def ids(self, *states: str) -> list[str]:
        """Job ids in any of ``states``, in bundle order."""
        codes = [self._codes[s] for s in states if s in self._codes]
        where = np.flatnonzero(np.isin(self.status, codes))
        return [self.job_ids[i] for i in where]

    def state_of(self, job_id: str) -> str:
        return self.state_names[int(self.status[self._index[job_id]])]

    @property
    def output_names(self) -> list[str]:
        """Numeric scalar outputs seen so far, in the order they first appeared."""
        return [k for k, v in self.outputs.items() if v.dtype.kind == "f"]

    def column(self, name: str) -> np.ndarray:
        """Per-index values of an output, or of ``"runtime"`` (NaN where unknown)."""
        if name == "runtime":
            return self.runtime
        return self.outputs[name]

    def problem_list(self) -> list[Problem]:
        """Problem jobs in bundle order."""
        return sorted(self.problems.values(), key=lambda p: p.index)

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    # -- progress ------------------------------------------------------------------
    def progress(self, now: float | None = None) -> Progress:
        """Counts, progress, throughput and ETA; ``now`` in epoch seconds (default: the clock)."""
        counts = self.counts()
        done = sum(counts.get(s, 0) for s in TERMINAL)
        active = sum(counts.get(s, 0) for s in ACTIVE)
        now = time.time() if now is None else now
        if self.finish_times:
            now = max(now, self.finish_times[-1])
        rate = throughput(self.finish_times, self.last_submit, now) if active else None
        eta = active / rate if (rate and active) else None
        return Progress(self.total, counts, done, active, rate, eta, self.updated)

    # -- collecting (I/O) --------------------------------------------------------------
    def collect(self) -> Delta:
        """Read what is new: sync (if any), state changes, new results, stderr of new problems.

        Safe to call from a worker thread; calls are serialised.
        """
        from ..errors import OutputError
        from ..results import last_error, load_result

        with self._lock:
            t0 = time.perf_counter()
            delta = Delta()
            if self.sync is not None:
                try:
                    self.sync()
                except Exception as e:  # noqa: BLE001 - shown in the panel; the next refresh tries again
                    from ..errors import WorkbenchError

                    # Our own errors read as sentences; a library's needs its type to make sense.
                    delta.sync_error = str(e) if isinstance(e, WorkbenchError) else f"{type(e).__name__}: {e}"
            full, self.full_next = self.full_next, False
            changed = self.state.update(full=full)
            jobs = self.state.jobs
            if len(jobs) > self._seen_jobs:
                delta.new_jobs = list(jobs)[self._seen_jobs :]  # appended at the end, in bundle order
                self._seen_jobs = len(jobs)
            snaps = [JobSnapshot.of(jobs[j]) for j in changed if j in jobs]
            if self._initial:
                known = {s.job_id for s in snaps}
                snaps = [s for s in self._initial if s.job_id not in known] + snaps
                self._initial = []
            delta.jobs = snaps
            for s in snaps:
                if s.state == "completed" and s.job_id not in self._loaded:
                    self._backlog.append(s.job_id)
                elif s.state in ("failed", "interrupted"):
                    text = last_error(self.bundle, s.job_id, self.stderr_lines)
                    if text:
                        delta.stderr[s.job_id] = text
            take, self._backlog = self._backlog[: self.max_results], self._backlog[self.max_results :]
            for jid in take:
                if jid in self._loaded:
                    continue
                self._loaded.add(jid)
                try:
                    rec = load_result(self.bundle, jid)
                except OutputError as e:
                    delta.results.append(LoadedResult(jid, {}, error=str(e)))
                    continue
                runtime = rec.get("runtime")
                delta.results.append(
                    LoadedResult(
                        jid,
                        rec["scalars"],
                        float(runtime) if isinstance(runtime, (int, float)) else math.nan,
                        iso_epoch(rec.get("finished")),
                    )
                )
            delta.backlog = len(self._backlog)
            delta.time = time.time()
            delta.seconds = time.perf_counter() - t0
            return delta

    # -- applying (in memory) -------------------------------------------------------------
    def apply(self, delta: Delta) -> Change:
        """Fold a :class:`Delta` into the arrays, counts and problem table; cost proportional to the delta."""
        touched: list[int] = []
        problems_changed = False
        new_outputs: list[str] = []
        finish_new: list[float] = []
        result_finish = {r.job_id: r.finished for r in delta.results}
        if delta.new_jobs:
            self._grow(delta.new_jobs)

        for s in delta.jobs:
            i = self._index.get(s.job_id)
            if i is None:
                continue
            new = self._code(s.state)
            old = int(self.status[i])
            if new != old:
                self._counts[old] -= 1
                self._counts[new] += 1
                self.status[i] = new
            terminal = s.state in ("completed", "failed")
            if terminal and not self._terminal[i]:
                t = result_finish.get(s.job_id) or s.finished or delta.time
                finish_new.append(float(t))
            self._terminal[i] = terminal
            if s.submitted is not None and (self.last_submit is None or s.submitted > self.last_submit):
                self.last_submit = float(s.submitted)
            problems_changed |= self._set_problem(i, s, delta.stderr.get(s.job_id))
            touched.append(i)

        for r in delta.results:
            i = self._index.get(r.job_id)
            if i is None:
                continue
            touched.append(i)
            if r.error:
                self._bad[i] = r.error
                self.marks[i] = MARKS["bad output"]
                self.problems[r.job_id] = Problem(r.job_id, i, "bad output", None, r.error)
                problems_changed = True
                continue
            if self._bad.pop(i, None) is not None and self.problems.pop(r.job_id, None) is not None:
                self.marks[i] = 0
                problems_changed = True
            self.runtime[i] = r.runtime
            if math.isfinite(r.runtime) and r.runtime >= 0:
                b = int(np.searchsorted(RUNTIME_EDGES, max(r.runtime, RUNTIME_EDGES[0]), side="right")) - 1
                self.hist[min(b, len(self.hist) - 1)] += 1
            for k, v in r.scalars.items():
                col = self.outputs.get(k)
                if col is None:
                    numeric = isinstance(v, (int, float)) and not isinstance(v, bool) or v is None
                    col = np.full(self.total, np.nan) if numeric else np.full(self.total, None, dtype=object)
                    self.outputs[k] = col
                    new_outputs.append(k)
                if col.dtype.kind == "f" and not (isinstance(v, (int, float)) and not isinstance(v, bool) or v is None):
                    col = self.outputs[k] = col.astype(object)  # a text in a numeric column: keep it as text
                col[i] = np.nan if v is None and col.dtype.kind == "f" else v

        if finish_new:
            # Throughput needs only the latest finishes: keep a short sorted list, so a refresh
            # costs what is new however many jobs finished before.
            times = self.finish_times
            for t in sorted(finish_new)[-_KEEP_FINISHES:]:
                bisect.insort(times, t)
            del times[: max(0, len(times) - _KEEP_FINISHES)]
        self.updated = delta.time or time.time()
        self.last_delta_seconds = delta.seconds
        self.refreshes += 1
        idx = np.unique(np.fromiter(touched, dtype=np.int64, count=len(touched))) if touched else np.empty(0, np.int64)
        return Change(idx, len(delta.results), problems_changed, tuple(new_outputs), delta.backlog)

    def _grow(self, new_ids: list[str]) -> None:
        """Room for jobs the bundle gained: their columns start empty and unsubmitted."""
        new_ids = [j for j in new_ids if j not in self._index]
        if not new_ids:
            return
        n = len(new_ids)
        for jid in new_ids:
            self._index[jid] = len(self.job_ids)
            self.job_ids.append(jid)
        self.total += n
        self.status = np.concatenate([self.status, np.full(n, self._code("unsubmitted"), dtype=self.status.dtype)])
        self.marks = np.concatenate([self.marks, np.zeros(n, dtype=self.marks.dtype)])
        self.runtime = np.concatenate([self.runtime, np.full(n, np.nan)])
        self._terminal = np.concatenate([self._terminal, np.zeros(n, dtype=bool)])
        for k, col in self.outputs.items():
            pad = np.full(n, np.nan) if col.dtype.kind == "f" else np.full(n, None, dtype=object)
            self.outputs[k] = np.concatenate([col, pad])
        self._counts[self._code("unsubmitted")] += n
        self._points, self._grid = None, False  # read again when asked

    def _set_problem(self, i: int, s: JobSnapshot, stderr: str | None) -> bool:
        """Recompute the problem row and mark of one job; True if the table changed."""
        kind: str | None = None
        code: int | None = None
        message = ""
        if s.state == "held":
            kind, code, message = "held", s.hold_code, s.hold_reason or s.reason
        elif s.state == "failed":
            kind, code, message = "failed", s.exit_code, stderr or s.reason
        elif s.state == "interrupted":
            kind, message = "interrupted", stderr or s.reason
        elif s.evictions >= self.evictions_threshold and s.state != "completed":
            kind, code, message = "evicted", s.evictions, f"evicted {s.evictions} times; now {s.state}"
        elif i in self._bad:
            kind, message = "bad output", self._bad[i]
        if kind is not None:
            self.marks[i] = MARKS.get(kind, 0)
        else:
            self.marks[i] = MARKS["removed"] if s.state == "removed" else 0
        old = self.problems.get(s.job_id)
        if kind is None:
            return self.problems.pop(s.job_id, None) is not None
        new = Problem(s.job_id, i, kind, code, message, s.evictions)
        if new == old:
            return False
        self.problems[s.job_id] = new
        return True

    def refresh(self) -> Change:
        """:meth:`collect` then :meth:`apply`."""
        return self.apply(self.collect())

    # -- whole views (cost proportional to the scan; for users and user panels) ----------------
    def frame(self) -> pd.DataFrame:
        """The results so far as :func:`workbench.results` would give them (without reading files)."""
        import pandas as pd

        from ..state import STATES

        df = self.points.copy()
        for k, col in self.outputs.items():
            df[k] = col
        names = np.array(self.state_names, dtype=object)
        status = names[self.status]
        if self._bad:
            status = status.copy()
            status[list(self._bad)] = "bad"
        df["status"] = pd.Categorical(status, categories=list(dict.fromkeys([*STATES, *self.state_names, "bad"])))
        df["runtime"] = self.runtime
        err = np.full(self.total, None, dtype=object)
        for p in self.problems.values():
            last = [ln for ln in p.message.splitlines() if ln.strip()]
            err[p.index] = last[-1].strip() if last else None
        df["error"] = err
        return df

    def job_log(self, job_id: str, *, max_bytes: int = 65_536) -> str:
        """Everything known about one job, for people: its record, event history, stderr and stdout."""
        rec = self.state.jobs.get(job_id)
        i = self._index[job_id]
        out = [f"Job {job_id} (index {i}) — {rec.state if rec else self.state_of(job_id)}"]
        try:
            pt = self.points.iloc[i]
            params = ", ".join(f"{k} = {pt[k]}" for k in self.points.columns if k not in ("index", "job_id"))
            out.append(f"Parameters: {params}")
        except Exception:  # noqa: BLE001 - the log is still useful without the point
            pass
        if rec is not None:
            facts = []
            if rec.exit_code is not None:
                facts.append(f"exit code {rec.exit_code}")
            if rec.hold_reason:
                facts.append(f"held: {rec.hold_reason} (code {rec.hold_code})")
            if rec.reason:
                facts.append(rec.reason)
            facts.append(f"{rec.starts} start(s), {rec.evictions} eviction(s)")
            out.append("; ".join(facts))
            history = getattr(rec, "history", None) or []
            if history:
                out += ["", "Events:"]
                out += [f"  {datetime.fromtimestamp(t).isoformat(sep=' ', timespec='seconds')}  {kind}" for t, kind in history]
        if i in self._bad:
            out += ["", f"Result file: {self._bad[i]}"]
        for title, path in (("stderr", self.bundle.stderr_path(job_id)), ("stdout", self.bundle.stdout_path(job_id))):
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            with open(path, "rb") as f:
                if size > max_bytes:
                    f.seek(size - max_bytes)
                text = f.read().decode("utf-8", "replace")
            cut = f" (last {max_bytes:,} of {size:,} bytes)" if size > max_bytes else ""
            out += ["", f"{title} ({path}){cut}:", text.rstrip()]
        return "\n".join(out)
