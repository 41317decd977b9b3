"""Job states of a bundle, from its event log (read incrementally) and its outputs.

The event log is in HTCondor's user-log format whoever wrote it (the local
executor, the SSH executor, a pool), so one reader serves them all.  Reading
resumes where the last read stopped, between calls and across sessions: a
refresh costs what is new.

How it works
------------
* **Readers.**  Two readers produce the same events.  The default one
  (``reader="fast"``) parses the text format in Python: splitting on the
  ``...`` separators and reading the header and the few detail lines the
  state machine needs is about ten times faster than building a ClassAd per
  event, which is what ``htcondor2.JobEventLog`` does (400,000 events take it
  several seconds).  ``reader="htcondor2"`` reads with ``htcondor2.JobEventLog``
  itself; the tests check that both give the same events on a corpus of logs
  in the exact format HTCondor writes.
* **Positions.**  A reader stops after the last complete event (``...``) and
  remembers that byte offset, with a fingerprint of the bytes before it.  A
  log that was replaced by a longer copy of itself (a sync renames a fresh
  copy into place) is resumed; a log that was truncated or rewritten is read
  again from the start.
* **Across sessions.**  The states and the reader's offset are saved in the
  bundle (:data:`~workbench._names.STATE_CACHE`, numpy arrays and JSON, no
  pickles) after a big read and then at most every five minutes while events
  arrive (saving 100,000 jobs takes a good part of a second), so a new
  session reads only what was appended since.  The cache is safe to delete.
* **Damage.**  ``htcondor2.JobEventLog`` silently yields nothing for a file it
  cannot parse, and stops at the first damaged event.  Here a file with bytes
  but no events sets :attr:`ScanState.unparsable`, and every stretch that is
  not an event is skipped and described in :attr:`ScanState.problems`.
* **Which cluster counts.**  The submit event's notes carry the job id
  (``submit_event_notes``), so ``(cluster, proc)`` maps to a job whatever
  cluster it ran in.  A job's latest submission is the one that counts; events
  of its older clusters (an abort after a resubmission, say) go to its
  history only.  Pool submissions recorded in
  :data:`~workbench._names.SUBMISSIONS` mark their jobs as queued before the
  log shows them (late materialisation may take hours to reach a job), and a
  cluster removed before it materialised every job removes the rest.
"""

from __future__ import annotations

import calendar
import gc
import hashlib
import json
import os
import re
import time
from collections import Counter
from itertools import chain
from operator import attrgetter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from . import _names, runs
from ._atomic import atomic_open
from ._format import describe_signal
from ._jsonfile import iso_epoch
from .errors import EventLogError
from .submit import HOLD_EXIT_SUBCODE, read_items

#: Seconds between full listings of ``outputs/`` (between them only jobs with new events are checked).
FULL_OUTPUT_SCAN_SECONDS = 30.0

if TYPE_CHECKING:
    from .bundle import Bundle

__all__ = ["JobRecord", "ScanState", "STATES", "EVENT_NAMES", "JOB_STATUS", "read_events", "parse_events", "parse_fields"]

#: Every state a job can be in, in the order tables show them.
STATES = ("unsubmitted", "idle", "running", "suspended", "held", "completed", "failed", "removed", "interrupted")
_CODE = {s: i for i, s in enumerate(STATES)}

#: Names of the event types (``htcondor2.JobEventType``), by number.
EVENT_NAMES: dict[int, str] = dict(
    enumerate(
        "SUBMIT EXECUTE EXECUTABLE_ERROR CHECKPOINTED JOB_EVICTED JOB_TERMINATED IMAGE_SIZE SHADOW_EXCEPTION "
        "GENERIC JOB_ABORTED JOB_SUSPENDED JOB_UNSUSPENDED JOB_HELD JOB_RELEASED NODE_EXECUTE NODE_TERMINATED "
        "POST_SCRIPT_TERMINATED GLOBUS_SUBMIT GLOBUS_SUBMIT_FAILED GLOBUS_RESOURCE_UP GLOBUS_RESOURCE_DOWN "
        "REMOTE_ERROR JOB_DISCONNECTED JOB_RECONNECTED JOB_RECONNECT_FAILED GRID_RESOURCE_UP GRID_RESOURCE_DOWN "
        "GRID_SUBMIT JOB_AD_INFORMATION JOB_STATUS_UNKNOWN JOB_STATUS_KNOWN JOB_STAGE_IN JOB_STAGE_OUT "
        "ATTRIBUTE_UPDATE PRESKIP CLUSTER_SUBMIT CLUSTER_REMOVE FACTORY_PAUSED FACTORY_RESUMED NONE FILE_TRANSFER "
        "RESERVE_SPACE RELEASE_SPACE FILE_COMPLETE FILE_USED FILE_REMOVED DATAFLOW_JOB_SKIPPED COMMON_FILES".split()
    )
)

# Event numbers the state machine acts on.
SUBMIT, EXECUTE, EXECUTABLE_ERROR, CHECKPOINTED, JOB_EVICTED, JOB_TERMINATED, IMAGE_SIZE, SHADOW_EXCEPTION = range(8)
JOB_ABORTED, JOB_SUSPENDED, JOB_UNSUSPENDED, JOB_HELD, JOB_RELEASED = 9, 10, 11, 12, 13
REMOTE_ERROR, JOB_DISCONNECTED, JOB_RECONNECTED, JOB_RECONNECT_FAILED = 21, 22, 23, 24
CLUSTER_SUBMIT, CLUSTER_REMOVE, FACTORY_PAUSED, FACTORY_RESUMED, FILE_TRANSFER = 35, 36, 37, 38, 40

#: ``JobStatus`` of a job ad, as a state.
JOB_STATUS = {1: "idle", 2: "running", 3: "removed", 4: "completed", 5: "held", 6: "running", 7: "suspended"}
_QUEUED = ("idle", "running", "held", "suspended")

#: What a file-transfer event's ``Type`` says the job is doing (``htcondor2.FileTransferEventType``).
TRANSFER = {1: "queued for input transfer", 2: "transferring input", 3: "", 4: "queued for output transfer",
            5: "transferring output", 6: ""}

_CLUSTER_EVENTS = frozenset((CLUSTER_SUBMIT, CLUSTER_REMOVE, FACTORY_PAUSED, FACTORY_RESUMED))

