"""The embedded executor: a process pool on this machine (the default)."""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _names, runs
from .._format import describe_signal
from ..eventlog import EventWriter
from ..errors import ExecutorError
from ..job import JobOutcome, Runner, run_job
from .base import CtrlC, Executor, RunReport, Selection, select_jobs
from .handle import RunHandle

if TYPE_CHECKING:
    from ..bundle import Bundle

__all__ = ["LocalExecutor", "LocalRun", "attach", "run", "start"]


# ---------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------
#: Environment variables that size the thread pools of numerical libraries (read when they start).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip

# Set in each worker by _worker_init. Which process runs which job, and since when (shared memory:
# the parent reads them when a worker dies); the file its faulthandler writes to (kept open).
_running_pid: Any = None
_running_since: Any = None
_crash_file: Any = None


def _limit_threads(threads: int) -> None:
    """Give each job ``threads`` threads of BLAS and OpenMP, as HTCondor does with ``request_cpus``.

    Without it every worker's BLAS starts a thread per core, and ``workers``
    jobs doing linear algebra at once run several times slower than they
    should.  A limit the user set in the environment (``OMP_NUM_THREADS``
    and the like) is kept.
    """
    if any(os.environ.get(v) for v in THREAD_VARIABLES):
        return
    for v in THREAD_VARIABLES:  # libraries the job loads later, and its subprocesses
        os.environ[v] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # libraries already loaded (numpy's BLAS); it lasts until restored


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` (the run's process) dies, even by ``kill -9``.

    Orphaned workers would go on taking queued jobs while a new run runs
    the same ones. On Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``)
    when the thread that forked this process ends: the thread that runs the
    pool, which outlives it. Elsewhere a watchdog thread looks every second.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG = 1
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, name="workbench-parent-watchdog", daemon=True).start()
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def _worker_init(pids: Any, since: Any, crash_dir: str, threads: int, parent: int) -> None:
    global _running_pid, _running_since, _crash_file
    _die_with(parent)
    # Ctrl-C goes to the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _running_pid, _running_since = pids, since
    _limit_threads(threads)
    # A crash in compiled code (SIGSEGV, SIGBUS, SIGABRT, ...) leaves the job's Python stack here;
    # the parent copies it into the job's log.
    _crash_file = open(Path(crash_dir) / _names.worker_crash_name(os.getpid()), "w")  # noqa: SIM115
    faulthandler.enable(file=_crash_file)


def _work(
    bundle_path: str,
    job_id: str,
    input_path: str,
    proc: int,
    cluster: int,
    checkpoint_seconds: float,
    runner: Runner,
) -> JobOutcome:
    # What the parent reads if this process dies.
    _running_since[proc] = time.time()
    _running_pid[proc] = os.getpid()
    root = Path(bundle_path)
    writer = EventWriter(root / _names.LOGS / _names.EVENT_LOG, cluster)
    writer.executing(proc)
    # What the job prints goes to its log (logs/<id>.out, .err), not into the notebook cell that started
    # the run; WORKBENCH_SHOW_JOB_OUTPUT=1 shows it where this process's output goes instead.
    show = os.environ.get("WORKBENCH_SHOW_JOB_OUTPUT", "").strip().lower() not in ("", "0", "no", "false")
    outcome = run_job(
        input_path,
        root / _names.OUTPUTS,
        checkpoint_dir=root / _names.CHECKPOINTS,
        checkpoint_seconds=checkpoint_seconds,
        stderr_path=root / _names.LOGS / _names.stderr_name(job_id),
        runner=runner,
        stdout_path=None if show else root / _names.LOGS / _names.stdout_name(job_id),
    )
    writer.terminated(proc, outcome.exit_code, outcome.seconds)
    return outcome


def _pool_context() -> multiprocessing.context.BaseContext:
    # fork lets workers use job types declared in a notebook (they are not
    # importable by name); elsewhere fall back to the platform default.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # Not fut.cancel(): Python 3.11's pool thread then fails on the cancelled
    # futures when it sees the workers die; it marks the others broken itself.
    for p in list(pool._processes.values()):  # noqa: SLF001 - no public way to stop running jobs
        p.terminate()


# ---------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------
class LocalRun(RunHandle):
    """A run of the embedded executor on this machine.

    Either started by this process in a background thread (``wb.run(bundle,
    wait=False)``), or attached to a run another process records (``wb.attach``
    after a kernel restart, or for ``workbench run`` in a terminal): then
    :meth:`stop` sends that process SIGINT, which stops its run cleanly.
    """

    target = "local"

    def __init__(
        self,
        bundle: Bundle,
        target: Callable[[threading.Event], RunReport] | None = None,
        *,
        record: runs.RunRecord | None = None,
        workers: int | None = None,
    ) -> None:
        super().__init__(bundle)
        self._stop = threading.Event()
        self._final: RunReport | None = None
        self.error: BaseException | None = None
        self._record = record
        self.workers = workers
        self._thread: threading.Thread | None = None
        self._before: set[int | None] = set()
        if target is not None:
            self._start(target)

    def _start(self, target: Callable[[threading.Event], RunReport]) -> None:
        self._stop = threading.Event()
        self._final, self.error, self._record = None, None, None
        # The runs recorded before this one: its record is the first new one of this process.
        self._before = {r.cluster for r in runs.all_runs(self.bundle) if r.target == "local"}

        def main() -> None:
            try:
                self._final = target(self._stop)
            except BaseException as e:  # noqa: BLE001 - kept for wait() to re-raise in the caller's thread
                self.error = e

        self._thread = threading.Thread(target=main, name="workbench-local-executor", daemon=True)
        self._thread.start()

    @property
    def record(self) -> runs.RunRecord | None:
        recs = [r for r in runs.all_runs(self.bundle) if r.target == "local"]
        if self._thread is not None:  # this process's run: the one it recorded since it started
            mine = [r for r in recs if r.pid == os.getpid() and r.cluster not in self._before]
            return mine[0] if mine else None
        if self._record is not None:  # the attached run, as it stands now
            same = [r for r in recs if r.cluster == self._record.cluster]
            self._record = same[-1] if same else self._record
        return self._record

    @property
    def where(self) -> str:
        rec = self.record
        return "this machine" if rec is None or rec.host == socket.gethostname() else rec.host

    @property
    def done(self) -> bool:
        if self._thread is not None:
            return not self._thread.is_alive()
        rec = self.record
        return rec is None or str(rec.cluster) not in {c for c, _ in runs.live_local_runs(self.bundle)}

    def stop(self) -> str:
        """Stop the run: jobs not started are removed; running jobs finish (a run of this process),
        or are killed and recorded as removed (a run of another process, sent SIGINT)."""
        if self._thread is not None:
            if self.done:
                return "Nothing to stop: the run has ended."
            self._stop.set()
            return "Stopping the local run: jobs that have not started will be removed."
        rec = self.record
        if rec is None or self.done:
            return "Nothing to stop: no run of this bundle is going on."
        if rec.host != socket.gethostname() or rec.pid is None:
            raise ExecutorError(
                f"Run {rec.cluster} of {self.bundle.path} runs on {rec.host}, not here: stop it there "
                f"(kill -INT {rec.pid})."
            )
        os.kill(rec.pid, signal.SIGINT)
        return f"Asked process {rec.pid} to stop run {rec.cluster}: unfinished jobs will be removed."

    def wait(self, timeout: float | None = None, *, interval: float = 0.5, stop: Any = None) -> RunReport | None:
        """Wait for the run to end; its report (``None`` after ``timeout``)."""
        if self._thread is None:
            return super().wait(timeout, interval=interval, stop=stop)
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self._final if self.done else None

    def report(self) -> RunReport:
        if self._final is not None:
            return self._final
        return super().report()

    def resubmit(self, job_ids: Sequence[str] | None = None) -> str:
        """Run ``job_ids`` (default: failed, removed, interrupted) again, in the background of this process."""
        if not self.done:
            raise ExecutorError(
                f"{self.bundle.path} is still being run; wait for the run to end, or stop it (Remove), then resubmit."
            )
        ids = self._rerun_ids(job_ids)
        if not ids:
            return "There are no failed jobs to resubmit."
        ex = _executor_for(self.bundle, self.workers, progress=False)
        ids = select_jobs(self.bundle, ids)
        self._start(lambda stop: ex._run(self.bundle, ids, stop))
        return f"Resubmitted {len(ids):,} job(s) to the local executor."


class LocalExecutor(Executor):
    """Runs jobs in a process pool on this machine.

    Parameters
    ----------
    workers
        Number of processes (default: every core this process may use).
    progress
        Show a progress bar (tqdm; a widget in notebooks).

    Each job gets the bundle's ``request_cpus`` threads of BLAS and OpenMP,
    as on an HTCondor pool (unless ``OMP_NUM_THREADS`` or a similar variable
    is set), so that jobs running side by side do not oversubscribe the cores.
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, progress: bool = True) -> None:
        self.workers = workers or _usable_cores()
        self.progress = progress

    def submit(self, bundle: Bundle, job_ids: Sequence[str], *, wait: bool = True) -> RunReport | LocalRun:
        job_ids = list(job_ids)
        if wait:
            return self._run(bundle, job_ids, threading.Event())
        return LocalRun(bundle, lambda stop: self._run(bundle, job_ids, stop), workers=self.workers)

    def _run(self, bundle: Bundle, job_ids: list[str], stop: threading.Event) -> RunReport:
        if not job_ids:  # nothing to do: no run is recorded
            return RunReport(cluster=0, submitted=0)
        with CtrlC() as ctrl_c:
            report = self._run_pool(bundle, job_ids, stop, ctrl_c)
        if ctrl_c.pressed:
            raise KeyboardInterrupt
        return report

    def _run_pool(self, bundle: Bundle, job_ids: list[str], stop: threading.Event, ctrl_c: CtrlC) -> RunReport:
        t0 = time.perf_counter()
        runner = _job_runner(bundle)  # before anything is recorded: an unknown job type runs nothing
        cluster = runs.begin_local(bundle)
        report = RunReport(cluster=cluster, submitted=len(job_ids))
        writer = EventWriter(bundle.log_path, cluster)
        (bundle.path / _names.CHECKPOINTS).mkdir(exist_ok=True)
        bar = None
        try:
            # The proc number is the job's index in the bundle, as on a first pool submission.
            procs = {jid: bundle.index_of(jid) for jid in job_ids}
            writer.submitted((procs[j], j) for j in job_ids)
            if self.progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(job_ids), desc=bundle.name, unit="job")
            pool_run = _PoolRun(self.workers, bundle, job_ids, procs, writer, report, bar, runner)
            pool_run.run(stop, ctrl_c)
        finally:
            if bar is not None:
                bar.close()
            report.seconds = time.perf_counter() - t0
            how = "interrupted" if ctrl_c.pressed else "stopped" if report.interrupted else "finished"
            runs.end_local(bundle, cluster, how)
        return report


class _PoolRun:
    """One run of the embedded executor: its jobs through one process pool, or several.

    A job that kills its process (a crash in compiled code, the out-of-memory
    killer, ``os._exit``) breaks a ``ProcessPoolExecutor``: every job in it
    fails with ``BrokenProcessPool`` and the other workers are terminated. The
    run then finds the job whose process died (each worker notes which job it
    runs), records that job as killed, and goes on with the others in a new pool.
    """

    def __init__(
        self,
        workers: int,
        bundle: Bundle,
        job_ids: list[str],
        procs: dict[str, int],
        writer: EventWriter,
        report: RunReport,
        bar: Any,
        runner: Runner,
    ) -> None:
        self.workers = min(workers, len(job_ids))
        self.bundle, self.procs, self.writer, self.report, self.bar = bundle, procs, writer, report, bar
        self.runner = runner
        self.todo = deque(job_ids)
        self.job_ids = job_ids
        self.ended: set[str] = set()
        self.ctx = _pool_context()
        # Per job, at its proc number: the pid of the worker running it (0: not started) and since when.
        size = max(procs.values()) + 1
        self.pids = self.ctx.RawArray("i", size)
        self.since = self.ctx.RawArray("d", size)
        self.crashes: dict[int, str] = {}  # pid -> the Python stack its faulthandler wrote

    def run(self, stop: threading.Event, ctrl_c: CtrlC) -> None:
        unexplained = 0
        while self.todo and not ctrl_c.pressed:
            lost, exitcodes = self._one_pool(stop, ctrl_c)
            if lost is None or ctrl_c.pressed:
                break
            killed = self._killed(lost, exitcodes)
            if not killed:
                # No job's process died of its own: another worker did (killed from outside).
                # Try again; fail the started ones if it keeps happening, so the run always ends.
                unexplained += 1
                if unexplained >= 3:
                    killed = {j: None for j in lost if self.pids[self.procs[j]]}
            for jid, code in killed.items():
                self._record_killed(jid, code)
            if self.report.interrupted:  # stop() was asked for: the others are not run again
                continue
            for jid in reversed(lost):
                if jid not in killed:
                    self.pids[self.procs[jid]] = 0
                    self.todo.appendleft(jid)
        if ctrl_c.pressed:
            # Ctrl-C: running jobs are killed too; their checkpoints (if any) remain.
            self.report.interrupted = True
            self._abort_the_rest("interrupted")
        elif self.report.interrupted:
            self._abort_the_rest("stopped")

    def _one_pool(self, stop: threading.Event, ctrl_c: CtrlC) -> tuple[list[str] | None, dict[int, int | None]]:
        """Run jobs in a new pool until done, stopped, interrupted or broken.

        Returns the jobs lost when a worker died (``None`` if none did) and the
        exit codes of the pool's processes.
        """
        pending: dict[Future[JobOutcome], str] = {}
        broken = False
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self.ctx,
            initializer=_worker_init,
            initargs=(self.pids, self.since, str(self.bundle.path / _names.LOGS), self.bundle.settings.request_cpus,
                      os.getpid()),  # fmt: skip
        ) as pool:
            workers = pool._processes  # noqa: SLF001 - pid -> process; shutdown() drops the pool's reference
            try:
                self._fill(pool, pending)
                while pending and not ctrl_c.pressed:
                    finished, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                    broken = any(isinstance(f.exception(), BrokenProcessPool) for f in finished)
                    if broken:
                        break
                    for fut in finished:
                        self._count(pending.pop(fut), fut.result())
                    if stop.is_set() and not self.report.interrupted:
                        # stop(): jobs not yet started are cancelled, running ones finish.
                        self.report.interrupted = True
                        self.todo.clear()
                        for fut in [f for f in pending if f.cancel()]:
                            pending.pop(fut)
                    self._fill(pool, pending)
            except BrokenProcessPool:  # from submit()
                broken = True
            if ctrl_c.pressed:
                _kill_workers(pool)
        # The pool has shut down: every future it had has its result or its error by now.
        self.crashes = self._crash_reports(workers)
        if not broken or ctrl_c.pressed:
            return None, {}
        lost = []
        for fut, jid in pending.items():
            if fut.done() and fut.exception() is None:
                self._count(jid, fut.result())  # finished before the pool broke
            else:
                lost.append(jid)
        return sorted(lost, key=self.procs.__getitem__), {pid: p.exitcode for pid, p in workers.items()}

    def _fill(self, pool: ProcessPoolExecutor, pending: dict[Future[JobOutcome], str]) -> None:
        """Keep a short queue (four jobs a worker), so that stop() and Ctrl-C take effect quickly."""
        ckpt = self.bundle.settings.checkpoint_seconds
        root = str(self.bundle.path)
        while self.todo and len(pending) < 4 * self.workers:
            jid = self.todo[0]
            inp = str(self.bundle.input_path(jid))
            fut = pool.submit(_work, root, jid, inp, self.procs[jid], self.writer.cluster, ckpt, self.runner)
            pending[fut] = self.todo.popleft()  # only once submitted: a broken pool refuses the submit

    def _count(self, jid: str, outcome: JobOutcome) -> None:
        self.ended.add(jid)
        report = self.report
        if outcome.ok:
            report.completed += 1
        else:
            report.failed.append((outcome.job_id, outcome.error))
        if self.bar is not None:
            self.bar.update(1)
            if report.failed:
                self.bar.set_postfix(failed=len(report.failed), refresh=False)

    def _crash_reports(self, workers: dict[int, Any]) -> dict[int, str]:
        """What the pool's workers' faulthandlers wrote (by pid), their files removed."""
        out = {}
        for pid in workers:
            path = self.bundle.path / _names.LOGS / _names.worker_crash_name(pid)
            try:
                text = path.read_text(errors="replace").strip()
                path.unlink()
            except OSError:
                continue
            if text:
                out[pid] = text
        return out

    def _killed(self, lost: list[str], exitcodes: dict[int, int | None]) -> dict[str, int | None]:
        """Of the jobs ``lost`` with a broken pool, those whose own process died, with its exit code."""
        out = {}
        for jid in lost:
            code = exitcodes.get(self.pids[self.procs[jid]])
            # The pool terminates (SIGTERM) the other workers once one has died.
            if code is not None and code != -signal.SIGTERM:
                out[jid] = code
        return out

    def _record_killed(self, jid: str, code: int | None) -> None:
        """Record a job whose process died: its event, its log, the run's report."""
        proc = self.procs[jid]
        seconds = max(0.0, time.time() - self.since[proc]) if self.since[proc] else 0.0
        if code is not None and code < 0:
            self.writer.killed(proc, -code, seconds)
            error = f"The job's process was killed by {describe_signal(-code)} after {seconds:.1f} s."
            if code == -signal.SIGKILL:
                error += (
                    " SIGKILL usually comes from the out-of-memory killer (see `dmesg`): check how much memory "
                    "the job needs, and run fewer jobs at once (--workers)."
                )
        else:
            self.writer.terminated(proc, code if code else 1, seconds)
            error = (
                f"The job's process exited with code {code} after {seconds:.1f} s without a result "
                "(os._exit, or exit() in compiled code)."
                if code
                else "The job's worker process died without a result, more than once; it was not run again."
            )
        stack = self.crashes.get(self.pids[proc], "")
        with open(self.bundle.stderr_path(jid), "a", encoding="utf-8") as f:  # the last line: the error column
            f.write(f"[{datetime.now().isoformat(timespec='seconds')}] job {jid} died on {socket.gethostname()}\n")
            if stack:
                f.write(f"{stack}\n")
            f.write(f"{error}\n")
        self._count(jid, JobOutcome(jid, 1, seconds, error))

    def _abort_the_rest(self, why: str) -> None:
        left = [self.procs[j] for j in self.job_ids if j not in self.ended]
        self.writer.aborted(left, f"removed by workbench: the run was {why}")


def _job_runner(bundle: Bundle) -> Runner:
    """The code of the bundle's job type, found by its name here (registered, made in this process, built in
    or installed) and handed to the workers: the bundle names its job type, it never chooses the code."""
    return Runner.named(bundle.info.get("job_type"))


def _executor_for(bundle: Bundle, workers: int | None, *, progress: bool) -> LocalExecutor:
    settings = bundle.settings
    return LocalExecutor(workers or settings.workers or max(1, _usable_cores() // settings.request_cpus), progress=progress)


def run(
    bundle: Bundle,
    *,
    only: Selection | Sequence[str] = "unfinished",
    workers: int | None = None,
    progress: bool = True,
    wait: bool = True,
) -> RunReport | LocalRun:
    """Run jobs of ``bundle`` on this machine; see :class:`LocalExecutor`.

    ``workers`` defaults to the bundle's setting, else as many jobs as fit this
    machine's cores at ``request_cpus`` each.  ``wait=False`` returns a
    :class:`LocalRun` at once; the run goes on in a background thread.
    """
    return _executor_for(bundle, workers, progress=progress).submit(bundle, select_jobs(bundle, only), wait=wait)


def start(bundle: Bundle, *, only: Selection | Sequence[str] = "unfinished", workers: int | None = None,
          progress: bool = False) -> LocalRun:  # fmt: skip
    """The ``local`` target's start: :func:`run` with ``wait=False``."""
    handle = run(bundle, only=only, workers=workers, progress=progress, wait=False)
    assert isinstance(handle, LocalRun)
    return handle


def attach(bundle: Bundle, record: runs.RunRecord, **options: Any) -> LocalRun:
    """The ``local`` target's attach: a handle on a run another process records."""
    return LocalRun(bundle, record=record, workers=options.get("workers"))


def _usable_cores() -> int:
    """Cores this process may run on (a container's or ``taskset``'s share, not the whole machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
