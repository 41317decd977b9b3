"""Job states of a bundle, from its event log (read incrementally) and its outputs.

The event log is in HTCondor's user-log format whoever wrote it (the local
executor, the SSH executor, a pool), so ``htcondor2.JobEventLog`` reads them
all.  Reading resumes where the last read stopped: a refresh costs what is new.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .bundle import Bundle

__all__ = ["JobRecord", "ScanState", "STATES"]

#: Every state a job can be in, in the order tables show them.
STATES = ("unsubmitted", "idle", "running", "held", "completed", "failed", "removed", "interrupted")


@dataclass
class JobRecord:
    """What is known about one job."""

    job_id: str
    state: str = "unsubmitted"
    cluster: int | None = None
    proc: int | None = None
    exit_code: int | None = None
    hold_reason: str = ""
    hold_code: int | None = None
    reason: str = ""  # abort or exception message
    starts: int = 0
    evictions: int = 0
    checkpoints: int = 0
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None
    history: list[tuple[float, str]] = field(default_factory=list, repr=False)


class ScanState:
    """The states of every job of a bundle, kept up to date by :meth:`update`."""

    def __init__(self, bundle: Bundle) -> None:
        self.bundle = bundle
        self.jobs: dict[str, JobRecord] = {j: JobRecord(j) for j in bundle.job_ids}
        self._procs: dict[tuple[int, int], str] = {}
        self._log: Any = None
        self._log_bytes_seen = 0
        self._events_seen = 0
        self.unparsable = False  # the log has bytes but htcondor2 found no events in it
        self._finished: set[str] = set()

    # -- reading -----------------------------------------------------------
    def _read_events(self) -> set[str]:
        path = self.bundle.log_path
        if not path.exists():
            return set()
        if self._log is None:
            import htcondor2

            self._log = htcondor2.JobEventLog(str(path))
        changed: set[str] = set()
        n = 0
        for ev in self._log.events(stop_after=0):
            n += 1
            jid = self._apply(ev)
            if jid is not None:
                changed.add(jid)
        self._events_seen += n
        size = path.stat().st_size
        # JobEventLog yields nothing, silently, for a file it cannot parse.
        self.unparsable = size > 0 and self._events_seen == 0
        self._log_bytes_seen = size
        return changed

    def _apply(self, ev: Any) -> str | None:
        key = (ev.cluster, ev.proc)
        kind = ev.type.name
        if kind == "SUBMIT":
            jid = ev.get("LogNotes", "").strip()
            if jid not in self.jobs:
                return None
            self._procs[key] = jid
        jid = self._procs.get(key)
        if jid is None:
            return None
        rec = self.jobs[jid]
        t = float(ev.timestamp)
        rec.history.append((t, kind))
        if kind == "SUBMIT":
            rec.state, rec.cluster, rec.proc, rec.submitted = "idle", ev.cluster, ev.proc, t
            rec.exit_code, rec.reason, rec.hold_reason, rec.hold_code = None, "", "", None
        elif kind == "EXECUTE":
            rec.state, rec.started = "running", t
            rec.starts += 1
        elif kind == "JOB_TERMINATED":
            rec.finished = t
            if ev.get("TerminatedNormally", True):
                rec.exit_code = int(ev.get("ReturnValue", 0))
                rec.state = "completed" if rec.exit_code == 0 else "failed"
            else:
                rec.exit_code = None
                rec.reason = f"killed by signal {ev.get('TerminatedBySignal', '?')}"
                rec.state = "failed"
        elif kind == "JOB_ABORTED":
            rec.state, rec.reason, rec.finished = "removed", str(ev.get("Reason", "")), t
        elif kind == "JOB_HELD":
            rec.state = "held"
            rec.hold_reason = str(ev.get("HoldReason", ""))
            code = ev.get("HoldReasonCode")
            rec.hold_code = int(code) if code is not None else None
        elif kind == "JOB_RELEASED":
            rec.state, rec.hold_reason, rec.hold_code = "idle", "", None
        elif kind == "JOB_EVICTED":
            rec.state = "idle"
            rec.evictions += 1
            if ev.get("Checkpointed", False):
                rec.checkpoints += 1
        elif kind == "CHECKPOINTED":
            rec.checkpoints += 1
        elif kind == "SHADOW_EXCEPTION":
            rec.state, rec.reason = "idle", str(ev.get("Message", ""))
        elif kind == "EXECUTABLE_ERROR":
            rec.state, rec.reason = "failed", str(ev.get("ExecuteErrorType", "executable error"))
        return jid

    def _read_outputs(self) -> set[str]:
        found = self.bundle.finished_ids() & self.jobs.keys()
        new = found - self._finished
        self._finished |= new
        return new

    def update(self) -> set[str]:
        """Read new events and results; return the ids of jobs whose record changed."""
        changed = self._read_events() | self._read_outputs()
        for jid in self._finished:
            rec = self.jobs[jid]
            if rec.state != "completed":
                rec.state = "completed"
                rec.exit_code = 0 if rec.exit_code is None else rec.exit_code
                changed.add(jid)
        changed |= self._mark_interrupted()
        return changed

    def _mark_interrupted(self) -> set[str]:
        """Jobs left idle or running by a local executor that is no longer alive."""
        from .executors.local import dead_local_clusters

        dead = dead_local_clusters(self.bundle)
        changed = set()
        if dead:
            for rec in self.jobs.values():
                if rec.state in ("idle", "running") and rec.cluster in dead:
                    rec.state, rec.reason = "interrupted", "the local executor stopped before this job finished"
                    changed.add(rec.job_id)
        return changed

    # -- views -------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        c = Counter(r.state for r in self.jobs.values())
        return {s: c.get(s, 0) for s in STATES}

    def ids(self, *states: str) -> list[str]:
        """Job ids in any of ``states``, in bundle order."""
        want = set(states)
        return [j for j, r in self.jobs.items() if r.state in want]

    def summary(self) -> str:
        c = self.counts()
        total = len(self.jobs)
        parts = [f"{c[s]:,} {s}" for s in STATES if c[s]]
        pct = 100.0 * c["completed"] / total if total else 100.0
        return f"{c['completed']:,}/{total:,} completed ({pct:.0f} %): " + ", ".join(parts)