#: A stretch of the log is damaged when it is not an event; a reader says where, at most this many times.
_MAX_PROBLEMS = 20
_READ_CHUNK = 32 << 20
_FINGERPRINT = 4096
_CACHE_VERSION = 1
# JobRecord fields in the cache, by kind (None is _NONE in integer columns and NaN in float ones).
_INT_FIELDS = ("cluster", "proc", "exit_code", "hold_code", "hold_subcode", "starts", "evictions", "checkpoints")
_FLOAT_FIELDS = ("submitted", "started", "finished", "memory_mb")
_STR_FIELDS = ("hold_reason", "reason", "host", "transfer")
_NONE = -(1 << 62)
#: Save the cache when this many events arrived since the last save, or _SAVE_SECONDS (five minutes) passed.
_SAVE_EVENTS = 100_000
_SAVE_SECONDS = 300.0


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector.

    A big read (or a save) makes millions of small objects that all stay alive; the
    collector would scan them over and over (a third of the time) and find nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class JobRecord:
    """What is known about one job.

    ``cluster``/``proc`` are those of the job's latest submission (``proc`` is
    ``None`` while a late-materialising cluster has not made the job yet).
    ``hold_code``/``hold_subcode``/``hold_reason`` describe the current hold
    (for a ``failed`` job held by workbench's ``on_exit_hold``, that hold).
    ``host`` is the execute slot of the latest start, ``memory_mb`` the latest
    memory use reported, ``transfer`` what file transfer is under way.
    ``history`` lists ``(time, event name)`` for every event of the job.
    """

    job_id: str
    state: str = "unsubmitted"
    cluster: int | None = None
    proc: int | None = None
    exit_code: int | None = None
    hold_reason: str = ""
    hold_code: int | None = None
    reason: str = ""  # abort, eviction or exception message
    starts: int = 0
    evictions: int = 0
    checkpoints: int = 0
    submitted: float | None = None
    started: float | None = None
    finished: float | None = None
    hold_subcode: int | None = None
    host: str = ""
    memory_mb: float | None = None
    transfer: str = ""
    history: list[tuple[float, str]] = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------
# The text format
# ---------------------------------------------------------------------------
# event number, cluster, proc, "date hh:mm", seconds, zone; the date is ISO (2025-03-14) or legacy (03/14).
_HEAD = re.compile(
    r"(\d{3}) \((-?\d+)\.(-?\d+)\.-?\d+\) ((?:\d{4}-\d\d-\d\d|\d\d/\d\d)[ T]\d\d:\d\d):(\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)? ?"
)
_CODE_SUB = re.compile(r"Code (-?\d+) Subcode (-?\d+)")
_MATERIALIZED = re.compile(r"Materialized (\d+) jobs from (\d+) items\.\s*(\w*)")
_EXIT_REASON = re.compile(r"exited with code (-?\d+)")
_TRANSFER_TYPES = {
    "Entered queue to transfer input files": 1,
    "Started transferring input files": 2,
    "Finished transferring input files": 3,
    "Entered queue to transfer output files": 4,
    "Started transferring output files": 5,
    "Finished transferring output files": 6,
}


class _Clock:
    """Event timestamps as epoch seconds, with the conversion of each minute cached.

    ``minutes`` maps a local ``"date hh:mm"`` (no zone) to its epoch seconds, so
    the hot loop converts most stamps with one dictionary lookup.
    """

    def __init__(self) -> None:
        self.minutes: dict[str, float] = {}
        self._zoned: dict[tuple[str, str], float] = {}
        self._year = time.localtime().tm_year

    def minute(self, minute: str, tz: str | None) -> float:
        """Epoch seconds of ``"date hh:mm"`` (local time, or in zone ``tz``)."""
        if tz is None:
            base = self.minutes.get(minute)
            if base is not None:
                return base
        else:
            base = self._zoned.get((minute, tz))
            if base is not None:
                return base
        date, hh, mm = minute[:-6], minute[-5:-3], minute[-2:]
        if date[2] == "/":
            # Legacy MM/DD stamps have no year; HTCondor assumes the current one.
            y, mo, d = self._year, int(date[:2]), int(date[3:5])
        else:
            y, mo, d = int(date[:4]), int(date[5:7]), int(date[8:10])
        tup = (y, mo, d, int(hh), int(mm), 0, 0, 0, -1)
        if tz is None:
            base = self.minutes[minute] = time.mktime(tup)
        else:
            base = float(calendar.timegm(tup))
            if tz != "Z":
                sign = -1 if tz[0] == "-" else 1
                digits = tz[1:].replace(":", "")
                base -= sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)
            self._zoned[(minute, tz)] = base
        return base

    def __call__(self, minute: str, ss: str, tz: str | None) -> float:
        return self.minute(minute, tz) + int(ss)


def _line(body: str, n: int) -> str | None:
    """Line ``n`` of an event body (0 is the rest of the header line), or ``None``."""
    start = 0
    for _ in range(n):
        start = body.find("\n", start) + 1
        if start == 0:
            return None
    end = body.find("\n", start)
    return body[start:] if end < 0 else body[start:end]


def _int_after(text: str | None, prefix: str) -> int | None:
    if text is None:
        return None
    i = text.find(prefix)
    if i < 0:
        return None
    j = i + len(prefix)
    k = j + (text[j : j + 1] == "-")
    while k < len(text) and text[k].isdigit():
        k += 1
    try:
        return int(text[j:k])
    except ValueError:
        return None


#: What a damaged event's text makes the parsers raise (besides EventLogError).
_DAMAGE = (ValueError, IndexError, TypeError, OverflowError, KeyError, AttributeError)


def parse_fields(code: int, body: str) -> dict[str, Any]:
    """The detail fields of an event, under the names ``htcondor2.JobEvent`` uses.

    Only the fields the state machine uses are read; ``body`` is the event's
    text after the header (its first line is the rest of the header line).

    Raises
    ------
    EventLogError
        The details are damaged (e.g. a number that is not one).
    """
    try:
        return _fields(code, body)
    except _DAMAGE as e:
        raise EventLogError(f"the details of a {EVENT_NAMES.get(code, code)} event are damaged ({e})") from None


