"""Run records: where each run of a bundle went, how to reach it, and whether it lives.

One module reads and writes every record of a run, below both the state
reader (:mod:`workbench.state`) and the executors, so no front end parses a
record file by hand.  Three files hold them, as in earlier versions (a bundle
made then opens without loss, and a remote host running an older workbench
still writes what this one reads):

``logs/local_runs.json``
    ``{cluster: {pid, host, started, ended, [how], [executor, remote]}}``: the
    runs of the embedded executor, written by the process that runs them (on
    this machine, or on an SSH host for its own copy of the bundle).  An SSH
    run is entered here too, under the host name ``ssh:<destination>``, which
    no machine's name can equal, so a local run never starts beside it.
``ssh_runs.json``
    The SSH runs (host, remote folder, remote pid, connection options).  Local only.
``submissions.json``
    The pool submissions (cluster, target, submit host, items file).

Every write happens under an exclusive lock on a hidden sibling file and
replaces the record whole (:func:`~workbench._jsonfile.locked_json`).  Readers
see one typed :class:`RunRecord` per run, whatever the target:
:func:`all_runs`, :func:`latest` and :func:`owner` (the run that holds the
bundle now).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _names
from ._jsonfile import iso_epoch, locked_json, read_json, utc_now
from .errors import BundleFormatError

if TYPE_CHECKING:
    from .bundle import Bundle

__all__ = [
    "RunRecord",
    "TARGETS",
    "all_runs",
    "alive",
    "begin_local",
    "dead_local_clusters",
    "end_local",
    "latest",
    "live_local_runs",
    "local_runs",
    "owner",
    "read_submissions",
    "read_ssh_runs",
    "save_ssh_run",
    "add_submission",
    "submission_lock",
]

#: The targets workbench itself knows (others come from the ``workbench.targets`` entry points).
TARGETS = ("local", "ssh", "condor", "condor-ssh")

#: Prefix of the host under which an SSH run is entered in ``logs/local_runs.json``.
SSH_HOST_PREFIX = "ssh:"


@dataclass(frozen=True)
class RunRecord:
    """One run of a bundle, whatever its target.

    Attributes
    ----------
    target
        ``"local"``, ``"ssh"``, ``"condor"``, ``"condor-ssh"`` (or a plug-in's name).
    cluster
        Its cluster number in the bundle's event log (``None`` until known).
    host
        Where it runs: this machine's name for a local run, the SSH host (as
        given) for an SSH run, the submit host for a pool.
    started, ended
        ISO times (UTC); ``ended`` is ``None`` while the run is not known to have ended.
    pid
        The process that runs it (on ``host``), where there is one.
    remote_dir
        The bundle's folder on the remote host, for SSH and condor-ssh runs.
    how
        How it ended, when known (``"finished"``, ``"stopped"``, ``"interrupted"``, ``"died"``).
    details
        The target's own record (the SSH run's connection options, the
        submission's schedd and items file ...), as stored.
    """

    target: str
    cluster: int | None
    host: str
    started: str = ""
    ended: str | None = None
    pid: int | None = None
    remote_dir: str = ""
    how: str = ""
    details: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def running(self) -> bool:
        """Not known to have ended (a pool's cluster counts as running until its jobs end)."""
        return self.ended is None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.remote_dir}" if self.remote_dir else self.host

    def __str__(self) -> str:
        state = "running" if self.running else f"ended {self.ended}" + (f" ({self.how})" if self.how else "")
        return f"{self.target} run {self.cluster} on {self.where}, started {self.started}, {state}"


