"""Adaptive scans: a bundle that grows where the result changes fastest.

:func:`adapt` creates (or reopens) a bundle of a scan with
:func:`~workbench.adaptive` parameters and runs a loop of rounds: ask the
learners (:mod:`workbench.learners`) for as many points as there are free
slots, append them to the bundle as new jobs (:mod:`workbench.grow`), run
them, and tell the results back as they arrive.  It stops at the loss goal,
at ``max_jobs``, at a core-hour budget, or on :meth:`Adapt.stop` / Ctrl-C,
and says why in :attr:`Adapt.report`.

Nothing but the bundle is kept: resuming (``wb.adapt("scans/peak")``, in a
new kernel or on another machine) replays the bundle's points and results
into new learners.  Results are told in job index order (a result that
arrives before an earlier job's waits for it), which is also the order of the
replay, so a resumed scan asks for the points a continuing one would have.

Where the loop runs: in a notebook, as an asyncio task on the kernel's loop
(cells stay usable); elsewhere in a background thread, which
:meth:`Adapt.wait` waits for (Ctrl-C there stops the loop cleanly).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .bundle import Bundle, create, open_bundle
from .errors import BundleExistsError, ExecutorError, OutputError, ScanError
from .grow import append_points, forget_cached, read_job_ids
from .learners import AdaptiveScan, adaptive_names, check_goal
from .scan import Scan

__all__ = ["Adapt", "AdaptReport", "adapt", "INFO_KEY", "outcomes_of"]

#: The key of the adaptive loop's settings in a bundle's ``info.pkl``.
INFO_KEY = "adaptive"
#: How often the loop looks for results (seconds).
POLL = 0.02
#: Reasons a loop stops, for :attr:`AdaptReport.reason`.
REASONS = ("goal", "max_jobs", "budget", "stopped", "exhausted", "error")


@dataclass
class AdaptReport:
    """Why and where an adaptive loop stopped."""

    reason: str  # one of REASONS
    jobs: int  # jobs in the bundle
    loss: float
    goal: float | None
    max_jobs: int | None
    rounds: int
    failed: int
    seconds: float
    error: str = ""

    def __str__(self) -> str:
        why = {
            "goal": lambda: f"the loss {self.loss:.3g} reached the goal {self.goal:g}",
            "max_jobs": lambda: f"the bundle has max_jobs = {self.max_jobs} jobs (loss {self.loss:.3g})",
            "budget": lambda: f"the core-hour budget is spent (loss {self.loss:.3g})",
            "stopped": lambda: f"it was stopped (loss {self.loss:.3g}); resume with wb.adapt(path)",
            "exhausted": lambda: f"the learners have no new point to ask for (loss {self.loss:.3g})",
            "error": lambda: f"of an error: {self.error}",
        }[self.reason]()
        fails = f", {self.failed} failed" if self.failed else ""
        return f"Stopped after {self.rounds} round(s), {self.jobs:,} jobs{fails}, {self.seconds:.1f} s: {why}."


# ---------------------------------------------------------------------------
# Running a round: through the run handle of any target
# ---------------------------------------------------------------------------
def _check_target(target: str) -> None:
    """Refuse an unknown target, and the pools for now, before anything is written."""
    from .executors import get_target

    get_target(target)
    if target in ("condor", "condor-ssh"):
        raise ExecutorError(
            f"target = {target!r}: adaptive scans run on this machine (target='local') or on a remote host "
            "(target='ssh') so far; a pool's queue latency needs rounds of many points, which is not done yet."
        )


def _start(bundle: Bundle, job_ids: Sequence[str], target: str, **options: Any) -> Any:
    """Start ``job_ids`` of ``bundle`` on ``target``: a :class:`~workbench.executors.RunHandle`."""
    from .executors import run

    _check_target(target)
    return run(Bundle(bundle.path), target, only=list(job_ids), wait=False, progress=False, **options)


# ---------------------------------------------------------------------------
# Reading the bundle
# ---------------------------------------------------------------------------
def _outcome(bundle: Bundle, learners: AdaptiveScan, job_id: str) -> float | str | None:
    """A job's learned output, ``"failed"`` (it ended without a usable result), or ``None`` (no result yet)."""
    from .results import load_result

    try:
        rec = load_result(bundle, job_id)
    except OutputError:
        try:
            failed = bundle.stderr_path(job_id).stat().st_size > 0  # the job wrote its traceback there
        except OSError:
            failed = False
        return "failed" if failed else None
    y = learners.value(rec)
    return "failed" if y is None else y