def _fields(code: int, body: str) -> dict[str, Any]:
    if code == SUBMIT or code == CLUSTER_SUBMIT:
        first = _line(body, 0) or ""
        out: dict[str, Any] = {"SubmitHost": first.partition(": ")[2].strip()}
        lines = body.split("\n")[1:]
        for i, raw in enumerate(lines, 1):
            t = raw.strip()
            if t.startswith("[") or t.startswith("DAG Node: "):
                out.setdefault("LogNotes", t)
            elif t.startswith("WARNING: "):
                out["Warnings"] = t
            elif i == 1:
                out["LogNotes"] = t
            elif i == 2:
                out["UserNotes"] = t
        return out
    if code == EXECUTE:
        out = {"ExecuteHost": (_line(body, 0) or "").partition(": ")[2].strip()}
        second = _line(body, 1)
        if second is not None and second.startswith("\tSlotName:"):
            out["SlotName"] = second.partition(":")[2].strip().strip('"')
        return out
    if code == JOB_TERMINATED:
        second = _line(body, 1) or ""
        if "Normal termination" in second:
            return {"TerminatedNormally": True, "ReturnValue": _int_after(second, "(return value ")}
        return {"TerminatedNormally": False, "TerminatedBySignal": _int_after(second, "(signal ")}
    if code == JOB_HELD:
        reason = (_line(body, 1) or "").strip()
        codes = _CODE_SUB.search(_line(body, 2) or "")
        return {
            "HoldReason": "" if reason == "Reason unspecified" else reason,
            "HoldReasonCode": int(codes.group(1)) if codes else 0,
            "HoldReasonSubCode": int(codes.group(2)) if codes else 0,
        }
    if code == JOB_EVICTED:
        lines = body.split("\n")
        second = lines[1] if len(lines) > 1 else ""
        requeued = "Job terminated and was requeued" in second
        out = {"Checkpointed": second.strip().startswith("(1)"), "TerminatedAndRequeued": requeued}
        codes = _CODE_SUB.search(lines[0])
        if codes:
            out["ReasonCode"], out["ReasonSubCode"] = int(codes.group(1)), int(codes.group(2))
        # As JobEvictedEvent::readEvent: after the usage and byte lines come, for a requeued job, its
        # termination (and core file) lines, then an optional reason ("\tReason: ..." unless requeued).
        k = next((i + 1 for i, ln in enumerate(lines) if ln.endswith("Run Bytes Received By Job")), None)
        if k is None:
            k = next((i for i, ln in enumerate(lines) if ln.startswith("\tReason: ")), len(lines))
        if requeued and k < len(lines):
            term = lines[k]
            if "Normal termination (return value" in term:
                out["TerminatedNormally"], out["ReturnValue"] = True, _int_after(term, "(return value ")
                k += 1
            elif "Abnormal termination (signal" in term:
                out["TerminatedNormally"], out["TerminatedBySignal"] = False, _int_after(term, "(signal ")
                k += 2
        if k < len(lines) and lines[k].strip() and not lines[k].startswith(("\tPartitionable ", "\tResources")):
            out["Reason"] = lines[k].removeprefix("\tReason: ").strip()
        return out
    if code == IMAGE_SIZE:
        out = {"Size": _int_after(_line(body, 0), "updated: ")}
        for raw in body.split("\n")[1:]:
            if raw.endswith("MemoryUsage of job (MB)"):
                out["MemoryUsage"] = int(raw.split()[0])
            elif raw.endswith("ResidentSetSize of job (KB)"):
                out["ResidentSetSize"] = int(raw.split()[0])
        return out
    if code == JOB_ABORTED or code == JOB_RELEASED or code == FACTORY_PAUSED or code == FACTORY_RESUMED:
        reason = _line(body, 1)
        return {"Reason": reason.strip()} if reason and reason.strip() else {}
    if code == SHADOW_EXCEPTION:
        return {"Message": (_line(body, 1) or "").strip()}
    if code == EXECUTABLE_ERROR:
        return {"ExecuteErrorType": _int_after(_line(body, 0), "(")}
    if code == FILE_TRANSFER:
        out = {"Type": _TRANSFER_TYPES.get((_line(body, 0) or "").strip(), 0)}
        for raw in body.split("\n")[1:]:
            if raw.startswith("\tTransferring to host: "):
                out["Host"] = raw[23:].strip()
        return out
    if code == JOB_RECONNECT_FAILED:
        name = (_line(body, 2) or "").strip()
        return {"Reason": (_line(body, 1) or "").strip(), "StartdName": name.removeprefix("Can not reconnect to ").split(",")[0]}
    if code == JOB_DISCONNECTED:
        return {"DisconnectReason": (_line(body, 1) or "").strip()}
    if code == JOB_RECONNECTED:
        return {"StartdName": (_line(body, 0) or "").removeprefix("Job reconnected to ").strip()}
    if code == REMOTE_ERROR:
        lines = body.split("\n")
        msg = [ln.removeprefix("\t") for ln in lines[1:] if not _CODE_SUB.match(ln.strip())]
        return {"ErrorMsg": "\n".join(msg)}
    if code == CLUSTER_REMOVE:
        m = _MATERIALIZED.search(body)
        if not m:
            return {}
        word = m.group(3).lower()
        completion = {"complete": 1, "paused": 2, "error": -1}.get(word, 0)
        return {"NextProcId": int(m.group(1)), "NextRow": int(m.group(2)), "Completion": completion}
    if code == JOB_SUSPENDED:
        return {"NumberOfPIDs": _int_after(_line(body, 1), "suspended: ")}
    return {}


Event = tuple[int, int, int, float, Any]  # (type number, cluster, proc, epoch seconds, fields or body)


def parse_events(
    text: str, clock: _Clock | None = None, problems: Callable[[str], None] | None = None
) -> Iterator[tuple[int, int, int, float, str]]:
    """Events of a piece of log text made of whole events: ``(code, cluster, proc, time, body)``.

    ``text`` must start at an event and end after a ``...`` line.  Stretches
    that are not events are skipped and reported to ``problems``.
    """
    clock = clock or _Clock()
    match = _HEAD.match
    pos = 0
    for chunk in text.split("\n...\n"):
        n = len(chunk) + 5
        if chunk.startswith("...\n"):  # an empty event right after a separator
            chunk = chunk[4:]
        m = match(chunk)
        if m is None:
            if chunk.strip() and problems is not None:
                problems(_not_an_event(chunk, pos))
        else:
            g = m.groups()
            try:
                t = clock(g[3], g[4], g[5])
            except _DAMAGE as e:
                if problems is not None:
                    problems(f"the event near character {pos} has a damaged time ({e}); skipped")
            else:
                yield int(g[0]), int(g[1]), int(g[2]), t, chunk[m.end() :]
        pos += n


def _not_an_event(chunk: str, pos: int) -> str:
    return f"{len(chunk.encode())} bytes near character {pos} are not an event: {chunk[:60]!r}"


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------
class _Reader:
    """Where reading stopped in the log, and a fingerprint to tell whether the file is still the same."""

    kind = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.fingerprint = ""
        self.problems: list[str] = []
        self.events = 0
        self._clock = _Clock()

    def _fingerprint(self, f: Any, offset: int) -> str:
        start = max(0, offset - _FINGERPRINT)
        f.seek(start)
        return hashlib.sha1(f.read(offset - start)).hexdigest()

    def still_valid(self, f: BinaryIO | None = None) -> bool:
        """Whether the bytes before ``offset`` are those that were read (the file grew, or was renamed into place).

        ``f`` is the log opened for reading (else it is opened here); its position moves.
        """
        if self.offset == 0:
            return True
        if f is None:
            try:
                with open(self.path, "rb") as g:
                    return self.still_valid(g)
            except FileNotFoundError:
                return False
        size = os.fstat(f.fileno()).st_size
        return size >= self.offset and self._fingerprint(f, self.offset) == self.fingerprint

    def reset(self) -> None:
        self.offset, self.fingerprint, self.events = 0, "", 0
        self.problems = []

    def note(self, message: str) -> None:
        if message in self.problems:
            return
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(message)
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append("(more damaged stretches not listed)")

    def read(self) -> Iterator[Event]:  # pragma: no cover - abstract
        raise NotImplementedError


