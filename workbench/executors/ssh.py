"""The SSH executor: run a bundle's jobs on a remote host that has no scheduler.

How a run goes:

1. **Upload.**  The bundle goes to ``<remote_dir>/<bundle folder name>`` on the
   host as one tar stream, and only what the remote copy lacks: running again
   uploads nothing that is already there.  The first upload also carries the
   event log and the run record, so cluster numbers go on where they stopped.
2. **Start, detached.**  The embedded executor (:mod:`workbench.executors.local`)
   starts there under ``setsid nohup`` with stdin from ``/dev/null`` and its
   output appended to ``logs/ssh_executor.log``, so it outlives the SSH
   session.  The start waits until the remote run has recorded itself (or
   died, whose output then makes the error message).
3. **Record.**  Host, remote folder, remote pid, cluster and times go to the
   local bundle's :data:`~workbench._names.SSH_RUNS`; the run is also entered
   in the local ``logs/local_runs.json`` under the host name ``ssh:user@host:port``,
   which no local host name can equal, so the local state reader never
   checks the remote pid against local processes, and a local run cannot
   start while the remote one is alive.
4. **Track.**  :func:`sync_bundle` (``workbench sync BUNDLE``) pulls
   ``outputs/`` and ``logs/`` (incremental, each file atomic) so
   :class:`~workbench.state.ScanState` of the local bundle shows progress.
   Temporary files (names starting with ``.``, ``*.tmp``) and the remote's own
   ``logs/local_runs.json`` (pids of *that* host) are never pulled.  Each sync
   first asks whether the remote process still lives; once it is gone the run
   is marked ended locally, after its last events were pulled, so jobs a
   killed run left behind show as "interrupted".
5. **Stop and resume.**  :meth:`SSHRun.stop` sends SIGINT to the remote
   executor, which aborts its jobs cleanly (abort events in the log), waits
   for it to exit and syncs.  Running again resumes: the remote selects its
   unfinished jobs from its own outputs.

The remote host needs a POSIX shell, ``tar`` (else SFTP is used for the
upload) and a Python with workbench installed (``python=``; job types must be
importable there by name: types declared in a notebook are not).
"""

from __future__ import annotations

import argparse
import errno as _errno
import json
import os
import re
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _names
from .. import runs as _runs
from .._jsonfile import utc_now
from ..errors import ExecutorError, TransportError
from .base import SELECTIONS, Executor, RunReport, Selection, check_selection
from .handle import RunHandle

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..transport.ssh import SSHConnection, UploadReport
    from ..transport.sync import Syncer, SyncProgress, SyncReport

__all__ = [
    "SYNC_EXCLUDE",
    "RemoteRun",
    "SSHExecutor",
    "SSHRun",
    "attach",
    "remote_main",
    "run",
    "runs",
    "start",
    "stop",
    "sync_bundle",
    "syncer",
]

#: Never pulled from a remote bundle: temporary files (every file is written to
#: a hidden ``.<name>.<pid>-<thread>.tmp`` then renamed; older versions wrote
#: checkpoints to ``<name>.tmp``) and the remote's record of its own processes.
SYNC_EXCLUDE: tuple[str, ...] = (".*", "*.tmp", f"{_names.LOGS}/{_names.LOCAL_RUNS}")