def outcomes_of(bundle: Bundle, learners: AdaptiveScan) -> tuple[list[dict[str, Any]], list[str], list[float | str | None]]:
    """Every job's point, id and outcome (see :func:`_outcome`), in job index order."""
    ids = read_job_ids(bundle)
    df = bundle.points()
    df = df.iloc[: len(ids)]  # rows of an append cut short are no jobs (see workbench.grow)
    names = list(learners.param_names)
    cols = [df[n].tolist() for n in names]
    points = [dict(zip(names, row)) for row in zip(*cols)]
    done = bundle.finished_ids()
    out: list[float | str | None] = []
    for jid in ids:
        out.append(_outcome(bundle, learners, jid) if jid in done or bundle.stderr_path(jid).exists() else None)
    return points, ids, out


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------
@dataclass
class _Settings:
    goal: float | None
    max_jobs: int | None
    core_hours: float | None
    output: str | None
    target: str
    loss: str = "curvature"
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.goal, "max_jobs": self.max_jobs, "core_hours": self.core_hours, "output": self.output,
                "target": self.target, "loss": self.loss, "options": {k: v for k, v in self.options.items() if isinstance(v, (int, float, str, bool))}}


class _Loop:
    """The state of one adaptive loop; :meth:`tick` does the next piece of work without blocking."""

    def __init__(self, bundle: Bundle, learners: AdaptiveScan, settings: _Settings, workers: int) -> None:
        self.bundle = bundle
        self.learners = learners
        self.s = settings
        self.workers = workers
        self.t0 = time.monotonic()
        points, ids, outcomes = outcomes_of(bundle, learners)
        self.ids = ids
        self.where: dict[str, tuple[int, Any]] = {}
        for jid, pt in zip(ids, points):
            w = learners.locate(pt)
            if w is not None:
                self.where[jid] = w
        pending = learners.replay(points, outcomes)
        #: Jobs of the bundle to run before asking for new ones (no result yet).
        self.backlog: list[str] = [ids[k] for k in pending]
        #: Jobs of the live run, in index order, and those whose results wait for earlier ones.
        self.in_flight: list[str] = []
        self.arrived: dict[str, float | str] = {}
        self.run: Any = None
        self.rounds = 0
        self.failed = sum(1 for o in outcomes if isinstance(o, str))
        jt = learners.scan.job_type
        self._cpus = bundle.settings.request_cpus
        self._estimate = lambda p: jt.estimate(p).seconds * self._cpus / 3600.0
        self.spent = sum(self._estimate(p) for p in points) if settings.core_hours is not None else 0.0
        self.stop_requested = False
        self.report: AdaptReport | None = None
        #: (jobs done, loss) after each told result, for the monitor's panel.
        self.history: list[tuple[int, float]] = []
        self.done_count = sum(1 for o in outcomes if o is not None)
        self._done_at_start = self.done_count
        #: Seconds spent in each round's ask + append + submit, and in telling each round's results.
        self.timings: list[float] = []
        self.tell_timings: list[float] = []
        self._telling = 0.0

    # -- one step ------------------------------------------------------------
    def tick(self) -> bool:
        """Tell what arrived; when the run is over, start the next round. True once the loop has stopped."""
        if self.report is not None:
            return True
        if self.run is not None and self.run.remote:
            self.run.sync()  # a remote run's results (and its end) are known here once pulled
        if self.in_flight:
            self._collect()
        if self.run is not None and not self.run.done:
            return False
        if self.run is not None:
            run, self.run = self.run, None
            try:
                run.wait(0)
            except BaseException as e:  # noqa: BLE001 - the loop reports it and stops
                self._finish("error", f"{type(e).__name__}: {e}")
                return True
            finally:
                run.close()
            self._collect(final=True)
        if self.stop_requested:
            self._finish("stopped")
            return True
        reason = self._why_stop()
        if reason:
            self._finish(reason)
            return True
        if self.rounds:
            self.tell_timings.append(self._telling)
            self._telling = 0.0
        t = time.perf_counter()
        todo = self._next_jobs()
        if not todo:
            self._finish("exhausted")
            return True
        self.in_flight = todo
        self.run = _start(self.bundle, todo, self.s.target, **self.s.options)
        self.rounds += 1
        self.timings.append(time.perf_counter() - t)
        return False

    def _why_stop(self) -> str:
        loss = self.learners.loss()
        if self.s.goal is not None and loss <= self.s.goal and not self.backlog:
            return "goal"
        if self.s.max_jobs is not None and len(self.ids) >= self.s.max_jobs and not self.backlog:
            return "max_jobs"
        if self.s.core_hours is not None and self.spent >= self.s.core_hours and not self.backlog:
            return "budget"
        return ""

    def _next_jobs(self) -> list[str]:
        """The backlog, or as many new points as there are free slots (within max_jobs and the budget)."""
        if self.backlog:
            todo, self.backlog = self.backlog, []
            return todo
        n = self.workers
        if self.s.max_jobs is not None:
            n = min(n, self.s.max_jobs - len(self.ids))
        asked = self.learners.ask(n)
        points = [self.learners.point(i, x) for i, x in asked]
        if self.s.core_hours is not None:
            keep = []
            for w, p in zip(asked, points):
                c = self._estimate(p)
                if self.spent + c > self.s.core_hours and keep:
                    self.learners.tell_failed(w)  # asked but never run: keep it out of the learner
                    continue
                self.spent += c
                keep.append((w, p))
            asked, points = [w for w, _ in keep], [p for _, p in keep]
        rep = append_points(self.bundle, points)
        known = set(self.ids)
        todo = []
        for pid, w in zip(rep.ids, asked):
            self.where.setdefault(pid, w)
            if pid not in known:
                known.add(pid)
                self.ids.append(pid)
                todo.append(pid)
        # A point the bundle had (a learner asked twice for one value) is neither run nor asked again.
        return todo

    def _collect(self, final: bool = False) -> None:
        """Tell the results of the live run, in index order (later ones wait for earlier ones)."""
        t = time.perf_counter()
        b = self.bundle
        for jid in self.in_flight:
            if jid in self.arrived:
                continue
            if os.path.exists(b.result_path(jid)) or final:
                out = _outcome(b, self.learners, jid)
                if out is None and final:
                    out = "stopped"  # the run ended without running it (stop): run it again next time
                if out is not None:
                    self.arrived[jid] = out
        while self.in_flight and self.in_flight[0] in self.arrived:
            jid = self.in_flight.pop(0)
            out = self.arrived.pop(jid)
            w = self.where[jid]
            if out == "stopped":
                self.backlog.append(jid)
                continue
            if isinstance(out, str):
                self.failed += 1
                self.learners.tell_failed(w)
            else:
                self.learners.tell(w, out)
            self.done_count += 1
            self.history.append((self.done_count, self.learners.loss()))
        self._telling += time.perf_counter() - t

    def _finish(self, reason: str, error: str = "") -> None:
        s = self.s
        self.report = AdaptReport(
            reason=reason, jobs=len(self.ids), loss=self.learners.loss(), goal=s.goal, max_jobs=s.max_jobs,
            rounds=self.rounds, failed=self.failed, seconds=time.monotonic() - self.t0, error=error,
        )

    def progress_line(self) -> str:
        rate = (self.done_count - self._done_at_start) / max(time.monotonic() - self.t0, 1e-9)
        goal = f" (goal {self.s.goal:g})" if self.s.goal is not None else ""
        most = f"/{self.s.max_jobs}" if self.s.max_jobs is not None else ""
        return f"{self.bundle.name}: {len(self.ids):,}{most} jobs, {self.done_count:,} done, loss {self.learners.loss():.3g}{goal}, {rate:.1f} jobs/s"