class _FastReader(_Reader):
    """Parses the text format directly (see the module docstring)."""

    kind = "fast"

    def read(self) -> Iterator[Event]:
        with self.opened() as f:
            if f is None:
                return
            for text, base in self.read_texts(f):
                for ev in parse_events(text, self._clock, lambda m, b=base: self.note(f"{self.path.name}, after byte {b}: {m}")):
                    self.events += 1
                    yield ev

    @contextmanager
    def opened(self) -> Iterator[BinaryIO | None]:
        """The log opened for reading, or ``None`` when there is none (yet)."""
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            yield None
            return
        with f:
            yield f

    def read_texts(self, f: BinaryIO) -> Iterator[tuple[str, int]]:
        """Pieces of whole events after the offset, decoded, with the byte offset each starts at.

        ``f`` is the log (see :meth:`opened`).  The offset moves past a piece
        when the consumer asks for the next one.
        """
        start = self.offset
        f.seek(self.offset)
        carry = b""
        while True:
            data = f.read(_READ_CHUNK)
            if not data:
                break
            buf = carry + data if carry else data
            end = buf.rfind(b"\n...\n")
            if end < 0:
                if buf.startswith(b"...\n"):
                    end = -1  # a lone separator right at the offset
                else:
                    carry = buf
                    continue
            whole, carry = buf[: end + 5], buf[end + 5 :]
            yield whole.decode("utf-8", "replace"), self.offset
            self.offset += len(whole)
        if self.offset != start:  # else the fingerprint still holds (callers check it with still_valid)
            self.fingerprint = self._fingerprint(f, self.offset)
        if carry:
            # Text after the last separator is an event still being written, or garbage: only
            # say so when it cannot be the start of an event.
            text = carry.decode("utf-8", "replace")
            if not _looks_like_start(text) or ("\n" in text and not _HEAD.match(text)):
                self.note(
                    f"{self.path.name} ends with {len(carry)} bytes that are not an event "
                    f"(after byte {self.offset}): {carry[:60]!r}"
                )


class _CondorReader(_Reader):
    """Reads with ``htcondor2.JobEventLog`` (the reference implementation)."""

    kind = "htcondor2"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._log: Any = None
        self._inode: tuple[int, int] | None = None

    def reset(self) -> None:
        super().reset()
        if self._log is not None:
            self._log.close()
        self._log = None

    def _open(self) -> Any:
        import htcondor2

        st = os.stat(self.path)
        ident = (st.st_dev, st.st_ino)
        if self._log is None or ident != self._inode:
            if self._log is not None:
                self._log.close()
            # The pickle protocol of JobEventLog is its documented way to resume at an offset.
            log = htcondor2.JobEventLog.__new__(htcondor2.JobEventLog)
            log.__setstate__(({"_deadline": 0, "_filename": str(self.path)}, self.offset))
            self._log, self._inode = log, ident
        return self._log

    def read(self) -> Iterator[Event]:
        if not self.path.exists():
            return
        log = self._open()
        minute = self._clock.minute
        events = iter(log.events(stop_after=0))
        while True:
            try:
                ev = next(events)
            except StopIteration:
                break
            except Exception as e:  # noqa: BLE001 - htcondor2 raises HTCondorException, UnicodeDecodeError, ...
                self.note(
                    f"htcondor2 stopped reading {self.path.name} at byte {int(log.__getstate__()[1])}: "
                    f"{type(e).__name__}: {str(e)[:200]}; read it with reader='fast' to skip the damage."
                )
                break
            try:
                code = int(ev["EventTypeNumber"])
                # JobEvent.timestamp parses with strptime each time; the clock caches each minute.
                stamp = str(ev["EventTime"])
                t = minute(stamp[:16], "Z" if stamp.endswith("Z") else None) + int(stamp[17:19])
            except _DAMAGE as e:
                self.note(f"{self.path.name}: an event with a damaged type or time was skipped ({e})")
                continue
            self.events += 1
            yield code, ev.cluster, ev.proc, t, ev
        self.offset = int(log.__getstate__()[1])
        with open(self.path, "rb") as f:
            self.fingerprint = self._fingerprint(f, self.offset)
            size = os.fstat(f.fileno()).st_size
            f.seek(self.offset)
            rest = f.read(1 << 16)
        if size > self.offset and (b"\n...\n" in rest or not _looks_like_start(rest.decode("utf-8", "replace"))):
            if self.events == 0:
                self.note(f"htcondor2 found no events in {self.path.name} ({size} bytes): it is not an event log.")
            else:
                self.note(
                    f"htcondor2 stopped reading {self.path.name} at byte {self.offset} of {size}: the log is "
                    "damaged there; read it with reader='fast' to skip the damage."
                )


def read_events(path: str | os.PathLike[str], *, reader: Literal["fast", "htcondor2"] = "fast") -> list[tuple[int, int, int, float, dict[str, Any]]]:
    """Every event of a log as ``(type number, cluster, proc, epoch seconds, fields)``.

    ``fields`` holds what :func:`parse_fields` reads (``reader="fast"``) or the
    whole ``htcondor2.JobEvent`` as a dict (``reader="htcondor2"``).
    """
    r: _Reader = _FastReader(Path(path)) if reader == "fast" else _CondorReader(Path(path))
    out = []
    for code, cluster, proc, t, body in r.read():
        try:
            out.append((code, cluster, proc, t, parse_fields(code, body) if reader == "fast" else dict(body)))
        except EventLogError:  # a damaged event is skipped, as ScanState skips it
            continue
    return out