# ---------------------------------------------------------------------------
# Liveness
# ---------------------------------------------------------------------------
def alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine lives (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    # A killed process that its parent has not reaped yet still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


def _entry_alive(entry: Mapping[str, Any]) -> bool:
    if entry.get("ended"):
        return False
    if entry.get("host") != socket.gethostname():
        return True  # cannot tell from here; assume it is
    try:
        return alive(int(entry["pid"]))
    except (KeyError, TypeError, ValueError):
        return False


def _is_ssh_entry(entry: Mapping[str, Any]) -> bool:
    return entry.get("executor") == "ssh" or str(entry.get("host", "")).startswith(SSH_HOST_PREFIX)


# ---------------------------------------------------------------------------
# logs/local_runs.json
# ---------------------------------------------------------------------------
def _local_path(bundle: Bundle) -> os.PathLike[str]:
    return bundle.path / _names.LOGS / _names.LOCAL_RUNS


def _valid_local(data: Any) -> dict[str, dict[str, Any]]:
    """The well-formed entries of a local run record (a damaged entry is left out, not fatal)."""
    if not isinstance(data, dict):
        return {}
    out = {}
    for c, r in data.items():
        if isinstance(r, dict) and str(c).isdigit() and isinstance(r.get("pid"), int):
            out[str(c)] = r
    return out


def local_runs(bundle: Bundle) -> dict[str, dict[str, Any]]:
    """``logs/local_runs.json`` as it stands (empty when missing; damaged entries left out)."""
    try:
        return _valid_local(read_json(_local_path(bundle), dict))
    except ValueError:
        return {}


@contextmanager
def _local_locked(bundle: Bundle) -> Iterator[dict[str, Any]]:
    path = _local_path(bundle)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with locked_json(path, dict) as data:
            if not isinstance(data, dict):
                raise ValueError("not an object")
            yield data
    except ValueError as e:
        raise BundleFormatError(
            f"{path} is damaged ({e}); it records which processes run this bundle. Check that no run of the "
            f"bundle is going on (ps), then remove the file and run again."
        ) from e


def dead_local_clusters(bundle: Bundle) -> set[int]:
    """Clusters of runs in ``logs/local_runs.json`` that are no longer running (ended or gone)."""
    return {int(c) for c, r in local_runs(bundle).items() if not _entry_alive(r)}


def live_local_runs(bundle: Bundle) -> list[tuple[str, dict[str, Any]]]:
    """``(cluster, entry)`` of runs by the embedded executor that are, or may be, alive.

    Runs on another host count as alive (their pid cannot be checked from
    here); SSH runs are left out: only their host can tell.
    """
    return [(c, r) for c, r in local_runs(bundle).items() if not _is_ssh_entry(r) and _entry_alive(r)]


def begin_local(bundle: Bundle) -> int:
    """Record a run of the embedded executor by this process; its new cluster number.

    Raises
    ------
    ExecutorError
        A run of the bundle is alive (here, on another machine, or over SSH).
    """
    from .errors import ExecutorError

    with _local_locked(bundle) as runs:
        valid = _valid_local(runs)
        live = [(c, r) for c, r in valid.items() if _entry_alive(r)]
        if live:
            c, r = live[0]
            how = (
                f"workbench stop {bundle.path}"
                if _is_ssh_entry(r)
                else f"Ctrl-C in its terminal, or kill -INT {r['pid']}"
            )
            raise ExecutorError(
                f"{bundle.path} is already being run by process {r['pid']} on {r.get('host')} (run {c}, started "
                f"{r.get('started')}). Wait for it, or stop it ({how}) and run again."
            )
        cluster = max((int(c) for c in valid), default=0) + 1
        runs[str(cluster)] = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now(), "ended": None}
    return cluster


def end_local(bundle: Bundle, cluster: int, how: str = "finished") -> None:
    """Mark run ``cluster`` of the embedded executor ended (``how``: finished, stopped, interrupted)."""
    with _local_locked(bundle) as runs:
        entry = runs.get(str(cluster))
        if isinstance(entry, dict):
            entry["ended"] = utc_now()
            entry["how"] = how


def _enter_ssh_run(bundle: Bundle, rec: Mapping[str, Any]) -> None:
    """Enter an SSH run in ``logs/local_runs.json`` (see the module docstring)."""
    if rec.get("cluster") is None:
        return
    with _local_locked(bundle) as local:
        local[str(rec["cluster"])] = {
            "pid": int(rec["pid"]),
            "host": SSH_HOST_PREFIX + str(rec.get("destination") or rec["host"]),
            "started": rec.get("started", ""),
            "ended": rec.get("ended"),
            "executor": "ssh",
            "remote": f"{rec['host']}:{rec['remote_dir']}",
        }


# ---------------------------------------------------------------------------
# ssh_runs.json
# ---------------------------------------------------------------------------
def read_ssh_runs(bundle: Bundle) -> list[dict[str, Any]]:
    """The SSH runs of ``bundle`` as stored, oldest first (empty if it never ran over SSH).

    Raises
    ------
    BundleFormatError
        The file is damaged (it says how to recover).
    """
    path = bundle.path / _names.SSH_RUNS
    try:
        data = read_json(path, list)
    except ValueError as e:
        data = e
    if not isinstance(data, list) or not all(isinstance(d, dict) and {"host", "remote_dir", "pid"} <= set(d) for d in data):
        raise BundleFormatError(
            f"{path} is damaged ({data if isinstance(data, ValueError) else 'not a list of runs'}); it records "
            "where the bundle ran over SSH. Fix or remove it (then sync with "
            "workbench.transport.sync('HOST:REMOTE_DIR', bundle.path))."
        )
    return data