# Files of the local bundle that stay local: caches, sync and run records.
# (The sync manifest and partial downloads start with "." and are left out with every hidden file.)
_LOCAL_ONLY = frozenset({_names.STATE_CACHE, _names.RESULTS_CACHE, _names.SSH_RUNS, _names.SUBMIT_LOCK})
# Options of transport.connect() worth remembering so `workbench sync BUNDLE` reconnects alike
# (paths and numbers only: no secret is ever written).
_CONNECT_KEYS = ("user", "port", "key_filename", "known_hosts", "ssh_config", "allow_agent", "timeout")
# Seconds the start waits for the remote executor to record itself.
_START_WAIT = 120.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The remote entry point: reset SIGINT first thing (a background job of a
# non-interactive shell starts with SIGINT ignored, and Python then keeps it so).
_BOOT = "import sys; from workbench.executors.ssh import remote_main; sys.exit(remote_main(sys.argv[1:]))"


# ---------------------------------------------------------------------------
# The record of SSH runs (ssh_runs.json, local only)
# ---------------------------------------------------------------------------
@dataclass
class RemoteRun:
    """One run of the SSH executor, as recorded in the local bundle.

    Attributes
    ----------
    host
        The host as given (a name or a ``~/.ssh/config`` alias).
    remote_dir
        The bundle's folder on the host (absolute).
    pid
        The remote executor's process id, on that host.
    cluster
        Its cluster number in the event log (``None`` until it recorded itself).
    destination
        ``user@hostname:port`` actually reached.
    hostname
        The remote machine's own name.
    python
        The remote Python that runs it.
    started, ended
        ISO times (UTC); ``ended`` is ``None`` while the run is, as far as
        this bundle knows, alive.
    connect
        Connection options given explicitly (user, port, key and known_hosts
        paths, ...), reused by :func:`sync_bundle`.
    """

    host: str
    remote_dir: str
    pid: int
    cluster: int | None = None
    destination: str = ""
    hostname: str = ""
    python: str = "python3"
    started: str = ""
    ended: str | None = None
    connect: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Not known to have ended (ask the host with :meth:`SSHRun.alive`)."""
        return self.ended is None

    @property
    def local_host(self) -> str:
        """The host name under which ``logs/local_runs.json`` records this run."""
        return f"ssh:{self.destination or self.host}"

    def __str__(self) -> str:
        state = "running" if self.running else f"ended {self.ended}"
        return f"run {self.cluster} on {self.host}:{self.remote_dir} (pid {self.pid}, started {self.started}, {state})"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RemoteRun:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def runs(bundle: Bundle | str | os.PathLike[str]) -> list[RemoteRun]:
    """The SSH runs of ``bundle``, oldest first (empty if it never ran over SSH)."""
    from ..bundle import open_bundle

    return [RemoteRun.from_dict(d) for d in _runs.read_ssh_runs(open_bundle(bundle))]


def _save_run(bundle: Bundle, rec: RemoteRun) -> None:
    """Add or update ``rec`` (keyed by host, remote folder and pid) in the bundle's run records."""
    _runs.save_ssh_run(bundle, asdict(rec))


def _connect_record(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in _CONNECT_KEYS:
        if k not in options:
            continue
        v = options[k]
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        elif isinstance(v, (list, tuple)):
            v = [os.fspath(x) for x in v]
        out[k] = v
    return out


# ---------------------------------------------------------------------------
# Remote commands
# ---------------------------------------------------------------------------
def _sh(script: str) -> str:
    from ..transport.ssh import _sh as sh

    return sh(script)


def _run_script(conn: SSHConnection, script: str, what: str, *, stdin: bytes | None = None,
                timeout: float | None = None) -> tuple[str, str, int]:  # fmt: skip
    try:
        r = conn.run(_sh(script), stdin=stdin, timeout=timeout)
    except TransportError as e:
        raise ExecutorError(f"Could not {what} on {conn.settings.destination}: {e}") from e
    return str(r.stdout), str(r.stderr), r.exit_code


def _after(text: str, marker: str) -> str | None:
    """The text after the line ``marker`` (login shells may print before our output)."""
    if text.startswith(f"{marker}\n"):
        return text[len(marker) + 1 :]
    at = text.find(f"\n{marker}\n")
    return None if at < 0 else text[at + len(marker) + 2 :]


def _remote_runs(text: str) -> dict[str, Any]:
    """The remote run record a script printed after the line ``wb-runs`` (empty when absent or unreadable)."""
    tail = _after(text, "wb-runs") or ""
    try:
        data = json.loads(tail) if tail.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _remote_listing(conn: SSHConnection, remote: str) -> tuple[str, set[str], bytes | None] | None:
    """The remote bundle's absolute path, its files (relative) and its ``info.pkl``; None when there is no folder."""
    q = shlex.quote(conn.remote_path(remote))
    script = (
        f"cd -- {q} 2>/dev/null || {{ echo wb-none; exit 0; }}\n"
        "echo wb-list; pwd -P\n"
        f"if [ -f {_names.INFO} ]; then wc -c < {_names.INFO}; cat {_names.INFO}; else echo -1; fi\n"
        "find . -type f -print0\n"
    )
    try:
        r = conn.run(_sh(script), text=False)
    except TransportError as e:
        raise ExecutorError(f"Could not list {remote} on {conn.settings.destination}: {e}") from e
    out = bytes(r.stdout)
    at = out.find(b"wb-list\n")
    if at < 0:
        if b"wb-none" in out:
            return None
        raise ExecutorError(
            f"Listing {remote} on {conn.settings.destination} failed (exit code {r.exit_code}): "
            f"{bytes(r.stderr).decode(errors='replace').strip()[-500:] or '(no output)'}. Check the remote folder."
        )
    head, _, rest = out[at + 8 :].partition(b"\n")
    size_line, _, rest = rest.partition(b"\n")
    size = int(size_line.strip() or b"-1")
    info = rest[:size] if size >= 0 else None
    names = rest[size:] if size >= 0 else rest
    files = set()
    for raw in names.split(b"\0"):
        if raw.startswith(b"./"):
            files.add(raw[2:].decode("utf-8", "surrogateescape"))
    return head.decode("utf-8", "surrogateescape"), files, info


def _identity(info: Mapping[str, Any]) -> tuple[Any, ...]:
    """What stays the same while a bundle grows: its job type, when and where it was made, its uid."""
    return (info.get("job_type"), info.get("created"), info.get("host"), info.get("uid"))


#: The files that change when a bundle grows (:mod:`workbench.grow`): uploaded again when they differ.
_GROWING = (_names.INFO, _names.ITEMS, _names.POINTS, _names.SPECIFICATIONS, _names.PARAMETERS)


def _check_same_bundle(bundle: Bundle, where: str, files: set[str], info: bytes | None, local: Sequence[str]) -> None:
    """Refuse to run in a remote folder that holds another bundle, or is not a bundle at all."""
    from .. import _safepickle

    mine = (bundle.path / _names.INFO).read_bytes()
    if info is not None and info != mine:
        try:
            theirs = _safepickle.loads(info)
            detail = f"a {theirs.get('job_type')!r} bundle of {theirs.get('count')} job(s) created {theirs.get('created')}"
        except Exception:  # noqa: BLE001 - only for the message
            theirs, detail = {}, "another bundle"
        if isinstance(theirs, dict) and _identity(theirs) == _identity(bundle.info):
            return  # the same bundle, grown here since (an adaptive scan): its index files go up again
        raise ExecutorError(
            f"{where} holds {detail}, not this one (a {bundle.info['job_type']!r} bundle of {bundle.count} job(s) "
            f"created {bundle.info.get('created')}). Remove that folder there, or choose another remote_dir "
            "(--remote-dir)."
        )
    if info is None and files and not files & set(local):
        raise ExecutorError(
            f"{where} exists and is not a workbench bundle (no {_names.INFO}, and none of this bundle's files); "
            "refusing to write into it. Choose another remote_dir (--remote-dir), or move that folder away."
        )


def _status_script(remote_dir: str, pids: Sequence[int]) -> str:
    q = shlex.quote(remote_dir)
    plist = " ".join(str(int(p)) for p in pids)
    return (
        f"cd -- {q} 2>/dev/null || {{ echo wb-missing; exit 0; }}\n"
        f"for p in {plist}; do\n"
        '  if kill -0 "$p" 2>/dev/null; then a=$(ps -o args= -p "$p" 2>/dev/null)\n'
        '    case "$a" in *workbench*|"") echo "wb-alive $p";; *) echo "wb-dead $p";; esac\n'
        '  else echo "wb-dead $p"; fi\n'
        "done\n"
        "echo wb-runs\n"
        f"cat {_names.LOGS}/{_names.LOCAL_RUNS} 2>/dev/null\n"
        "exit 0\n"
    )


def _remote_status(conn: SSHConnection, recs: Sequence[RemoteRun]) -> dict[int, tuple[bool, dict[str, Any] | None]]:
    """Per recorded pid: whether the remote executor lives, and its entry in the remote run record."""
    out: dict[int, tuple[bool, dict[str, Any] | None]] = {}
    by_dir: dict[str, list[RemoteRun]] = {}
    for r in recs:
        by_dir.setdefault(r.remote_dir, []).append(r)
    for remote_dir, group in by_dir.items():
        text, _, _ = _run_script(conn, _status_script(remote_dir, [r.pid for r in group]), "check the remote executor")
        if "wb-missing" in text and "wb-runs" not in text:
            for r in group:
                out[r.pid] = (False, None)
            continue
        alive = {int(m) for m in re.findall(r"^wb-alive (\d+)$", text, re.M)}
        remote_runs = _remote_runs(text)
        for r in group:
            entry = remote_runs.get(str(r.cluster)) if r.cluster is not None else None
            if entry is None:
                entry = next((v | {"cluster": int(c)} for c, v in remote_runs.items() if v.get("pid") == r.pid), None)
            elif r.cluster is not None:
                entry = entry | {"cluster": r.cluster}
            lives = r.pid in alive and (entry is None or not entry.get("ended"))
            out[r.pid] = (lives, entry)
    return out


def _missing_python_fix(python: str, host: str, output: str, code: int | None) -> str:
    from .. import __version__

    if code == 127 or ("not found" in output and "No module named" not in output):
        return (
            f"{python!r} is not on the PATH of a non-interactive shell on {host}: give the absolute path of a "
            "Python that has workbench (python= / RunSettings.python / --python)."
        )
    if "No module named 'workbench" in output or "No module named workbench" in output:
        return (
            f"The Python {python!r} on {host} has no workbench. Install it there (`{python} -m pip install "
            f"workbench`, version {__version__} as here), or point python= (RunSettings.python, --python) to an "
            "interpreter that has it."
        )
    return f"See the output above; the remote executor's whole log is {_names.LOGS}/{_names.SSH_EXECUTOR_LOG} there."


# ---------------------------------------------------------------------------
# Upload
# ---------------------------------------------------------------------------
def _local_files(root: Path, with_logs: bool) -> list[str]:
    """Bundle-relative paths worth uploading (caches, temporary files and local records stay here)."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if rel_dir == _names.LOGS and not with_logs:
            continue
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(".tmp"):
                continue
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if (not rel_dir and name in _LOCAL_ONLY) or rel in _NOT_UPLOADED:
                continue
            out.append(rel)
    return out


_NOT_UPLOADED = frozenset(
    {
        f"{_names.LOGS}/{_names.LOCAL_RUNS}",  # sent as a sanitised copy
        f"{_names.LOGS}/{_names.SSH_EXECUTOR_LOG}",
        f"{_names.LOGS}/{_names.SSH_JOBS}",
    }
)


def _sanitised_local_runs(bundle: Bundle) -> bytes | None:
    """This bundle's run record with every run marked ended (none of them runs on the remote host)."""
    recs = _runs.local_runs(bundle)
    if not recs:
        return None
    for r in recs.values():
        if not r.get("ended"):
            r["ended"] = utc_now()
    return json.dumps(recs, indent=1).encode()


# ---------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------
def _launch_script(remote: str, python: str, args: Sequence[str], env: Mapping[str, str], jobs: bool) -> str:
    log = f"{_names.LOGS}/{_names.SSH_EXECUTOR_LOG}"
    runs_file = f"{_names.LOGS}/{_names.LOCAL_RUNS}"
    envs = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    command = _quote_cmd(python, args)
    polls = int(_START_WAIT / 0.2)
    save_jobs = f"cat > {_names.LOGS}/{_names.SSH_JOBS}" if jobs else ":"
    return f"""
cd -- {shlex.quote(remote)} || exit 3
mkdir -p {_names.LOGS} {_names.OUTPUTS}
{save_jobs}
log={log}
printf '\\n=== %s: started over SSH from %s\\n' "$(date '+%Y-%m-%d %H:%M:%S')" {shlex.quote(socket.gethostname())} >> "$log"
start=$(($(wc -c < "$log") + 1))
if command -v setsid >/dev/null 2>&1; then set -- setsid nohup; else set -- nohup; fi
"$@" env {envs} {command} </dev/null >>"$log" 2>&1 &
pid=$!
echo "wb-pid $pid"
started() {{ [ -f {runs_file} ] && grep -q "\\"pid\\": $pid[^0-9]" {runs_file}; }}
i=0
while :; do
  if started; then echo wb-started; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    if started; then echo wb-started; break; fi
    wait "$pid"; echo "wb-exited $?"; tail -c +"$start" "$log" | tail -c 4000; exit 0
  fi
  i=$((i + 1)); if [ $i -gt {polls} ]; then echo wb-slow; break; fi
  sleep 0.2
done
pwd -P
echo wb-runs
cat {runs_file} 2>/dev/null
exit 0
"""


def _quote_cmd(python: str, args: Sequence[str]) -> str:
    return " ".join([shlex.quote(python), "-c", shlex.quote(_BOOT), ".", *map(shlex.quote, args)])


# ---------------------------------------------------------------------------
# The executor
# ---------------------------------------------------------------------------
class SSHExecutor(Executor):
    """Runs a bundle's jobs on a remote host over SSH, with the embedded executor there.

    Parameters
    ----------
    host
        The remote host, as in ``~/.ssh/config`` (default: the bundle's
        ``RunSettings.host``, else the host of its latest SSH run).
    remote_dir
        Where bundles live on the host; relative paths start in the remote home
        folder.  The bundle goes to ``<remote_dir>/<bundle folder name>``.
        Default: where the latest SSH run on that host went (so running again
        resumes there), else the bundle's ``RunSettings.remote_dir``.
    python
        The remote Python, which must have workbench (default: that of the
        latest SSH run on that host, else the bundle's ``RunSettings.python``).
    workers
        Processes on the remote host (default: the bundle's ``workers``, else
        every remote core).
    env
        Environment variables for the remote run (e.g. ``PYTHONPATH`` where
        job types live, ``OMP_NUM_THREADS``).
    connection
        An open :class:`~workbench.transport.ssh.SSHConnection` to use (it stays
        open); else one is opened with ``connect_options``.
    progress
        Show a progress bar while waiting (``submit(..., wait=True)``).
    poll_seconds
        Seconds between syncs while waiting.
    **connect_options
        Passed to :func:`workbench.transport.connect` (``user``, ``port``,
        ``key_filename``, ``known_hosts``, ``ssh_config``, ...); recorded in
        the bundle (paths, never secrets) so later syncs and runs reconnect
        alike.  ``env`` is not recorded (it may hold secrets): give it again
        when resuming.
    """

    name = "ssh"

    def __init__(
        self,
        host: str | None = None,
        *,
        remote_dir: str | None = None,
        python: str | None = None,
        workers: int | None = None,
        env: Mapping[str, str] | None = None,
        connection: SSHConnection | None = None,
        progress: bool = True,
        poll_seconds: float = 2.0,
        **connect_options: Any,
    ) -> None:
        self.host = host
        self.remote_dir = remote_dir
        self.python = python
        self.workers = workers
        self.env = dict(env or {})
        for k in self.env:
            if not _ENV_NAME.fullmatch(k):
                raise ExecutorError(f"env name {k!r} is not a valid environment variable name; use letters, digits and _.")
        self.connection = connection
        self.progress = progress
        self.poll_seconds = poll_seconds
        self.connect_options = connect_options

    # -- the protocol ---------------------------------------------------------
    def submit(self, bundle: Bundle, job_ids: Selection | Sequence[str], *, wait: bool = True) -> RunReport | SSHRun:
        """Run ``job_ids`` on the remote host; with ``wait``, follow the run to its end and return its report.

        ``job_ids`` may also name a selection (``"unfinished"``, ``"failed"``,
        ``"all"``), made on the remote host from its own outputs and log.
        """
        handle = self.start(bundle, job_ids if isinstance(job_ids, str) else list(job_ids))
        if not wait:
            return handle
        try:
            return handle.follow(progress=self.progress, interval=self.poll_seconds)
        finally:
            handle.close()

    def remove(self, bundle: Bundle, job_ids: Sequence[str] | None = None) -> None:
        """Stop the bundle's running SSH run (it aborts its jobs cleanly); whole runs only."""
        if job_ids is not None:
            raise ExecutorError("The SSH executor stops whole runs: call remove(bundle) without job ids.")
        stop(bundle, connection=self.connection, **self.connect_options)

    # -- starting -------------------------------------------------------------
    def start(
        self,
        bundle: Bundle,
        only: Selection | Sequence[str] = "unfinished",
        *,
        upload_progress: Callable[[int, int], None] | None = None,
    ) -> SSHRun:
        """Upload what the remote copy lacks and start the remote executor, detached.

        Parameters
        ----------
        bundle
            The local bundle.
        only
            ``"unfinished"``, ``"failed"`` or ``"all"`` (selected on the remote
            host, from its own outputs and log), or a list of job ids.
        upload_progress
            Called as ``upload_progress(bytes_sent, bytes_total)``.

        Returns
        -------
        SSHRun
            A handle to follow, sync and stop the run.

        Raises
        ------
        ExecutorError
            No host, a run of the bundle still alive (here or there), or the
            remote executor did not start (the message holds its command and output).
        TransportError
            The host cannot be reached, or the upload failed.
        """
        from ..bundle import open_bundle
        from ..transport.ssh import connect

        bundle = open_bundle(bundle)
        settings = bundle.settings
        # Unless told otherwise, a run goes where the bundle's latest SSH run went (that is what resumes it).
        recs = runs(bundle)
        last = recs[-1] if recs and (self.host or settings.host or recs[-1].host) == recs[-1].host else None
        host = self.host or settings.host or (last.host if last else "")
        if not host:
            raise ExecutorError(
                f"No remote host for {bundle.path}: pass host= (SSHExecutor('myhost'), --host on the command line) "
                "or create the bundle with RunSettings(target='ssh', host='myhost')."
            )
        connect_options = dict(self.connect_options)
        if last is not None and not connect_options and self.connection is None:
            connect_options = dict(last.connect)
        python = self.python or (last.python if last else settings.python)
        last_dir = None
        if last is not None and last.remote_dir.endswith(f"/{bundle.path.name}"):
            last_dir = last.remote_dir.rsplit("/", 1)[0] or "/"
        remote_dir = (self.remote_dir or last_dir or settings.remote_dir or ".").rstrip("/") or "/"
        remote = f"{remote_dir}/{bundle.path.name}" if remote_dir != "/" else f"/{bundle.path.name}"
        workers = self.workers or settings.workers
        ids = check_selection(bundle, only)
        _refuse_live_local_run(bundle)

        conn = self.connection or connect(host, **connect_options)
        own = self.connection is None
        try:
            _refuse_live_remote_run(bundle, conn, host)
            listing = _remote_listing(conn, remote)
            there = listing[1] if listing is not None else set()
            fresh = f"{_names.LOGS}/{_names.EVENT_LOG}" not in there and f"{_names.LOGS}/{_names.LOCAL_RUNS}" not in there
            local = _local_files(bundle.path, with_logs=fresh)
            if listing is not None:
                _check_same_bundle(bundle, f"{host}:{listing[0]}", there, listing[2], local)
            files = [f for f in local if f not in there]
            if listing is not None and listing[2] is not None and listing[2] != (bundle.path / _names.INFO).read_bytes():
                files += [f for f in _GROWING if f in there and f in local]  # grown since the last upload
            extra: dict[str, bytes] = {}
            if fresh:
                record = _sanitised_local_runs(bundle)
                if record is not None:
                    extra[f"{_names.LOGS}/{_names.LOCAL_RUNS}"] = record
            uploaded = conn.upload_files(bundle.path, files, remote, extra=extra, progress=upload_progress)

            args = ["--only", str(only)] if ids is None else ["--jobs", f"{_names.LOGS}/{_names.SSH_JOBS}"]
            if workers:
                args += ["--workers", str(workers)]
            rec = self._launch(conn, bundle, host, remote, python, args, ids, connect_options)
        except BaseException:
            if own:
                conn.close()
            raise
        return SSHRun(bundle, rec, connection=conn, own_connection=own, uploaded=uploaded, env=self.env,
                      workers=self.workers)  # fmt: skip

    def _launch(self, conn: SSHConnection, bundle: Bundle, host: str, remote: str, python: str, args: list[str],
                ids: list[str] | None, connect_options: Mapping[str, Any]) -> RemoteRun:  # fmt: skip
        remote_path = conn.remote_path(remote)
        from ..registry import exported_env  # the job type as found here: the remote never imports what a bundle names

        env = {**exported_env(bundle.info.get("job_type")), **self.env}
        script = _launch_script(remote_path, python, args, env, jobs=ids is not None)
        stdin = "".join(f"{j}\n" for j in ids).encode() if ids is not None else None
        text, err, code = _run_script(conn, script, "start the remote executor", stdin=stdin,
                                      timeout=_START_WAIT + 60)  # fmt: skip
        dest = conn.settings.destination
        shown = f"cd {shlex.quote(remote_path)} && {_quote_cmd(python, args)}"
        m = re.search(r"^wb-pid (\d+)$", text, re.M)
        if m is None:
            raise ExecutorError(
                f"Could not start the remote executor on {dest} (exit code {code}): "
                f"{(err or text).strip()[-1000:] or '(no output)'}. Check that {remote_path} is writable there."
            )
        pid = int(m.group(1))
        exited = re.search(r"^wb-exited (-?\d+)$", text, re.M)
        if exited is not None:
            output = text[exited.end() :].strip() or "(no output)"
            rc = int(exited.group(1))
            if rc == 0 and "Nothing to run" in output:
                raise ExecutorError(
                    f"Nothing to run on {dest}: every selected job of {remote_path} has a result there already. "
                    f"Bring them home with `workbench sync {shlex.quote(str(bundle.path))}`, or run them again "
                    "with --only all."
                )
            raise ExecutorError(
                f"The remote executor on {dest} exited at once (exit code {rc}). Command:\n    {shown}\n"
                f"Output:\n{_indent(output)}\n{_missing_python_fix(python, host, output, rc)}"
            )
        where = re.search(r"^wb-(?:started|slow)\n(.*)$", text, re.M)
        abs_dir = where.group(1) if where is not None else ""
        remote_runs = _remote_runs(text)
        cluster, entry = next(((int(c), v) for c, v in remote_runs.items() if v.get("pid") == pid), (None, {}))
        rec = RemoteRun(
            host=host,
            remote_dir=abs_dir.strip() or remote_path,
            pid=pid,
            cluster=cluster,
            destination=dest,
            hostname=str(entry.get("host", "")),
            python=python,
            started=str(entry.get("started") or utc_now()),
            ended=None,
            connect=_connect_record(connect_options),
        )
        _save_run(bundle, rec)
        return rec


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.splitlines())


def _refuse_live_local_run(bundle: Bundle) -> None:
    for c, r in _runs.live_local_runs(bundle):
        if r.get("host") == socket.gethostname():
            raise ExecutorError(
                f"{bundle.path} is being run on this machine by process {r['pid']} (run {c}, started {r['started']}). "
                f"Wait for it or stop it (Ctrl-C in its terminal, or kill -INT {r['pid']}), then run it over SSH."
            )


def _refuse_live_remote_run(bundle: Bundle, conn: SSHConnection, host: str) -> None:
    """Refuse a second run while one lives; mark runs that died as ended (after pulling their last events)."""
    pending = [r for r in runs(bundle) if r.running]
    for rec in pending:
        with _connection_for(rec, conn if rec.host == host else None, {}) as c:
            lives, entry = _remote_status(c, [rec]).get(rec.pid, (False, None))
            if lives:
                raise ExecutorError(
                    f"{bundle.path} is already running on {rec.host} (pid {rec.pid} there, run {rec.cluster}, started "
                    f"{rec.started}). Follow it with `workbench sync {shlex.quote(str(bundle.path))} --every 30`, or stop "
                    f"it with `workbench stop {shlex.quote(str(bundle.path))}` (workbench.executors.ssh.stop(bundle)), "
                    "then run again."
                )
            try:
                _sync_pull(bundle, c, rec, include=None, exclude=(), progress=None, verify=False)
            except TransportError as e:
                if e.errno != _errno.ENOENT:  # a remote folder removed since: nothing left to pull
                    raise
            _end(bundle, rec, entry)


@contextmanager
def _connection_for(rec: RemoteRun, connection: SSHConnection | None, overrides: Mapping[str, Any]) -> Iterator[SSHConnection]:
    if connection is not None:
        yield connection
        return
    from ..transport.ssh import connect

    conn = connect(rec.host, **{**rec.connect, **overrides})
    try:
        yield conn
    finally:
        conn.close()


def _adopt_cluster(bundle: Bundle, rec: RemoteRun, entry: Mapping[str, Any] | None) -> bool:
    """Take the run's cluster from its remote record ``entry`` once it has one, and save it; whether it did."""
    if rec.cluster is not None or not entry or entry.get("cluster") is None:
        return False
    rec.cluster = int(entry["cluster"])
    _save_run(bundle, rec)
    return True


def _end(bundle: Bundle, rec: RemoteRun, entry: Mapping[str, Any] | None) -> None:
    rec.ended = str((entry or {}).get("ended") or utc_now())
    if not _adopt_cluster(bundle, rec, entry):
        _save_run(bundle, rec)


# ---------------------------------------------------------------------------
# Sync
# ---------------------------------------------------------------------------
def _sync_pull(
    bundle: Bundle,
    conn: SSHConnection,
    rec: RemoteRun,
    *,
    include: Sequence[str] | None,
    exclude: Sequence[str],
    progress: Callable[[SyncProgress], None] | None,
    verify: bool,
    stop: Any = None,
    since: float | None = None,
) -> SyncReport:
    from ..transport.sync import RemotePath, sync

    remote = RemotePath(rec.host, rec.remote_dir, conn.settings.user, conn.settings.port)
    return sync(remote, bundle.path, include=include, exclude=[*SYNC_EXCLUDE, *exclude], progress=progress,
                verify=verify, connection=conn, stop=stop, since=since)  # fmt: skip


def _latest(bundle: Bundle) -> RemoteRun:
    recs = runs(bundle)
    if not recs:
        raise ExecutorError(
            f"{bundle.path} has not run over SSH (no {_names.SSH_RUNS}), so there is nowhere to sync from. Run it "
            "with workbench.executors.ssh.run(bundle, host=...) (`workbench run BUNDLE --target ssh --host HOST`), "
            "or mirror any remote folder with workbench.transport.sync('HOST:PATH', bundle.path)."
        )
    return recs[-1]


def sync_bundle(
    bundle: Bundle | str | os.PathLike[str],
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    progress: Callable[[SyncProgress], None] | None = None,
    verify: bool = False,
    connection: SSHConnection | None = None,
    **connect_options: Any,
) -> SyncReport:
    """Pull ``outputs/`` and ``logs/`` of a bundle that runs (or ran) over SSH into the local bundle.

    Where from comes from the bundle's record of its latest SSH run.  First
    asks whether the remote executor still lives; after the pull, a run that
    is gone is marked ended, so :class:`~workbench.state.ScanState` shows jobs
    a killed run left behind as "interrupted".

    Parameters
    ----------
    bundle
        The local bundle (or its path).
    include, exclude
        Glob patterns (see :class:`~workbench.transport.PathFilter`); ``include``
        None means ``outputs/**`` and ``logs/**``.  :data:`SYNC_EXCLUDE`
        (temporary files, the remote's process record) is always excluded.
    progress
        Called with a :class:`~workbench.transport.SyncProgress` as files move.
    verify
        Also compare SHA-256 checksums with the remote's.
    connection
        An open connection to the host to reuse (it stays open).
    **connect_options
        Override the recorded connection options (``user``, ``port``,
        ``key_filename``, ``known_hosts``, ...).

    Returns
    -------
    SyncReport

    Raises
    ------
    ExecutorError
        The bundle never ran over SSH.
    TransportError, HostKeyError
        As :func:`workbench.transport.sync`.
    """
    from ..bundle import open_bundle

    b = open_bundle(bundle)
    report, _ = _sync(b, connection, include=include, exclude=exclude, progress=progress, verify=verify,
                      overrides=connect_options)  # fmt: skip
    return report


def _sync(
    bundle: Bundle,
    connection: SSHConnection | None,
    *,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    progress: Callable[[SyncProgress], None] | None = None,
    verify: bool = False,
    overrides: Mapping[str, Any] | None = None,
    stop: Any = None,
    since: float | None = None,
) -> tuple[SyncReport, RemoteRun]:
    rec = _latest(bundle)
    with _connection_for(rec, connection, overrides or {}) as conn:
        status = _remote_status(conn, [rec]) if rec.running else {}
        report = _sync_pull(bundle, conn, rec, include=include, exclude=exclude, progress=progress, verify=verify,
                            stop=stop, since=since)  # fmt: skip
        if rec.running and not report.cancelled:
            lives, entry = status.get(rec.pid, (False, None))
            _adopt_cluster(bundle, rec, entry)
            if not lives:
                # Only now: its last events are here, so nothing it finished looks interrupted.
                _end(bundle, rec, entry)
    return report, rec


def syncer(bundle: Bundle | str | os.PathLike[str], *, interval: float = 30.0, **options: Any) -> Syncer:
    """A :class:`~workbench.transport.Syncer` pulling the bundle's latest SSH run every ``interval`` seconds.

    ``options`` are those of :class:`~workbench.transport.Syncer` (hooks,
    ``include``, ``exclude``, ...); :data:`SYNC_EXCLUDE` is always added.  The
    background rounds do not ask whether the remote executor lives: call
    :func:`sync_bundle` (or :meth:`SSHRun.sync`) for that.
    """
    from ..bundle import open_bundle
    from ..transport.sync import RemotePath, Syncer

    b = open_bundle(bundle)
    rec = _latest(b)
    options["exclude"] = [*SYNC_EXCLUDE, *options.get("exclude", ())]
    connect = {**rec.connect, **{k: options.pop(k) for k in list(options) if k in _CONNECT_KEYS}}
    return Syncer(RemotePath(rec.host, rec.remote_dir), b.path, interval=interval, **options, **connect)


# ---------------------------------------------------------------------------
# The run handle
# ---------------------------------------------------------------------------
class SSHRun(RunHandle):
    """A run of the SSH executor: follow it, sync it, stop it, run failed jobs again.

    Get one from :meth:`SSHExecutor.start`, ``wb.run(bundle, target="ssh",
    wait=False)``, or ``wb.attach(bundle)`` (the bundle's latest run, e.g. in
    a new session).  Close it (or use ``with``) to close its connection.
    """

    target = "ssh"
    remote = True

    def __init__(
        self,
        bundle: Bundle,
        record: RemoteRun,
        *,
        connection: SSHConnection | None = None,
        own_connection: bool = True,
        uploaded: UploadReport | None = None,
        env: Mapping[str, str] | None = None,
        workers: int | None = None,
    ) -> None:
        super().__init__(bundle)
        self.record = record
        #: What the start uploaded (``files == 0`` when the remote copy had everything).
        self.uploaded = uploaded
        #: The final sync of :meth:`stop`.
        self.last_sync: SyncReport | None = None
        self.env = dict(env or {})
        self.workers = workers
        self._conn = connection
        self._own = own_connection

    @property
    def where(self) -> str:
        return f"{self.record.host}:{self.record.remote_dir}"

    def close(self) -> None:
        """Close the connection if this handle opened it (the remote run goes on)."""
        if self._own and self._conn is not None:
            self._conn.close()
        self._conn = None

    @property
    def connection(self) -> SSHConnection:
        if self._conn is not None and self._own and not self._conn.connected:
            self._conn.close()  # dropped (the host went away): open a new one
            self._conn = None
        if self._conn is None:
            from ..transport.ssh import connect

            self._conn = connect(self.record.host, **self.record.connect)
            self._own = True
        return self._conn

    @property
    def cluster(self) -> int | None:
        return self.record.cluster

    @property
    def done(self) -> bool:
        """Whether the run is known to have ended (updated by :meth:`sync` and :meth:`alive`)."""
        return not self.record.running

    def alive(self) -> bool:
        """Ask the host whether the remote executor still runs."""
        if not self.record.running:
            return False
        lives, entry = _remote_status(self.connection, [self.record]).get(self.record.pid, (False, None))
        _adopt_cluster(self.bundle, self.record, entry)
        return lives

    def sync(self, **options: Any) -> SyncReport:
        """Pull outputs and logs now (see :func:`sync_bundle`; ``options`` are its keywords)."""
        report, rec = _sync(self.bundle, self.connection, **options)
        if (rec.host, rec.remote_dir, rec.pid) == (self.record.host, self.record.remote_dir, self.record.pid):
            self.record = rec
        return report

    def stop(self, timeout: float = 60.0) -> str:
        """Stop the remote executor cleanly and pull what it wrote.

        Sends SIGINT: the remote executor stops its jobs, writes abort events
        for every job it had not finished and exits.  After ``timeout`` seconds
        it is killed (its process group, SIGKILL); those jobs then show as
        "interrupted".  Finished jobs are kept: running again resumes.

        Returns
        -------
        str
            What happened, for people; the final sync is :attr:`last_sync`.
        """
        rec = self.record
        self.last_sync = None
        if not rec.running:
            return f"Nothing to stop: run {rec.cluster} on {rec.host} has ended."
        lives, _ = _remote_status(self.connection, [rec]).get(rec.pid, (False, None))
        if lives:
            p = int(rec.pid)
            polls = max(1, int(timeout / 0.1))
            script = (
                f"kill -INT {p} 2>/dev/null || {{ echo wb-gone; exit 0; }}\n"
                f"i=0; while kill -0 {p} 2>/dev/null; do\n"
                f"  i=$((i + 1)); if [ $i -gt {polls} ]; then kill -KILL -- -{p} 2>/dev/null || kill -KILL {p}; "
                "echo wb-killed; exit 0; fi\n"
                "  sleep 0.1\n"
                "done\necho wb-stopped\n"
            )
            text, _, _ = _run_script(self.connection, script, f"stop the remote executor (pid {p})", timeout=timeout + 30)
            if "wb-killed" in text:
                import warnings

                warnings.warn(
                    f"The remote executor (pid {p} on {rec.host}) did not stop within {timeout} s of SIGINT and was "
                    "killed; its unfinished jobs show as interrupted. Run again to resume.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        self.last_sync = self.sync()
        return f"Run {rec.cluster} on {rec.host} has stopped; unfinished jobs were removed. {self.last_sync.summary()}"

    def resubmit(self, job_ids: Sequence[str] | None = None) -> str:
        """Run ``job_ids`` (default: failed, held, removed, interrupted) again on the same host, as a new run."""
        if not self.done and self.alive():
            raise ExecutorError(
                f"{self.bundle.path} is still running on {self.record.host}; wait for the run to end, or stop it "
                "(Remove), then resubmit."
            )
        self.sync()
        ids = self._rerun_ids(job_ids)
        if not ids:
            return "There are no failed jobs to resubmit."
        rec = self.record
        remote_dir = rec.remote_dir.rsplit("/", 1)[0] or "/"
        ex = SSHExecutor(rec.host, remote_dir=remote_dir, python=rec.python, workers=self.workers, env=self.env,
                         connection=self.connection, **rec.connect)  # fmt: skip
        new = ex.start(self.bundle, ids)
        self.record = new.record
        return f"Resubmitted {len(ids):,} job(s) as run {new.record.cluster} on {rec.host}."


# ---------------------------------------------------------------------------
# Module-level conveniences
# ---------------------------------------------------------------------------
def run(
    bundle: Bundle | str | os.PathLike[str],
    *,
    only: Selection | Sequence[str] = "unfinished",
    host: str | None = None,
    remote_dir: str | None = None,
    python: str | None = None,
    workers: int | None = None,
    env: Mapping[str, str] | None = None,
    wait: bool = True,
    progress: bool = True,
    connection: SSHConnection | None = None,
    **connect_options: Any,
) -> RunReport | SSHRun:
    """Run jobs of ``bundle`` on a remote host over SSH; see :class:`SSHExecutor`.

    With ``wait`` (the default) the run is followed to its end (synced every
    few seconds, with a progress bar) and its :class:`~workbench.executors.RunReport`
    returned; Ctrl-C stops the remote run cleanly, as locally.  Otherwise an
    :class:`SSHRun` handle is returned at once and the run goes on detached.

    Examples
    --------
    >>> h = run(bundle, host="bigbox", python="/opt/envs/wb/bin/python", wait=False)  # doctest: +SKIP
    >>> h.sync(); h.state().summary()                                                  # doctest: +SKIP
    >>> h.stop()                                                                       # doctest: +SKIP
    """
    from ..bundle import open_bundle

    b = open_bundle(bundle)
    ex = SSHExecutor(host, remote_dir=remote_dir, python=python, workers=workers, env=env, connection=connection,
                     progress=progress, **connect_options)  # fmt: skip
    return ex.submit(b, only, wait=wait)


def start(
    bundle: Bundle,
    *,
    only: Selection | Sequence[str] = "unfinished",
    upload_progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> SSHRun:
    """The ``ssh`` target's start: upload, start detached, return the handle.

    ``options`` are those of :class:`SSHExecutor` (``host``, ``remote_dir``,
    ``python``, ``workers``, ``env``, ``connection``, connection options).
    """
    ex = SSHExecutor(**options)
    return ex.start(bundle, only, upload_progress=upload_progress)


def attach(bundle: Bundle | str | os.PathLike[str], record: Any = None, *, connection: SSHConnection | None = None,
           **connect_options: Any) -> SSHRun:  # fmt: skip
    """A handle to the bundle's latest SSH run (or the one ``record`` names), e.g. after restarting the notebook."""
    from ..bundle import open_bundle

    b = open_bundle(bundle)
    rec = _latest(b)
    if record is not None:
        details = getattr(record, "details", record)
        rec = RemoteRun.from_dict(details) if details else rec
    if connect_options:
        rec.connect = {**rec.connect, **_connect_record(connect_options)}
    return SSHRun(b, rec, connection=connection, own_connection=connection is None)


def stop(bundle: Bundle | str | os.PathLike[str], *, timeout: float = 60.0, connection: SSHConnection | None = None,
         **connect_options: Any) -> str:  # fmt: skip
    """Stop the bundle's running SSH run cleanly and pull what it wrote; what happened, for people."""
    with attach(bundle, connection=connection, **connect_options) as handle:
        return handle.stop(timeout)


# ---------------------------------------------------------------------------
# The remote side
# ---------------------------------------------------------------------------
def remote_main(argv: Sequence[str] | None = None) -> int:
    """The remote half: run the embedded executor on a bundle; SIGINT aborts it cleanly.

    Started by :class:`SSHExecutor` as
    ``python -c "...remote_main..." BUNDLE (--only SELECTION | --jobs FILE) [--workers N]``.
    """
    # Started as a background job, this process inherited SIGINT ignored: take it back,
    # so `kill -INT` aborts the run cleanly, as Ctrl-C does locally.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(prog="workbench-ssh-remote")
    parser.add_argument("bundle")
    parser.add_argument("--only", choices=SELECTIONS, default="unfinished")
    parser.add_argument("--jobs", metavar="FILE", default=None, help="run these job ids (one a line)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)

    from .. import __version__
    from ..bundle import open_bundle
    from .base import select_jobs
    from .local import LocalExecutor

    try:
        bundle = open_bundle(args.bundle)
        if args.jobs:
            wanted = Path(args.bundle, args.jobs).read_text().split()
            ids = select_jobs(bundle, wanted)
        else:
            ids = select_jobs(bundle, args.only)
        print(f"workbench {__version__} on {socket.gethostname()}: running {len(ids):,} job(s) of {bundle.path}", flush=True)
        report = LocalExecutor(args.workers or bundle.settings.workers, progress=False).submit(bundle, ids)
    except KeyboardInterrupt:
        print("Interrupted: unfinished jobs were aborted; run again to resume.", flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the log is all the caller sees
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2
    assert isinstance(report, RunReport)
    print(report, flush=True)
    return 1 if report.failed else 0