class Adapt:
    """The handle of an adaptive loop (see :func:`adapt`).

    Attributes
    ----------
    bundle
        The growing bundle.
    report
        Why the loop stopped (an :class:`AdaptReport`), ``None`` while it runs.
    """

    def __init__(self, loop: _Loop, *, progress: bool, out: TextIO | None = None) -> None:
        self._loop = loop
        self.bundle = loop.bundle
        self._progress = progress
        self._out = out or sys.stderr
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._finished = threading.Event()

    def __repr__(self) -> str:
        state = str(self.report) if self.report else self._loop.progress_line()
        return f"<Adapt {self.bundle.path}: {state}>"

    @property
    def report(self) -> AdaptReport | None:
        return self._loop.report

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def loss(self) -> float:
        return self._loop.learners.loss()

    @property
    def learners(self) -> AdaptiveScan:
        """The learners (read them; the loop tells them)."""
        return self._loop.learners

    @property
    def in_flight(self) -> list[str]:
        return list(self._loop.in_flight)

    @property
    def history(self) -> list[tuple[int, float]]:
        """``(jobs done, loss)`` after each result told since the loop started."""
        return list(self._loop.history)

    @property
    def timings(self) -> list[float]:
        """Seconds each round spent asking, appending and submitting."""
        return list(self._loop.timings)

    @property
    def tell_timings(self) -> list[float]:
        """Seconds each finished round spent reading and telling its results."""
        return list(self._loop.tell_timings)

    def stop(self) -> None:
        """Stop after the running jobs (unstarted ones are cancelled and run first when resumed)."""
        self._loop.stop_requested = True
        run = self._loop.run
        if run is not None:
            run.stop()

    def wait(self, timeout: float | None = None) -> AdaptReport | None:
        """Wait for the loop to stop (Ctrl-C stops it); its report, or ``None`` on timeout."""
        if self._task is not None and self._thread is None:
            raise RuntimeError("This loop runs on the notebook's event loop; await it with `await handle.wait_async()`.")
        from .executors.base import CtrlC

        deadline = None if timeout is None else time.monotonic() + timeout
        with CtrlC() as ctrl_c:
            while not self._finished.wait(0.05):
                if ctrl_c.pressed:
                    ctrl_c.pressed = False
                    self.stop()
                if deadline is not None and time.monotonic() > deadline:
                    return None
        return self.report

    async def wait_async(self) -> AdaptReport | None:
        while not self._finished.is_set():
            await asyncio.sleep(0.05)
        return self.report

    # -- drivers ---------------------------------------------------------------
    def _show(self, final: bool = False) -> None:
        if not self._progress:
            return
        line = str(self.report) if final and self.report else self._loop.progress_line()
        self._out.write("\r" + line[:160].ljust(100) + ("\n" if final else ""))
        self._out.flush()

    def _step(self) -> bool:
        try:
            return self._loop.tick()
        except BaseException as e:  # noqa: BLE001 - stop with the reason instead of dying silently
            run = self._loop.run
            if run is not None:
                run.stop()
            self._loop._finish("error", f"{type(e).__name__}: {e}")
            return True

    def _run_thread(self) -> None:
        last = 0.0
        try:
            while not self._step():
                if time.monotonic() - last > 1.0:
                    self._show()
                    last = time.monotonic()
                time.sleep(POLL)
            self._wait_run()
            self._show(final=True)
        finally:
            self._finished.set()

    async def _run_async(self) -> None:
        try:
            while not self._step():
                await asyncio.sleep(POLL)
            while self._loop.run is not None and not self._loop.run.done:
                await asyncio.sleep(POLL)
        finally:
            self._finished.set()

    def _wait_run(self) -> None:
        run = self._loop.run
        if run is not None:
            try:
                run.wait()
            except BaseException:  # noqa: BLE001 - already reported
                pass

    def _start(self) -> Adapt:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._task = loop.create_task(self._run_async())
        else:
            self._thread = threading.Thread(target=self._run_thread, name="workbench-adapt", daemon=True)
            self._thread.start()
        return self