def save_ssh_run(bundle: Bundle, rec: Mapping[str, Any]) -> None:
    """Add or update an SSH run (keyed by host, remote folder and pid), here and in ``logs/local_runs.json``."""
    key = (rec["host"], rec["remote_dir"], rec["pid"])
    with locked_json(bundle.path / _names.SSH_RUNS, list) as recs:
        for i, d in enumerate(recs):
            if (d.get("host"), d.get("remote_dir"), d.get("pid")) == key:
                recs[i] = dict(rec)
                break
        else:
            recs.append(dict(rec))
    _enter_ssh_run(bundle, rec)


# ---------------------------------------------------------------------------
# submissions.json
# ---------------------------------------------------------------------------
def read_submissions(bundle: Bundle) -> list[dict[str, Any]]:
    """The pool submissions of ``bundle`` as stored, oldest first (damaged entries left out)."""
    try:
        data = read_json(bundle.path / _names.SUBMISSIONS, list)
    except ValueError:
        return []
    if not isinstance(data, list):
        return []
    out = []
    for d in data:
        if isinstance(d, dict) and isinstance(d.get("cluster"), int):
            out.append(d)
    return out


def add_submission(bundle: Bundle, sub: Mapping[str, Any]) -> None:
    """Record a pool submission (call under :func:`submission_lock`)."""
    with locked_json(bundle.path / _names.SUBMISSIONS, list) as subs:
        subs.append(dict(sub))


@contextmanager
def submission_lock(bundle: Bundle) -> Iterator[None]:
    """Hold the bundle's submit lock from the queue check to the record of the new cluster.

    Without it, two processes submitting the same bundle (a form and a terminal,
    say) both find the jobs not queued, both submit them, and both take the
    same submission number.
    """
    import fcntl

    fd = os.open(bundle.path / _names.SUBMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# ---------------------------------------------------------------------------
# One view of every run
# ---------------------------------------------------------------------------
def _int_or_none(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def all_runs(bundle: Bundle) -> list[RunRecord]:
    """Every recorded run of ``bundle``, whatever its target, in the order they started."""
    out: list[tuple[float, int, RunRecord]] = []
    for c, r in local_runs(bundle).items():
        if _is_ssh_entry(r):
            continue  # listed from ssh_runs.json, which knows more
        rec = RunRecord("local", int(c), str(r.get("host", "")), str(r.get("started") or ""), r.get("ended") or None,
                        pid=_int_or_none(r.get("pid")), how=str(r.get("how") or ""), details=r)  # fmt: skip
        out.append((iso_epoch(rec.started) or 0.0, len(out), rec))
    try:
        ssh = read_ssh_runs(bundle)
    except BundleFormatError:
        ssh = []
    for d in ssh:
        rec = RunRecord("ssh", _int_or_none(d.get("cluster")), str(d["host"]), str(d.get("started") or ""),
                        d.get("ended") or None, pid=_int_or_none(d.get("pid")), remote_dir=str(d["remote_dir"]),
                        how=str(d.get("how") or ""), details=d)  # fmt: skip
        out.append((iso_epoch(rec.started) or 0.0, len(out), rec))
    for d in read_submissions(bundle):
        rec = RunRecord(str(d.get("target") or "condor"), int(d["cluster"]), str(d.get("host", "")),
                        str(d.get("time") or ""), None, remote_dir=str(d.get("remote_dir") or ""), details=d)  # fmt: skip
        out.append((iso_epoch(rec.started) or 0.0, len(out), rec))
    out.sort(key=lambda t: (t[0], t[1]))
    return [r for _, _, r in out]


def latest(bundle: Bundle) -> RunRecord | None:
    """The bundle's most recently started run (``None`` if it never ran)."""
    runs = all_runs(bundle)
    return runs[-1] if runs else None


def owner(bundle: Bundle) -> RunRecord | None:
    """The run that holds the bundle now, if any: a live local or SSH run (pools are asked by their executor)."""
    local = {c for c, _ in live_local_runs(bundle)}
    for rec in reversed(all_runs(bundle)):
        if rec.target == "local" and str(rec.cluster) in local:
            return rec
        if rec.target == "ssh" and rec.running:
            return rec
    return None