# ---------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------
class ScanState:
    """The states of every job of a bundle, kept up to date by :meth:`update`.

    Parameters
    ----------
    bundle
        The bundle.
    reader
        ``"fast"`` (default) or ``"htcondor2"``; see the module docstring.
    cache
        Keep the states and the reading position in the bundle between
        sessions (:data:`~workbench._names.STATE_CACHE`).

    Attributes
    ----------
    jobs
        Job id -> :class:`JobRecord`, in bundle order.
    unparsable
        The log has bytes but no event could be read from it.
    problems
        Stretches of the log that are not events (they were skipped).
    clusters
        Cluster-level facts (late materialisation): cluster -> dict.
    """

    def __init__(self, bundle: Bundle, *, reader: Literal["fast", "htcondor2"] = "fast", cache: bool = True) -> None:
        if reader not in ("fast", "htcondor2"):
            raise ValueError(f"reader = {reader!r}; use 'fast' or 'htcondor2'.")
        self.bundle = bundle
        self.jobs: dict[str, JobRecord] = {j: JobRecord(j) for j in bundle.job_ids}
        self._items_key = self._items_stat()  # jobs.txt as read: a bundle that grows (adaptive scans) is noticed
        self._procs: dict[tuple[int, int], str] = {}
        self._rank: dict[int, int] = {}  # pool cluster -> index of its submission
        self._n_submissions = 0  # entries of the submissions file applied so far
        self._submissions_mtime: int | None = None
        self._submission_jobs: dict[int, list[str]] = {}  # pool cluster -> its job ids
        self.clusters: dict[int, dict[str, Any]] = {}
        self.unparsable = False
        self._finished: set[str] = set()
        self._outputs_mtime: int | None = None
        self._last_full_scan = 0.0
        self._dead: set[int] = set()
        self._reader: _Reader = (_FastReader if reader == "fast" else _CondorReader)(bundle.log_path)
        self._use_cache = cache
        self._started = False
        self._last_save = 0.0
        self._events_since_save = 0
        self.cache_loaded = False
        #: The latest schedd view of each job (see :meth:`apply_queue`).
        self.queue: dict[str, dict[str, Any]] = {}

    @property
    def reader(self) -> str:
        return self._reader.kind

    @property
    def problems(self) -> list[str]:
        return list(self._reader.problems)

    @property
    def events_read(self) -> int:
        """Events read from the log so far (in this session and, with the cache, before)."""
        return self._reader.events

    # -- reading -----------------------------------------------------------
    def _reset(self) -> None:
        for jid in self.jobs:
            self.jobs[jid] = JobRecord(jid)
        self._procs.clear()
        self.clusters.clear()
        self._reader.reset()
        self._n_submissions, self._submissions_mtime, self._rank, self._submission_jobs = 0, None, {}, {}
        self._finished, self._outputs_mtime, self._dead = set(), None, set()

    def _restart(self) -> set[str]:
        """Forget everything read: the log was truncated or rewritten and is read again from its start."""
        self._reset()
        changed = set(self.jobs)
        self._read_submissions(changed)
        return changed

    def _read_events(self) -> set[str]:
        r = self._reader
        n = 0
        if isinstance(r, _FastReader):
            # One open serves the check that the log is the one read so far and the read.
            with r.opened() as f:
                changed = set() if r.still_valid(f) else self._restart()
                if f is not None:
                    for text, base in r.read_texts(f):
                        n += self._apply_text(text, changed, lambda m, b=base: r.note(f"{r.path.name}, after byte {b}: {m}"))
            r.events += n
        else:
            changed = set() if r.still_valid() else self._restart()
            for code, cluster, proc, t, ev in r.read():
                n += 1
                try:
                    jid = self._apply(code, cluster, proc, t, ev)
                except _DAMAGE as e:
                    r.note(f"{r.path.name}: a damaged {EVENT_NAMES.get(code, code)} event of job {cluster}.{proc} was skipped ({e})")
                    continue
                if jid is not None:
                    if type(jid) is list:
                        changed.update(jid)
                    else:
                        changed.add(jid)
        self._events_since_save += n
        # JobEventLog yields nothing, silently, for a file it cannot parse; say so.  (A first event
        # still being written is not a problem, so the readers note only what cannot be an event.)
        self.unparsable = r.events == 0 and bool(r.problems) and self._log_size() > 0
        return changed

    def _log_size(self) -> int:
        try:
            return self.bundle.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _apply_text(self, text: str, changed: set[str], note: Callable[[str], None]) -> int:
        """Apply every event of ``text`` (whole events); returns how many there were.

        The hot loop of the fast reader: the header is parsed once, events of
        jobs not in this bundle are skipped before their details are read, and
        the details of the frequent events are read without splitting lines.
        Everything else goes through :func:`parse_fields`, and every state
        change through :meth:`_apply_rec`, which the ``htcondor2`` reader shares.
        """
        match = _HEAD.match
        minutes = self._reader._clock.minutes  # type: ignore[attr-defined]
        minute = self._reader._clock.minute  # type: ignore[attr-defined]
        procs, jobs, names = self._procs, self.jobs, EVENT_NAMES
        apply_rec, add = self._apply_rec, changed.add
        n = pos = 0
        for chunk in text.split("\n...\n"):
            step = len(chunk) + 5
            m = match(chunk)
            if m is None:
                if chunk.startswith("...\n"):
                    chunk = chunk[4:]
                    m = match(chunk)
                if m is None:
                    if chunk.strip():
                        note(_not_an_event(chunk, pos))
                    pos += step
                    continue
            pos += step
            try:
                n += 1
                code_s, cluster_s, proc_s, minute_s, ss, tz = m.groups()
                base = minutes.get(minute_s) if tz is None else None
                t = (base if base is not None else minute(minute_s, tz)) + int(ss)
                code = int(code_s)
                cluster, proc = int(cluster_s), int(proc_s)
                if code == SUBMIT:
                    end = m.end()
                    i = chunk.find("\n", end)
                    notes = ""
                    if i >= 0:
                        j = chunk.find("\n", i + 1)
                        notes = chunk[i + 1 : j if j >= 0 else None].strip()
                        if notes[:1] == "[" or notes.startswith(("DAG Node: ", "WARNING: ")):
                            notes = parse_fields(SUBMIT, chunk[end:]).get("LogNotes", "")
                    if self._submit(notes, cluster, proc, t):
                        add(notes)
                    continue
                jid = procs.get((cluster, proc))
                if jid is None:
                    if proc < 0 and code in _CLUSTER_EVENTS:
                        gone = self._apply_cluster(code, cluster, t, parse_fields(code, chunk[m.end() :]))
                        if gone:
                            changed.update(gone)
                    continue
                rec = jobs[jid]
                rec.history.append((t, names.get(code) or str(code)))
                if rec.cluster != cluster or rec.proc != proc:
                    continue  # an event of an older submission of this job
                end = m.end()
                add(jid)
                # The three most frequent events are applied here, exactly as _apply_rec does.
                if code == EXECUTE:
                    k = chunk.find("\tSlotName: ", end)
                    if k >= 0:
                        e = chunk.find("\n", k)
                        rec.state, rec.started, rec.transfer = "running", t, ""
                        rec.starts += 1
                        rec.host = chunk[k + 11 : e if e >= 0 else None].strip().strip('"')
                        continue
                elif code == IMAGE_SIZE:
                    k = chunk.find("  -  MemoryUsage of job (MB)", end)
                    if k >= 0:
                        rec.memory_mb = float(chunk[chunk.rfind("\t", end, k) + 1 : k])
                    continue
                elif code == JOB_TERMINATED:
                    k = chunk.find("\t(1) Normal termination (return value ", end, end + 80)
                    if k >= 0:
                        rv = int(chunk[k + 38 : chunk.find(")", k + 38)])
                        if rv != _names.CHECKPOINT_EXIT_CODE:
                            rec.exit_code, rec.finished, rec.transfer = rv, t, ""
                            rec.state = "completed" if rv == 0 else "failed"
                            continue
                apply_rec(rec, code, t, parse_fields(code, chunk[end:]))
            except (EventLogError, *_DAMAGE) as e:  # noqa: PERF203 - a damaged event is skipped, not fatal
                note(f"the event near character {pos - step} is damaged ({e}); skipped")
        return n

    def _submit(self, jid: str, cluster: int, proc: int, t: float) -> bool:
        """A submit event: the job's new (cluster, proc), unless an older submission's; True if it changed."""
        rec = self.jobs.get(jid)
        if rec is None:
            return False
        self._procs[(cluster, proc)] = jid
        rec.history.append((t, "SUBMIT"))
        if rec.cluster is not None and rec.cluster != cluster:
            rank_new, rank_cur = self._rank.get(cluster), self._rank.get(rec.cluster)
            if rank_new is not None and rank_cur is not None and rank_new < rank_cur:
                return False  # a late event of an older submission
        _resubmitted(rec, cluster, proc, t)
        return True

    def _apply(self, code: int, cluster: int, proc: int, t: float, info: Mapping[str, Any]) -> str | list[str] | None:
        """Apply one event whose fields are in ``info`` (a ``htcondor2.JobEvent`` or a dict)."""
        if code == SUBMIT:
            jid = str(info.get("LogNotes") or "").strip()
            return jid if self._submit(jid, cluster, proc, t) else None
        jid = self._procs.get((cluster, proc))
        if jid is None:
            if proc < 0 and code in _CLUSTER_EVENTS:
                return self._apply_cluster(code, cluster, t, info)
            return None
        rec = self.jobs[jid]
        rec.history.append((t, EVENT_NAMES.get(code) or str(code)))
        if rec.cluster != cluster or rec.proc != proc:
            return None  # an event of an older submission of this job
        self._apply_rec(rec, code, t, info)
        return jid

    def _apply_rec(self, rec: JobRecord, code: int, t: float, info: Mapping[str, Any]) -> None:
        """The state machine: what one event of the job's current submission does to its record."""
        get = info.get
        if code == EXECUTE:
            rec.state, rec.started, rec.transfer = "running", t, ""
            rec.starts += 1
            rec.host = str(get("SlotName") or _alias(str(get("ExecuteHost") or "")))
        elif code == JOB_TERMINATED:
            if get("TerminatedNormally", True):
                rv = get("ReturnValue")
                rec.exit_code = int(rv) if rv is not None else None
                if rec.exit_code == _names.CHECKPOINT_EXIT_CODE:
                    # A checkpoint, not an end: HTCondor restarts the job (checkpoint_exit_code).
                    rec.state, rec.checkpoints = "idle", rec.checkpoints + 1
                    rec.reason = "exited after writing a checkpoint; it will be restarted"
                else:
                    rec.state = "completed" if rec.exit_code == 0 else "failed"
                    rec.finished = t
            else:
                rec.exit_code, rec.finished, rec.state = None, t, "failed"
                rec.reason = f"killed by {describe_signal(get('TerminatedBySignal', '?'))}"
            rec.transfer = ""
        elif code == JOB_HELD:
            rec.hold_reason = str(get("HoldReason", "") or "")
            hc, hs = get("HoldReasonCode"), get("HoldReasonSubCode")
            rec.hold_code = int(hc) if hc is not None else None
            rec.hold_subcode = int(hs) if hs is not None else None
            rec.transfer = ""
            if rec.hold_code == 3 and rec.hold_subcode == HOLD_EXIT_SUBCODE:
                # Held by workbench's on_exit_hold: the job ran and exited non-zero.
                m = _EXIT_REASON.search(rec.hold_reason)
                rec.state, rec.finished = "failed", t
                rec.exit_code = int(m.group(1)) if m else rec.exit_code
            else:
                rec.state = "held"
        elif code == JOB_RELEASED:
            rec.state, rec.hold_reason, rec.hold_code, rec.hold_subcode = "idle", "", None, None
            rec.finished = None
        elif code == JOB_EVICTED:
            rec.state, rec.transfer = "idle", ""
            rec.evictions += 1
            if get("Checkpointed", False):
                rec.checkpoints += 1
            reason = get("Reason")
            rec.reason = f"evicted: {reason}" if reason else "evicted"
        elif code == IMAGE_SIZE:
            mem = get("MemoryUsage")
            if mem is not None:
                rec.memory_mb = float(mem)
        elif code == JOB_ABORTED:
            rec.state, rec.reason, rec.finished = "removed", str(get("Reason", "") or "removed"), t
            rec.transfer, rec.hold_reason, rec.hold_code, rec.hold_subcode = "", "", None, None
        elif code == FILE_TRANSFER:
            rec.transfer = TRANSFER.get(int(get("Type", 0) or 0), "")
        elif code == CHECKPOINTED:
            rec.checkpoints += 1
        elif code == SHADOW_EXCEPTION:
            rec.reason = str(get("Message", "") or "shadow exception")
            if rec.state in ("running", "suspended"):
                rec.state = "idle"
            rec.transfer = ""
        elif code == JOB_SUSPENDED:
            rec.state = "suspended"
        elif code == JOB_UNSUSPENDED or code == JOB_RECONNECTED:
            if rec.state in ("suspended", "running"):
                rec.state = "running"
        elif code == JOB_RECONNECT_FAILED:
            rec.state, rec.reason = "idle", f"reconnection failed: {get('Reason', '')}".rstrip(": ")
        elif code == EXECUTABLE_ERROR:
            rec.state, rec.finished = "failed", t
            rec.reason = f"executable error (type {get('ExecuteErrorType', '?')})"
        elif code == REMOTE_ERROR:
            rec.reason = str(get("ErrorMsg", "") or "")

    def _apply_cluster(self, code: int, cluster: int, t: float, info: Mapping[str, Any]) -> list[str] | None:
        """Cluster-level events: late materialisation."""
        c = self.clusters.setdefault(cluster, {})
        if code == CLUSTER_SUBMIT:
            c["submitted"] = t
            return None
        if code == FACTORY_PAUSED or code == FACTORY_RESUMED:
            c["paused"] = code == FACTORY_PAUSED
            c["reason"] = str(info.get("Reason", "") or "")
            return None
        # CLUSTER_REMOVE: the jobs it never materialised are gone with it.
        c.update(removed=t, materialized=info.get("NextProcId"), completion=info.get("Completion"))
        gone = []
        for jid in self._submission_jobs.get(cluster, ()):
            rec = self.jobs[jid]
            if rec.cluster == cluster and rec.proc is None and rec.state == "idle":
                rec.state, rec.finished = "removed", t
                rec.reason = "its cluster was removed before HTCondor made this job"
                gone.append(jid)
        return gone or None

    def _read_submissions(self, changed: set[str]) -> None:
        """Jobs of pool submissions not yet in the log are queued (see the module docstring)."""
        path = self.bundle.path / _names.SUBMISSIONS
        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._submissions_mtime:
            return
        subs = runs.read_submissions(self.bundle)  # replaced whole by its writers: never half written
        self._submissions_mtime = mtime
        for index in range(self._n_submissions, len(subs)):
            sub = subs[index]
            cluster = int(sub["cluster"])
            self._rank[cluster] = index
            try:
                ids = [it["job_id"] for it in read_items((self.bundle.path / sub.get("items", _names.ITEMS)).read_text())]
            except (OSError, ValueError):
                ids = []
            ids = [j for j in ids if j in self.jobs]
            self._submission_jobs[cluster] = ids
            for jid in ids:
                rec = self.jobs[jid]
                if rec.cluster == cluster:
                    continue
                _resubmitted(rec, cluster, None, iso_epoch(sub.get("time")))
                changed.add(jid)
        self._n_submissions = len(subs)

    def _read_outputs(self, changed: set[str], full: bool) -> set[str]:
        """Result files that appeared since the last read.

        Between full listings only the jobs whose events just said they ended
        are looked at (one ``stat`` each), so a refresh of a 100,000-job scan
        costs what is new; the whole ``outputs/`` folder is listed on the first
        read, with ``full=True``, and every :data:`FULL_OUTPUT_SCAN_SECONDS`,
        which finds results that arrived without events (copied by hand, or
        synced ahead of the log).
        """
        outputs = self.bundle.path / _names.OUTPUTS
        now = time.monotonic()
        if full or self._outputs_mtime is None or now - self._last_full_scan >= FULL_OUTPUT_SCAN_SECONDS:
            self._last_full_scan = now
            try:
                mtime = outputs.stat().st_mtime_ns
            except FileNotFoundError:
                return set()
            if mtime == self._outputs_mtime:
                return set()  # no file came or went: skip listing a big folder
            self._outputs_mtime = mtime
            found = self.bundle.finished_ids() & self.jobs.keys()
        else:
            suffix = _names.RESULT_SUFFIX
            found = {
                j
                for j in changed
                if j not in self._finished
                and self.jobs[j].state in ("completed", "failed", "held")
                and os.path.exists(outputs / f"{j}{suffix}")
            }
        new = found - self._finished
        self._finished |= new
        return new

    def update(self, *, full: bool = False, outputs: bool = True) -> set[str]:
        """Read new submissions, events and results; return the ids of jobs whose record changed.

        ``full=True`` also lists every result file (see :meth:`_read_outputs`),
        as "Sync now" does.  ``outputs=False`` leaves ``outputs/`` alone: for a
        caller that knows which jobs have results from elsewhere, as
        :func:`workbench.results.assemble` does from the results cache (jobs
        whose result file had been seen stay completed).
        """
        with _no_gc():
            return self._update(full, outputs)

    def _items_stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.bundle.path / _names.ITEMS)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def _read_new_jobs(self, changed: set[str]) -> None:
        """Jobs appended to the bundle since it was read (an adaptive scan grows): added, unsubmitted, at the end."""
        key = self._items_stat()
        if key == self._items_key:
            return
        self._items_key = key
        for name in ("info", "job_ids", "_index"):  # Bundle's cached reads of info.pkl and jobs.txt
            self.bundle.__dict__.pop(name, None)
        for jid in self.bundle.job_ids:
            if jid not in self.jobs:
                self.jobs[jid] = JobRecord(jid)
                changed.add(jid)

    def _update(self, full: bool = False, outputs: bool = True) -> set[str]:
        changed: set[str] = set()
        self._read_new_jobs(changed)
        if not self._started:
            self._started = True
            if self._use_cache and self._load_cache():
                changed |= {j for j, r in self.jobs.items() if r.state != "unsubmitted"}
        self._read_submissions(changed)
        changed |= self._read_events()
        new = self._read_outputs(changed, full) if outputs else set()
        changed |= new
        for jid in new | (changed & self._finished):
            rec = self.jobs[jid]
            if rec.state != "completed":
                rec.state = "completed"
                rec.exit_code = 0 if rec.exit_code is None else rec.exit_code
                changed.add(jid)
        changed |= self._mark_interrupted(changed)
        self._maybe_save()
        return changed

    def _mark_interrupted(self, changed: set[str]) -> set[str]:
        """Jobs left idle or running by a local executor that is no longer alive."""
        dead = {c for c in runs.dead_local_clusters(self.bundle) if c not in self._rank}
        newly = dead - self._dead
        self._dead = dead
        if not dead:
            return set()
        out = set()
        todo = self.jobs.values() if newly else (self.jobs[j] for j in changed)
        for rec in todo:
            if rec.state in ("idle", "running") and rec.cluster in dead:
                rec.state, rec.reason = "interrupted", "the local executor stopped before this job finished"
                out.add(rec.job_id)
        return out

    # -- the cache ------------------------------------------------------------
    def _ids_digest(self) -> str:
        return hashlib.sha1("\n".join(self.jobs).encode()).hexdigest()

    def save(self) -> Path | None:
        """Write the states and the reading position to the bundle's cache now (see the module docstring).

        Returns the cache's path, or ``None`` when the bundle is not writable
        (the cache is an optimisation only).
        """
        with _no_gc():
            return self._save()

    def _save(self) -> Path | None:
        import numpy as np

        recs = list(self.jobs.values())
        index = {j: i for i, j in enumerate(self.jobs)}
        rows = list(zip(*map(attrgetter(*_INT_FIELDS, *_FLOAT_FIELDS, *_STR_FIELDS, "state"), recs))) if recs else []
        arrays: dict[str, Any] = {}
        uniques: dict[str, list[str]] = {}
        k = 0
        for name in _INT_FIELDS:
            arrays[name] = np.array([_NONE if v is None else v for v in rows[k]] if rows else [], dtype=np.int64)
            k += 1
        for name in _FLOAT_FIELDS:
            arrays[name] = np.array([np.nan if v is None else v for v in rows[k]] if rows else [], dtype=np.float64)
            k += 1
        for name in (*_STR_FIELDS, "state"):
            table: dict[str, int] = {}
            arrays[name] = np.array([table.setdefault(v, len(table)) for v in rows[k]] if rows else [], dtype=np.int32)
            uniques[name] = list(table)
            k += 1
        counts = [len(r.history) for r in recs]
        flat = list(chain.from_iterable(r.history for r in recs))
        kinds: dict[str, int] = {}
        times, names = zip(*flat) if flat else ((), ())
        arrays["h_count"] = np.array(counts, dtype=np.int32)
        arrays["h_time"] = np.array(times, dtype=np.float64)
        arrays["h_kind"] = np.array([kinds.setdefault(n, len(kinds)) for n in names], dtype=np.int16)
        arrays["procs"] = np.array([(c, p, index[j]) for (c, p), j in self._procs.items()], dtype=np.int64).reshape(-1, 3)
        meta = {
            "version": _CACHE_VERSION,
            "reader": self._reader.kind,
            "jobs": len(recs),
            "ids": self._ids_digest(),
            "offset": self._reader.offset,
            "fingerprint": self._reader.fingerprint,
            "events": self._reader.events,
            "problems": self._reader.problems,
            "submissions": self._n_submissions,
            "rank": {str(c): i for c, i in self._rank.items()},
            "submission_jobs": {str(c): [index[j] for j in ids] for c, ids in self._submission_jobs.items()},
            "clusters": {str(c): v for c, v in self.clusters.items()},
            "kinds": list(kinds),
            "strings": uniques,
        }
        arrays["meta"] = np.array(json.dumps(meta))
        path = self.bundle.path / _names.STATE_CACHE
        try:
            with atomic_open(path) as f:
                np.savez(f, **arrays)
        except OSError:
            return None
        self._last_save = time.monotonic()
        self._events_since_save = 0
        return path

    def _maybe_save(self) -> None:
        if not self._use_cache or not self._events_since_save:
            return
        if self._events_since_save >= _SAVE_EVENTS or time.monotonic() - self._last_save >= _SAVE_SECONDS:
            self.save()

    def _load_cache(self) -> bool:
        """Restore the states and the reading position from the cache, if it is this bundle's and still valid."""
        import numpy as np

        path = self.bundle.path / _names.STATE_CACHE
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                if (
                    meta.get("version") != _CACHE_VERSION
                    or meta.get("reader") != self._reader.kind
                    or meta.get("jobs") != len(self.jobs)
                    or meta.get("ids") != self._ids_digest()
                ):
                    return False
                data = {k: z[k] for k in z.files if k != "meta"}
        except Exception:  # noqa: BLE001 - a cache (safe to delete) of any damage: read the log instead
            return False
        ids = list(self.jobs)
        try:
            return self._restore(meta, data)
        except Exception:  # noqa: BLE001 - damaged or crafted: forget it and read the log from its start
            self.jobs = {j: JobRecord(j) for j in ids}
            self._reset()
            self.cache_loaded = False
            return False

    def _restore(self, meta: dict[str, Any], data: dict[str, Any]) -> bool:
        import numpy as np

        r = self._reader
        r.offset, r.fingerprint, r.events = int(meta["offset"]), str(meta["fingerprint"]), int(meta["events"])
        if not r.still_valid():
            r.reset()
            return False
        r.problems = list(meta.get("problems", []))
        ids = list(self.jobs)
        cols: dict[str, list[Any]] = {}
        for name in _INT_FIELDS:
            cols[name] = [None if v == _NONE else v for v in data[name].tolist()]
        for name in _FLOAT_FIELDS:
            cols[name] = [None if v != v else v for v in data[name].tolist()]
        for name in (*_STR_FIELDS, "state"):
            table = meta["strings"][name]
            cols[name] = [table[i] for i in data[name].tolist()]
        kinds = meta["kinds"]
        pairs = list(zip(data["h_time"].tolist(), [kinds[k] for k in data["h_kind"].tolist()]))
        bounds = [0, *np.cumsum(data["h_count"]).tolist()]
        cols["history"] = [pairs[a:b] for a, b in zip(bounds, bounds[1:])]
        cols["job_id"] = ids
        # Positional construction over columns (map calls JobRecord in C): the field order of JobRecord.
        self.jobs = dict(zip(ids, map(JobRecord, *(cols[f.name] for f in fields(JobRecord)))))
        self._procs = {(c, p): ids[j] for c, p, j in data["procs"].tolist()}
        self._rank = {int(c): int(i) for c, i in meta["rank"].items()}
        self._submission_jobs = {int(c): [ids[j] for j in js] for c, js in meta["submission_jobs"].items()}
        self.clusters = {int(c): v for c, v in meta["clusters"].items()}
        # Submissions are re-read from their file (cheap), past the ones the cache has applied.
        self._n_submissions = int(meta["submissions"])
        self._last_save = time.monotonic()
        self.cache_loaded = True
        return True

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
        text = f"{c['completed']:,}/{total:,} completed ({pct:.0f} %): " + ", ".join(parts)
        if self.unparsable:
            text += f" (warning: {self.bundle.log_path.name} has content but no events could be read from it)"
        elif self.problems:
            text += f" (warning: {len(self.problems)} damaged stretch(es) of {self.bundle.log_path.name} were skipped)"
        return text

    def apply_queue(self, rows: list[Mapping[str, Any]]) -> set[str]:
        """Add what a schedd query knows and the event log does not say yet; returns the changed ids.

        ``rows`` are job ads (``ClusterId``, ``ProcId``, ``JobStatus``, ...), as
        :meth:`workbench.executors.condor.CondorExecutor.query` returns them.
        The log stays the source of truth: only jobs it has not shown yet (not
        made by a late-materialising cluster, or a log not pulled yet) take
        their state from the queue; running jobs get their host.
        """
        changed: set[str] = set()
        for row in rows:
            c, p = row.get("ClusterId"), row.get("ProcId")
            if c is None or p is None:
                continue
            c, p = int(c), int(p)
            jid = self._procs.get((c, p)) or str(row.get("SubmitEventNotes") or "").strip()
            rec = self.jobs.get(jid)
            if rec is None:
                continue
            self.queue[jid] = dict(row)
            status = JOB_STATUS.get(int(row.get("JobStatus", 0) or 0))
            if (rec.state == "unsubmitted" or (rec.cluster == c and rec.proc is None)) and status in _QUEUED:
                rec.cluster, rec.proc, rec.state = c, p, status
                if status == "held":
                    rec.hold_reason = str(row.get("HoldReason", "") or "")
                    rec.hold_code = _int_or_none(row.get("HoldReasonCode"))
                    rec.hold_subcode = _int_or_none(row.get("HoldReasonSubCode"))
                changed.add(jid)
            if status == "running" and rec.state == "running" and not rec.host and row.get("RemoteHost"):
                rec.host = str(row["RemoteHost"])
                changed.add(jid)
        return changed

    def by_cluster(self) -> dict[int, list[str]]:
        """Job ids per cluster of their latest submission (jobs never submitted are left out)."""
        out: dict[int, list[str]] = {}
        for j, r in self.jobs.items():
            if r.cluster is not None:
                out.setdefault(r.cluster, []).append(j)
        return out


_START = re.compile(r"\d{0,3}|\d{3} |\d{3} \(")


def _looks_like_start(text: str) -> bool:
    """Whether ``text`` may be the beginning of an event (its header may be unfinished)."""
    return _START.fullmatch(text[:5]) is not None or _HEAD.match(text) is not None


def _resubmitted(rec: JobRecord, cluster: int, proc: int | None, submitted: float | None) -> None:
    """Make ``rec`` a freshly queued job of ``(cluster, proc)``: what its older submission said is gone.

    Counters (starts, evictions, checkpoints), the memory use and the history are kept.
    """
    rec.state, rec.cluster, rec.proc, rec.submitted = "idle", cluster, proc, submitted
    rec.exit_code, rec.reason, rec.hold_reason, rec.hold_code, rec.hold_subcode = None, "", "", None, None
    rec.started = rec.finished = None
    rec.host = rec.transfer = ""


def _int_or_none(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _alias(addr: str) -> str:
    """The host name in a sinful string (``<ip:port?...&alias=name...>``), else the address."""
    i = addr.find("alias=")
    if i >= 0:
        j = i + 6
        k = j
        while k < len(addr) and addr[k] not in "&>":
            k += 1
        return addr[j:k]
    return addr.strip("<>")


