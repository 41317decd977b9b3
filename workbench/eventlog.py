"""Writing job events in HTCondor's user-log format.

Every executor records what happens to its jobs in ``logs/scan.log`` in the
format HTCondor's schedd writes, so that one reader (``htcondor2.JobEventLog``,
see :mod:`workbench.state`) serves local, SSH and pool runs alike.  A local
"cluster" is one executor run; the proc number is the job's index in that run,
and the submit event's notes carry the job id, as ``submit_event_notes`` does
on a pool.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

__all__ = ["EventWriter", "format_submit", "format_execute", "format_terminated", "format_killed", "format_aborted"]

_SEP = "...\n"


def _stamp(when: datetime | None = None) -> str:
    # HTCondor writes local time, ISO 8601 with a space, no zone (the default since 9.0).
    return (when or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")


def _head(code: int, cluster: int, proc: int, when: datetime | None = None) -> str:
    return f"{code:03d} ({cluster:03d}.{proc:03d}.000) {_stamp(when)} "


def _host() -> str:
    return f"<127.0.0.1:0?alias={socket.gethostname()}>"


def format_submit(cluster: int, proc: int, notes: str, when: datetime | None = None) -> str:
    return f"{_head(0, cluster, proc, when)}Job submitted from host: {_host()}\n    {notes}\n{_SEP}"


def format_execute(cluster: int, proc: int, when: datetime | None = None) -> str:
    return f"{_head(1, cluster, proc, when)}Job executing on host: {_host()}\n{_SEP}"


def _usage(seconds: float) -> str:
    s = int(round(seconds))
    return f"Usr 0 {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}, Sys 0 00:00:00"


def format_terminated(cluster: int, proc: int, return_value: int, seconds: float = 0.0, when: datetime | None = None) -> str:
    return _format_end(cluster, proc, f"\t(1) Normal termination (return value {return_value})\n", seconds, when)


def format_killed(cluster: int, proc: int, signal_number: int, seconds: float = 0.0, when: datetime | None = None) -> str:
    """The end of a job whose process a signal killed (the out-of-memory killer, a crash in compiled code)."""
    how = f"\t(0) Abnormal termination (signal {signal_number})\n\t(0) No core file\n"
    return _format_end(cluster, proc, how, seconds, when)


def _format_end(cluster: int, proc: int, how: str, seconds: float, when: datetime | None) -> str:
    u, z = _usage(seconds), _usage(0)
    return (
        f"{_head(5, cluster, proc, when)}Job terminated.\n"
        f"{how}"
        f"\t\t{u}  -  Run Remote Usage\n"
        f"\t\t{z}  -  Run Local Usage\n"
        f"\t\t{u}  -  Total Remote Usage\n"
        f"\t\t{z}  -  Total Local Usage\n"
        "\t0  -  Run Bytes Sent By Job\n"
        "\t0  -  Run Bytes Received By Job\n"
        "\t0  -  Total Bytes Sent By Job\n"
        "\t0  -  Total Bytes Received By Job\n"
        f"{_SEP}"
    )


def format_aborted(cluster: int, proc: int, reason: str, when: datetime | None = None) -> str:
    reason = " ".join(reason.split()) or "removed"
    return f"{_head(9, cluster, proc, when)}Job was aborted.\n\t{reason}\n{_SEP}"


class EventWriter:
    """Appends events to one log file; safe across processes (``O_APPEND`` + ``flock``).

    Each call writes whole events with a single ``write``, so a reader never
    sees half an event from a writer that is still alive.
    """

    def __init__(self, path: str | os.PathLike[str], cluster: int) -> None:
        self.path = Path(path)
        self.cluster = cluster

    def write(self, text: str) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = text.encode()
            while data:
                n = os.write(fd, data)
                data = data[n:]
        finally:
            os.close(fd)  # closing releases the lock

    def submitted(self, jobs: Iterable[tuple[int, str]]) -> None:
        """One submit event per ``(proc, job_id)``."""
        now = datetime.now()
        self.write("".join(format_submit(self.cluster, proc, jid, now) for proc, jid in jobs))

    def executing(self, proc: int) -> None:
        self.write(format_execute(self.cluster, proc))

    def terminated(self, proc: int, return_value: int, seconds: float) -> None:
        self.write(format_terminated(self.cluster, proc, return_value, seconds))

    def killed(self, proc: int, signal_number: int, seconds: float = 0.0) -> None:
        self.write(format_killed(self.cluster, proc, signal_number, seconds))

    def aborted(self, procs: Iterable[int], reason: str) -> None:
        now = datetime.now()
        self.write("".join(format_aborted(self.cluster, p, reason, now) for p in procs))