def _settings_of(bundle: Bundle | None, given: dict[str, Any]) -> _Settings:
    saved = dict((bundle.info.get(INFO_KEY) or {}) if bundle is not None else {})
    merged = {**saved, **{k: v for k, v in given.items() if v is not None}}
    options = {**saved.get("options", {}), **given.get("options", {})}
    return _Settings(
        goal=merged.get("goal"),
        max_jobs=merged.get("max_jobs"),
        core_hours=merged.get("core_hours"),
        output=merged.get("output"),
        target=merged.get("target") or "local",
        loss=merged.get("loss") or "curvature",
        options=options,
    )


def adapt(
    scan_or_path: Scan | Bundle | str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    goal: float | None = None,
    max_jobs: int | None = None,
    core_hours: float | None = None,
    output: str | None = None,
    target: str | None = None,
    loss: str | None = None,
    progress: bool | None = None,
    **target_options: Any,
) -> Adapt:
    """Run an adaptive scan: grow a bundle where the result changes fastest.

    Parameters
    ----------
    scan_or_path
        A scan with :func:`~workbench.adaptive` parameters (then ``path`` is
        where its bundle goes), or the path of an adaptive bundle to resume.
    path
        The bundle's folder, for a new scan.  An existing bundle of the same scan is resumed.
    goal
        Stop when the learners' loss is at most this.
    max_jobs
        Stop when the bundle has this many jobs.
    core_hours
        Stop when the jobs' estimated cost (the job type's cost model) reaches this.
    output
        The scalar output to learn (default: the job type's first declared output).
    target
        Where the jobs run (``"local"``).
    loss
        For one adaptive parameter: ``"curvature"`` (default; points go where straight lines between
        them would miss the curve most) or ``"default"`` (python-adaptive's ``Learner1D`` loss).
    progress
        Print a progress line (default: when not in a notebook).
    **target_options
        For the target, e.g. ``workers=4``.

    Returns
    -------
    Adapt
        A handle: ``.bundle``, ``.stop()``, ``.wait()``, ``.report``.  A resumed
        scan keeps the settings it was started with unless they are given again.

    Examples
    --------
    >>> s = wb.scan("demo", drive_freq=wb.adaptive(0.5, 1.5), damping=[0.01, 0.05, 0.2])  # doctest: +SKIP
    >>> a = wb.adapt(s, "scans/peak", goal=0.01, max_jobs=300)  # doctest: +SKIP
    >>> a.stop(); a = wb.adapt("scans/peak")  # doctest: +SKIP
    """
    from .executors.local import _usable_cores

    given = {"goal": goal, "max_jobs": max_jobs, "core_hours": core_hours, "output": output, "target": target,
             "loss": loss, "options": target_options}
    if isinstance(scan_or_path, Scan):
        if path is None:
            raise ScanError("adapt(scan) needs a path for the bundle, e.g. wb.adapt(scan, 'scans/peak', goal=0.01).")
        scan = scan_or_path
        existing = Path(path).expanduser()
        bundle: Bundle | None = open_bundle(existing) if (existing / "info.pkl").is_file() else None
        if bundle is not None and bundle.scan != scan:
            raise BundleExistsError(
                f"{bundle.path} holds another scan; choose another path, or resume it with wb.adapt({str(path)!r})."
            )
    else:
        if path is not None:
            raise ScanError("Give either a scan and a path, or the path of an adaptive bundle to resume.")
        bundle = open_bundle(scan_or_path)
        scan = bundle.scan
    s = _settings_of(bundle, given)
    # Everything is checked before anything is written.
    learners = AdaptiveScan(scan, s.output, s.loss)
    s.output = learners.output
    if s.core_hours is not None and not (isinstance(s.core_hours, (int, float)) and s.core_hours > 0):
        raise ScanError(f"core_hours = {s.core_hours!r} is not a positive number; give the budget, e.g. core_hours=2.")
    check_goal(s.goal, s.max_jobs, len(adaptive_names(scan)), len(learners.learners), s.loss)
    _check_target(s.target)
    if bundle is None:
        bundle = create(scan, path)  # type: ignore[arg-type]
    append_points(bundle, [], info_update={INFO_KEY: s.to_dict()})
    forget_cached(bundle)
    settings = bundle.settings
    workers = int(s.options.get("workers") or settings.workers or max(1, _usable_cores() // settings.request_cpus))
    loop = _Loop(bundle, learners, s, workers)
    if progress is None:
        try:
            asyncio.get_running_loop()
            progress = False
        except RuntimeError:
            progress = True
    return Adapt(loop, progress=progress)._start()


# ---------------------------------------------------------------------------
# The command line: `workbench adapt`
# ---------------------------------------------------------------------------
def add_command(sub: Any) -> None:
    """Add ``workbench adapt`` to the command line's subcommands."""
    p = sub.add_parser(
        "adapt",
        help="grow an adaptive scan where the result changes fastest (resumes an adaptive bundle)",
        description="workbench adapt PATH resumes an adaptive bundle; workbench adapt JOB_TYPE PATH --set x='adaptive(0, 1)' "
        "creates one (with --set and --design as for `workbench create`).",
    )
    p.add_argument("where", nargs="+", metavar="[JOB_TYPE] PATH", help="an adaptive bundle, or a job type and a new bundle's folder")
    p.add_argument("--set", "-s", action="append", metavar="NAME=VALUE", help="a value, list or adaptive(low, high)")
    p.add_argument("--zip", action="append", metavar="A,B", help="pair these axes instead of crossing them")
    p.add_argument("--design", action="append", metavar="CALL", help="a joint sampling design (see `workbench create`)")
    p.add_argument("--goal", type=float, default=None, help="stop when the loss is at most this")
    p.add_argument("--max-jobs", type=int, default=None, help="stop when the bundle has this many jobs")
    p.add_argument("--core-hours", type=float, default=None, help="stop when the jobs' estimated cost reaches this")
    p.add_argument("--output", default=None, help="the scalar output to learn (default: the job type's first)")
    p.add_argument("--loss", choices=("curvature", "default"), default=None, help="the loss of one adaptive parameter")
    p.add_argument("--workers", type=int, default=None, help="jobs at once (default: as many as fit the cores)")
    p.add_argument("--target", choices=("local", "ssh"), default=None, help="where the rounds run (default: this machine)")
    p.add_argument("--host", default=None, help="--target ssh: the remote host (as in ~/.ssh/config)")
    p.add_argument("--remote-dir", default=None, help="--target ssh: where bundles go on the host")
    p.add_argument("--python", default=None, help="--target ssh: the remote Python that has workbench")
    p.add_argument("--env", action="append", metavar="NAME=VALUE", help="--target ssh: an environment variable of the remote runs")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_adapt)


def _cmd_adapt(args: Any) -> int:
    if len(args.where) > 2:
        raise ScanError(f"workbench adapt takes PATH or JOB_TYPE PATH, not {' '.join(args.where)}.")
    options: dict[str, Any] = {"workers": args.workers} if args.workers else {}
    if args.target == "ssh":
        from .cli import _target_options

        given = _target_options(args, None, "ssh")
        options.update({k: v for k, v in given.items() if v})
    common = {"goal": args.goal, "max_jobs": args.max_jobs, "core_hours": args.core_hours, "output": args.output, "loss": args.loss,
              "progress": not args.no_progress, "target": args.target, **options}
    if len(args.where) == 2:
        from .cli import _build_scan

        args.job_type, path = args.where
        args.interactive, args.yes, args.dry = False, True, False
        handle = adapt(_build_scan(args), path, **common)
    else:
        if args.set or args.design or args.zip:
            raise ScanError("--set, --design and --zip describe a new scan: give JOB_TYPE PATH, or leave them out to resume PATH.")
        handle = adapt(args.where[0], **common)
    report = handle.wait()
    if report is not None and not handle._progress:
        print(report)
    return 1 if report is None or report.reason == "error" else 0
