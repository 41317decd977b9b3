"""Running a bundle on an HTCondor pool: from a submit node, or from a laptop through a submit host.

Two executors share one way of working:

* :class:`CondorExecutor` talks to the schedd of this machine with the
  Python bindings (``htcondor2.Schedd().submit(submit, itemdata=iter(items))``,
  one transaction for the whole scan; ``Schedd.act`` to hold, release and
  remove; ``Schedd.query`` for the optional queue view).
* :class:`CondorSSHExecutor` uploads the bundle to a submit host over SSH,
  runs ``condor_submit`` there and reads the cluster id from its output;
  ``condor_hold``/``condor_release``/``condor_rm``/``condor_q`` do the rest,
  and :meth:`CondorSSHExecutor.pull` brings the event log and the results
  back (:func:`workbench.transport.sync`).

Every submission is recorded in the bundle (:data:`~workbench._names.SUBMISSIONS`:
cluster, target, submit host, schedd, time, items), which is what
:class:`~workbench.state.ScanState` uses to tell queued jobs from unsubmitted
ones and which cluster of a job counts.  Submitting part of the jobs (the
failed ones again, say) writes their items to ``submissions/<n>.txt`` and
the description with its queue statement pointing there to
``submissions/<n>.sub``: a new cluster over just those items.

Nothing here needs a pool to be tested: the schedd is injectable
(``CondorExecutor(schedd=...)``), and the SSH executor runs whatever
``condor_submit`` the submit host has on its ``PATH``.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _names
from .. import runs as _runs
from .._jsonfile import utc_now
from ..errors import ExecutorError, SubmitError, TransportError
from ..submit import items_for, items_text, render_job_script, with_items
from .base import Executor, RunReport
from .handle import RunHandle, report_from_state

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..state import ScanState
    from ..transport.ssh import SSHConnection
    from ..transport.sync import SyncReport

__all__ = [
    "submit",
    "hold",
    "release",
    "remove",
    "resubmit",
    "CondorExecutor",
    "CondorSSHExecutor",
    "Submission",
    "submissions",
    "executor_for",
    "CondorRun",
    "start",
    "attach",
    "parse_cluster",
    "QUERY_INTERVAL",
    "ACTIVE",
]

#: The schedd is asked at most this often (seconds) per executor; the event log is the source of truth.
QUERY_INTERVAL = 60.0
#: States of jobs that are in the queue (so they must not be submitted again).
ACTIVE = ("idle", "running", "suspended", "held")
#: What each action selects by default.
DEFAULT_STATES = {
    "hold": ("idle", "running", "suspended"),
    "release": ("held", "failed"),
    "remove": ("idle", "running", "suspended", "held", "failed"),
    "resubmit": ("failed", "removed"),
}
_QUERY_ATTRS = ("ClusterId", "ProcId", "JobStatus", "HoldReason", "HoldReasonCode", "HoldReasonSubCode",
                "RemoteHost", "NumJobStarts", "EnteredCurrentStatus", "SubmitEventNotes")
# condor_hold and friends take job ids on their command line; keep each line well below ARG_MAX.
_IDS_PER_COMMAND = 2000
_SUBMITTED = re.compile(r"(\d+) job\(s\) submitted to cluster (\d+)\.")
_TERSE = re.compile(r"^\s*(\d+)\.(\d+)\s*-\s*(\d+)\.(\d+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Submission:
    """One submission of (part of) a bundle to a pool: one cluster."""

    n: int
    cluster: int
    count: int
    target: str
    host: str
    time: str
    items: str = _names.ITEMS
    submit: str = _names.SUBMIT
    schedd: str = ""
    remote_dir: str = ""
    condor_bin: str = ""
    user: str = ""
    command: str = ""
    output: str = field(default="", repr=False)
    #: Connection options given explicitly for a submit host (paths and numbers, never secrets), reused to reconnect.
    connect: dict[str, Any] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        where = f"{self.host}:{self.remote_dir}" if self.remote_dir else self.host
        return f"Submitted {self.count:,} job(s) as cluster {self.cluster} on {where} ({self.target}, {self.time})."

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Submission:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


# ---------------------------------------------------------------------------
# The record of submissions (submissions.json)
# ---------------------------------------------------------------------------
def submissions(bundle: Bundle) -> list[Submission]:
    """The pool submissions of ``bundle``, oldest first."""
    return [Submission.from_dict(d) for d in _runs.read_submissions(bundle)]


def parse_cluster(output: str) -> tuple[int, int]:
    """``(cluster, job count)`` from what ``condor_submit`` printed.

    Understands the normal output (``3 job(s) submitted to cluster 1234.``)
    and ``-terse`` (``1234.0 - 1234.2``).

    Raises
    ------
    SubmitError
        When neither is there.
    """
    m = _SUBMITTED.search(output)
    if m:
        return int(m.group(2)), int(m.group(1))
    t = _TERSE.search(output)
    if t:
        return int(t.group(1)), int(t.group(4)) - int(t.group(2)) + 1
    raise SubmitError(
        "condor_submit did not say which cluster it made (expected a line like "
        f"'3 job(s) submitted to cluster 1234.'); its output was:\n{output.strip() or '(nothing)'}"
    )


# ---------------------------------------------------------------------------
# The local schedd
# ---------------------------------------------------------------------------
class CondorExecutor(Executor):
    """Submits to, and acts on, the HTCondor schedd of this machine (a submit node).

    Parameters
    ----------
    schedd
        A ``htcondor2.Schedd`` (or an object with its ``submit``, ``act`` and
        ``query`` methods); by default the local schedd, located on first use.
    schedd_name
        Ask the collector for this schedd instead of the local one.
    """

    name = "condor"

    def __init__(self, *, schedd: Any = None, schedd_name: str | None = None) -> None:
        self._schedd = schedd
        self.schedd_name = schedd_name
        self._queue: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self.clock = time.monotonic

    # -- the schedd ---------------------------------------------------------
    @property
    def schedd(self) -> Any:
        if self._schedd is None:
            import htcondor2

            try:
                if self.schedd_name:
                    ad = htcondor2.Collector().locate(htcondor2.DaemonType.Schedd, self.schedd_name)
                    self._schedd = htcondor2.Schedd(ad)
                else:
                    self._schedd = htcondor2.Schedd()
            except htcondor2.HTCondorException as e:
                which = f"schedd {self.schedd_name!r}" if self.schedd_name else "schedd on this machine"
                raise ExecutorError(
                    f"No HTCondor {which} found (htcondor2.Schedd(): {e}). Are you on a submit node? "
                    "Run workbench there, or submit through one over SSH: target='condor-ssh' with "
                    "host='<submit host>' (workbench run BUNDLE --target condor-ssh --host HOST)."
                ) from e
        return self._schedd

    def _where(self) -> tuple[str, str]:
        """(submit host, schedd name) for the record."""
        return socket.gethostname(), self.schedd_name or ""

    # -- submitting ---------------------------------------------------------
    def submit(
        self, bundle: Bundle, job_ids: Sequence[str], *, wait: bool = False, state: ScanState | None = None
    ) -> Submission:
        """Submit ``job_ids`` of ``bundle`` as one new cluster and record it.

        Parameters
        ----------
        bundle
            The bundle.
        job_ids
            The jobs to submit (all of them, or part: then the items go to
            ``submissions/<n>.txt``).
        wait
            Block until every submitted job has ended (polling the event log).
        state
            The bundle's current :class:`~workbench.state.ScanState`, when the
            caller has one (else it is read, over SSH after pulling the log).

        Raises
        ------
        SubmitError
            A job id is not in the bundle, jobs are still queued, or the schedd
            refused the submission.
        ExecutorError
            There is no schedd.
        """
        with _runs.submission_lock(bundle):
            sub = self._submit_now(bundle, job_ids, state)
        if wait:
            self.wait(bundle)
        return sub

    def _submit_now(self, bundle: Bundle, job_ids: Sequence[str], state: ScanState | None) -> Submission:
        """:meth:`submit` under the bundle's submit lock."""
        items, partial = self._prepare(bundle, job_ids, state)
        # The one number of this submission: it names its files and its record.
        n = len(submissions(bundle)) + 1
        submit_rel, items_rel = self._write_description(bundle, items, partial, n)
        return self._submit(bundle, items, submit_rel, items_rel, n)

    def _prepare(
        self, bundle: Bundle, job_ids: Sequence[str], st: ScanState | None = None
    ) -> tuple[list[dict[str, str]], bool]:
        """The items to submit (checked), after staging what the jobs need."""
        job_ids = list(job_ids)
        if not job_ids:
            raise SubmitError(f"Nothing to submit: no job of {bundle.path} was selected.")
        items = items_for(bundle.path, job_ids)  # unknown ids: a SubmitError naming them
        if st is None:
            st = self.state(bundle)
        pool = _pool_clusters(bundle)
        queued = [j for j in job_ids if st.jobs[j].state in ACTIVE and st.jobs[j].cluster in pool]
        if queued:
            rec = st.jobs[queued[0]]
            raise SubmitError(
                f"{len(queued):,} of the selected jobs are still in the queue (e.g. {queued[0]}: {rec.state} in "
                f"cluster {rec.cluster}); submitting them again would run them twice. Remove them first "
                f"(workbench remove {shlex.quote(str(bundle.path))}), or resubmit only failed and removed jobs "
                f"(workbench resubmit {shlex.quote(str(bundle.path))})."
            )
        self._stage(bundle)
        return items, len(items) != len(st.jobs)

    def _stage(self, bundle: Bundle) -> None:
        """Folders the description writes into, and the wheels and wrapper when the code travels as wheels."""
        for sub in (_names.LOGS, _names.OUTPUTS, _names.CHECKPOINTS):
            (bundle.path / sub).mkdir(exist_ok=True)
        settings = bundle.settings
        script = render_job_script(settings)
        if script is None:
            return
        src = Path(settings.wheels).expanduser()
        wheels = sorted(src.glob("*.whl")) if src.is_dir() else [src] if src.suffix == ".whl" and src.is_file() else []
        if not wheels:
            raise SubmitError(
                f"wheels = {settings.wheels!r}: no wheel there. Build them with "
                "`pip wheel --wheel-dir wheels <your project>` (the project's wheel and its dependencies) "
                "and set wheels to that folder, or use python= or container_image= instead."
            )
        dest = bundle.path / _names.WHEELS
        dest.mkdir(exist_ok=True)
        for w in wheels:
            target = dest / w.name
            if not target.exists():
                try:
                    os.link(w, target)
                except OSError:
                    shutil.copy2(w, target)
        path = bundle.path / _names.JOB_SCRIPT
        path.write_text(script)
        path.chmod(0o755)

    def _write_description(self, bundle: Bundle, items: list[dict[str, str]], partial: bool, n: int) -> tuple[str, str]:
        """The submit file and items file (bundle-relative) of submission ``n``."""
        if not partial:
            return _names.SUBMIT, _names.ITEMS
        folder = bundle.path / _names.SUBMISSIONS_DIR
        folder.mkdir(exist_ok=True)
        items_rel = f"{_names.SUBMISSIONS_DIR}/{n}.txt"
        submit_rel = f"{_names.SUBMISSIONS_DIR}/{n}.sub"
        (bundle.path / items_rel).write_text(items_text(items))
        text = with_items((bundle.path / _names.SUBMIT).read_text(), items_rel)
        (bundle.path / submit_rel).write_text(text)
        return submit_rel, items_rel

    def _submit(self, bundle: Bundle, items: list[dict[str, str]], submit_rel: str, items_rel: str, n: int) -> Submission:
        import htcondor2

        text = (bundle.path / submit_rel).read_text()
        try:
            description = htcondor2.Submit(text)
        except Exception as e:  # noqa: BLE001 - the bindings raise several types for a bad description
            raise SubmitError(
                f"{bundle.path / submit_rel} is not a valid submit description ({e}). Re-create the bundle, or "
                "fix the file and check it with `condor_submit -dry-run - " + submit_rel + "` in the bundle folder."
            ) from e
        # The bindings resolve relative paths against the Python process's folder: anchor them.
        description["initialdir"] = str(bundle.path)
        exe = description.get("executable", "")
        if exe and not exe.startswith("/"):
            description["executable"] = str(bundle.path / exe)
        schedd = self.schedd
        try:
            result = schedd.submit(description, itemdata=iter(items))
        except Exception as e:  # noqa: BLE001 - HTCondorException, ValueError, ...
            raise SubmitError(
                f"The schedd refused the submission of {len(items):,} job(s) of {bundle.path} ({submit_rel}, items "
                f"{items_rel}): {e}. Check the description with `condor_submit -dry-run - {submit_rel}` in the "
                "bundle folder, and the schedd with `condor_q`."
            ) from e
        cluster = int(result.cluster())
        host, schedd_name = self._where()
        return self._remember(
            bundle,
            Submission(
                n=n, cluster=cluster, count=len(items), target=self.name, host=host, time=utc_now(), items=items_rel,
                submit=submit_rel, schedd=schedd_name, user=getpass.getuser(),
                command=f"htcondor2.Schedd().submit(Submit({submit_rel}), itemdata=<{len(items)} items of {items_rel}>)",
            ),
        )

    def _remember(self, bundle: Bundle, sub: Submission) -> Submission:
        _runs.add_submission(bundle, asdict(sub))
        return sub

    def resubmit(self, bundle: Bundle, job_ids: Sequence[str] | None = None, *, states: Sequence[str] | None = None) -> Submission:
        """Submit the failed and removed jobs again as a new cluster over just those items.

        Failed jobs that are still in the queue (held by ``on_exit_hold``) are
        removed first, so no job runs twice.
        """
        if job_ids is not None:
            items_for(bundle.path, job_ids)  # unknown ids: a SubmitError naming them, before anything is done
        with _runs.submission_lock(bundle):
            return self._resubmit_now(bundle, job_ids, states)

    def _resubmit_now(self, bundle: Bundle, job_ids: Sequence[str] | None, states: Sequence[str] | None) -> Submission:
        """:meth:`resubmit` under the bundle's submit lock."""
        # One state for the whole action (over SSH each read pulls the log).
        st = self.state(bundle)
        ids = list(job_ids) if job_ids is not None else st.ids(*(states or DEFAULT_STATES["resubmit"]))
        if not ids:
            raise SubmitError(f"No failed or removed job to resubmit in {bundle.path}: {st.summary()}")
        pool = _pool_clusters(bundle)
        in_queue = [j for j in ids if st.jobs[j].state in ("failed", "held") and st.jobs[j].proc is not None
                    and st.jobs[j].cluster in pool]
        if in_queue:
            self._act(bundle, "remove", in_queue, "workbench: resubmitted as a new cluster", st)
            for j in in_queue:  # the log will say "removed" shortly; do not wait for it
                st.jobs[j].state = "removed"
        return self._submit_now(bundle, ids, st)

    # -- acting on jobs -------------------------------------------------------
    def state(self, bundle: Bundle) -> ScanState:
        from ..state import ScanState

        st = ScanState(bundle)
        st.update()
        return st

    def _select(
        self, bundle: Bundle, action: str, job_ids: Sequence[str] | None, st: ScanState | None = None
    ) -> tuple[dict[int, list[int]], list[int], list[str]]:
        """``({cluster: [procs]}, [whole clusters], [skipped ids])`` for an action on ``job_ids``."""
        if st is None:
            st = self.state(bundle)
        pool = _pool_clusters(bundle)
        ids = list(job_ids) if job_ids is not None else st.ids(*DEFAULT_STATES[action])
        procs: dict[int, list[int]] = {}
        skipped: list[str] = []
        unmade: dict[int, set[str]] = {}
        for j in ids:
            rec = st.jobs.get(j)
            if rec is None or rec.cluster is None or rec.cluster not in pool:
                skipped.append(j)
            elif rec.proc is None:
                unmade.setdefault(rec.cluster, set()).add(j)
            else:
                procs.setdefault(rec.cluster, []).append(rec.proc)
        whole = []
        clusters = st.by_cluster() if unmade else {}
        selected = set(ids)
        for c, js in unmade.items():
            members = {j for j in clusters.get(c, []) if st.jobs[j].state in ACTIVE or st.jobs[j].state == "failed"}
            if members <= selected:
                whole.append(c)  # the whole cluster, factory included
                procs.pop(c, None)
            else:
                skipped.extend(sorted(js))  # not made yet: only the whole cluster can be acted on
        return procs, whole, skipped

    def _act(
        self, bundle: Bundle, action: str, job_ids: Sequence[str] | None, reason: str | None,
        st: ScanState | None = None,
    ) -> str:
        import htcondor2

        procs, whole, skipped = self._select(bundle, action, job_ids, st)
        kind = {"hold": htcondor2.JobAction.Hold, "release": htcondor2.JobAction.Release,
                "remove": htcondor2.JobAction.Remove}[action]
        done = 0
        for c in whole:
            done += self._act_one(kind, c, reason, action)
        for c, ps in procs.items():
            ids = [f"{c}.{p}" for p in sorted(ps)]
            for k in range(0, len(ids), _IDS_PER_COMMAND):
                done += self._act_one(kind, ids[k : k + _IDS_PER_COMMAND], reason, action)
        return _action_message(action, done, whole, skipped)

    def _act_one(self, kind: Any, spec: Any, reason: str | None, action: str) -> int:
        try:
            # Schedd.act takes the reason as a (text, code) tuple; a plain string would be dropped.
            result = self.schedd.act(kind, spec, (reason, 0) if reason else None)
        except Exception as e:  # noqa: BLE001
            raise ExecutorError(
                f"The schedd refused to {action} {spec} ({e}). Check the jobs with `condor_q {spec if isinstance(spec, int) else ' '.join(spec[:5])}`."
            ) from e
        try:
            return int(result["TotalSuccess"]) if result is not None else 0
        except (KeyError, TypeError, ValueError):
            return 0

    def hold(self, bundle: Bundle, job_ids: Sequence[str] | None = None, *, reason: str | None = None) -> str:
        """Hold queued jobs (default: every idle, running or suspended job); returns a message."""
        return self._act(bundle, "hold", job_ids, reason)

    def release(self, bundle: Bundle, job_ids: Sequence[str] | None = None, *, reason: str | None = None) -> str:
        """Release held jobs (default: every held or failed job still in the queue); returns a message."""
        return self._act(bundle, "release", job_ids, reason)

    def remove(self, bundle: Bundle, job_ids: Sequence[str] | None = None, *, reason: str | None = None) -> str:
        """Remove jobs from the queue (default: every job still in it); returns a message."""
        return self._act(bundle, "remove", job_ids, reason)

    # -- watching -------------------------------------------------------------
    def query(self, bundle: Bundle, *, force: bool = False) -> list[dict[str, Any]]:
        """The queue's view of the bundle's clusters: at most once per :data:`QUERY_INTERVAL` unless ``force``.

        Optional: states come from the event log; this adds what the log
        cannot say yet (jobs a late-materialising cluster has not made, the
        current host).  Apply it with :meth:`ScanState.apply_queue`.
        """
        key = str(bundle.path)
        now = self.clock()
        cached = self._queue.get(key)
        if cached is not None and not force and now - cached[0] < QUERY_INTERVAL:
            return cached[1]
        clusters = sorted({s.cluster for s in submissions(bundle) if s.target == self.name})
        rows = self._query(clusters) if clusters else []
        self._queue[key] = (now, rows)
        return rows

    def _query(self, clusters: list[int]) -> list[dict[str, Any]]:
        constraint = " || ".join(f"ClusterId == {c}" for c in clusters)
        try:
            ads = self.schedd.query(constraint=constraint, projection=list(_QUERY_ATTRS))
        except Exception as e:  # noqa: BLE001
            raise ExecutorError(f"The schedd query `{constraint}` failed ({e}); try `condor_q` by hand.") from e
        return [{k: ad.get(k) for k in _QUERY_ATTRS if ad.get(k) is not None} for ad in ads]

    def wait(self, bundle: Bundle, *, poll: float = 10.0, timeout: float | None = None) -> ScanState:
        """Block until no job of the bundle is queued (idle, running, suspended) any more."""
        from ..state import ScanState

        st = ScanState(bundle)
        start = time.monotonic()
        while True:
            self._refresh(bundle)
            st.update()
            if not st.ids("idle", "running", "suspended"):
                return st
            if timeout is not None and time.monotonic() - start > timeout:
                raise ExecutorError(f"Jobs of {bundle.path} are still queued after {timeout:.0f} s: {st.summary()}")
            time.sleep(poll)

    def _refresh(self, bundle: Bundle) -> None:
        """Bring the event log up to date (nothing to do on the submit node itself)."""


# ---------------------------------------------------------------------------
# Through a submit host over SSH
# ---------------------------------------------------------------------------
class CondorSSHExecutor(CondorExecutor):
    """Submits through a submit host over SSH: upload, ``condor_submit``, record the cluster.

    Parameters
    ----------
    host
        The submit host, as in ``~/.ssh/config``.
    remote_dir
        Where bundles go on the submit host (relative paths start in the
        home folder); the bundle lands in ``<remote_dir>/<bundle folder name>``.
    connection
        An open :class:`~workbench.transport.ssh.SSHConnection` to use (kept open).
    condor_bin
        A folder to put first on the ``PATH`` of the commands run on the submit
        host, for an HTCondor installed outside the default ``PATH`` of a
        non-interactive shell (e.g. ``/opt/condor/bin``).
    **connect_options
        Passed to :func:`workbench.transport.ssh.connect` (``user``, ``port``,
        ``key_filename``, ``known_hosts``, ``trust_on_first_use``, ...).
    """

    name = "condor-ssh"

    def __init__(
        self,
        host: str,
        *,
        remote_dir: str = "workbench",
        connection: SSHConnection | None = None,
        condor_bin: str | None = None,
        **connect_options: Any,
    ) -> None:
        super().__init__()
        self.condor_bin = condor_bin
        if not host:
            raise ExecutorError("target='condor-ssh' needs the submit host: host='submit.example.org' (or --host).")
        self.host = host
        self.remote_dir = remote_dir.rstrip("/") or "."
        self._conn = connection
        self._own_conn = connection is None
        self.connect_options = connect_options

    def close(self) -> None:
        if self._own_conn and self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def connection(self) -> SSHConnection:
        if self._conn is None or not self._conn.connected:
            from ..transport.ssh import connect

            self._conn = connect(self.host, **self.connect_options)
            self._own_conn = True  # made here: close() closes it, even when it replaced the caller's
        return self._conn

    def remote_bundle(self, bundle: Bundle) -> str:
        """The bundle's folder on the submit host."""
        return f"{self.remote_dir}/{bundle.path.name}"

    def _where(self) -> tuple[str, str]:
        return self.host, ""

    def _run(self, command: str, what: str, fix: str) -> Any:
        """Run ``command`` on the submit host; an error says the command, its output and ``fix``."""
        if self.condor_bin:
            command = f'export PATH={shlex.quote(self.condor_bin)}:"$PATH"; {command}'
        try:
            result = self.connection.run(command)
        except TransportError as e:
            raise ExecutorError(f"Could not {what} on {self.host}: `{command}` did not run ({e}).") from e
        if result.exit_code != 0:
            out = "\n".join(x for x in (str(result.stdout).strip(), str(result.stderr).strip()) if x) or "(no output)"
            if result.exit_code == 127 or "command not found" in out:
                fix = (
                    f"{self.host} has no HTCondor tools on the PATH of a non-interactive shell. Is it a submit node? "
                    f"Log in and run `condor_q`; if HTCondor needs a module or profile, load it in ~/.bashrc."
                )
            raise ExecutorError(
                f"Could not {what} on {self.host}: `{command}` exited with code {result.exit_code}:\n{out}\n{fix}"
            )
        return result

    def _submit(self, bundle: Bundle, items: list[dict[str, str]], submit_rel: str, items_rel: str, n: int) -> Submission:
        remote = self.remote_bundle(bundle)
        conn = self.connection
        try:
            if n == 1 or not self._remote_has_bundle(remote):
                conn.upload_dir(bundle.path, remote)
            else:
                self._upload_files(bundle, remote, [submit_rel, items_rel, _names.JOB_SCRIPT])
        except TransportError as e:
            raise SubmitError(f"Uploading {bundle.path} to {self.host}:{remote} failed: {e}") from e
        q = shlex.quote(conn.remote_path(remote))
        command = f"cd {q} && condor_submit {shlex.quote(submit_rel)}"
        try:
            result = self._run(
                command,
                f"submit {len(items):,} job(s)",
                f"Fix the description ({submit_rel} in the bundle), or run the same command on {self.host} to see more.",
            )
        except ExecutorError as e:
            raise SubmitError(str(e)) from e
        output = str(result.stdout) + str(result.stderr)
        try:
            cluster, count = parse_cluster(output)
        except SubmitError as e:
            raise SubmitError(f"`{command}` on {self.host}: {e}") from e
        if count != len(items):
            raise SubmitError(
                f"`{command}` on {self.host} submitted {count} job(s) to cluster {cluster}, but {len(items)} were "
                f"asked for. Check {submit_rel} and {items_rel} there; remove the cluster with `condor_rm {cluster}`."
            )
        return self._remember(
            bundle,
            Submission(
                n=n, cluster=cluster, count=count, target=self.name, host=self.host, time=utc_now(), items=items_rel,
                submit=submit_rel, remote_dir=remote, condor_bin=self.condor_bin or "", user=conn.settings.user,
                connect=_connect_record(self.connect_options),
                command=command, output=output.strip(),
            ),
        )

    def _remote_has_bundle(self, remote: str) -> bool:
        conn = self.connection
        try:
            conn.sftp().stat(conn.remote_path(f"{remote}/{_names.ITEMS}"))
        except OSError:  # TransportError is one too
            return False
        return True

    def _upload_files(self, bundle: Bundle, remote: str, rels: Sequence[str]) -> None:
        """Send those of ``rels`` (relative to the bundle) that exist locally, making remote folders as needed."""
        present = [rel for rel in rels if (bundle.path / rel).exists()]
        self.connection.upload_files(bundle.path, present, remote)

    def _act(
        self, bundle: Bundle, action: str, job_ids: Sequence[str] | None, reason: str | None,
        st: ScanState | None = None,
    ) -> str:
        procs, whole, skipped = self._select(bundle, action, job_ids, st)
        tool = {"hold": "condor_hold", "release": "condor_release", "remove": "condor_rm"}[action]
        specs = [str(c) for c in whole] + [f"{c}.{p}" for c, ps in procs.items() for p in sorted(ps)]
        done = 0
        for k in range(0, len(specs), _IDS_PER_COMMAND):
            chunk = specs[k : k + _IDS_PER_COMMAND]
            opts = f"-reason {shlex.quote(reason)} " if reason and action != "release" else ""
            command = f"{tool} {opts}{' '.join(chunk)}"
            self._run(command, f"{action} {len(chunk)} job(s)", f"Check them with `condor_q {' '.join(chunk[:5])}` on {self.host}.")
            done += len(chunk)
        return _action_message(action, done, whole, skipped)

    def _query(self, clusters: list[int]) -> list[dict[str, Any]]:
        command = f"condor_q -json -attributes {','.join(_QUERY_ATTRS)} {' '.join(str(c) for c in clusters)}"
        result = self._run(command, "ask the queue", "Try the same command on the submit host.")
        text = str(result.stdout).strip()
        try:
            rows = json.loads(text) if text else []
        except ValueError as e:
            raise ExecutorError(f"`{command}` on {self.host} did not print JSON: {text[:200]!r}") from e
        return [{k: row[k] for k in _QUERY_ATTRS if k in row} for row in rows]

    def pull(self, bundle: Bundle, **options: Any) -> SyncReport:
        """Bring the event log, the jobs' stdout/stderr and the results back from the submit host.

        Uses :func:`workbench.transport.sync` (incremental, atomic per file);
        ``options`` are passed to it.
        """
        from ..transport.sync import DEFAULT_INCLUDE, sync

        options.setdefault("include", [*DEFAULT_INCLUDE, f"{_names.CHECKPOINTS}/**"])
        remote = self.connection.remote_path(self.remote_bundle(bundle))
        return sync(f"{self.host}:{remote}", bundle.path, connection=self.connection, **options)

    def _refresh(self, bundle: Bundle) -> None:
        self.pull(bundle)

    def state(self, bundle: Bundle) -> ScanState:
        """The bundle's states, after pulling the log when it was submitted through this kind of executor."""
        if any(s.target == self.name for s in submissions(bundle)):
            self.pull(bundle)
        return super().state(bundle)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _pool_clusters(bundle: Bundle) -> set[int]:
    return {s.cluster for s in submissions(bundle)}


def _action_message(action: str, done: int, whole: list[int], skipped: list[str]) -> str:
    past = {"hold": "held", "release": "released", "remove": "removed"}[action]
    parts = []
    if whole:
        parts.append(f"cluster(s) {', '.join(map(str, whole))}")
    text = f"Asked the pool to {action} {done:,} job(s)" + (f" ({'; '.join(parts)})" if parts else "") + "."
    if not done and not whole:
        text = f"No job to {action}: none of the selected jobs is {'in the queue' if action != 'release' else 'held'}."
    if skipped:
        text += (
            f" {len(skipped):,} selected job(s) were not {past}: they are not in a pool cluster of this bundle, or "
            "their cluster has not made them yet (only the whole cluster can be acted on then)."
        )
    return text


def executor_for(bundle: Bundle, **options: Any) -> CondorExecutor | None:
    """The executor of the bundle's latest pool submission (``None`` if it was never submitted to a pool).

    ``options`` go to the executor (``schedd`` for the local one; SSH connection options for the other).
    """
    subs = submissions(bundle)
    if not subs:
        return None
    last = subs[-1]
    if last.target == "condor-ssh":
        remote_dir = last.remote_dir.rsplit("/", 1)[0] if "/" in last.remote_dir else "."
        return CondorSSHExecutor(last.host, remote_dir=remote_dir, condor_bin=last.condor_bin or None,
                                 **{**last.connect, **options})  # fmt: skip
    return CondorExecutor(schedd_name=last.schedd or None, **options)


def _executor(bundle: Bundle, target: str | None, host: str | None, **options: Any) -> CondorExecutor:
    if target == "condor":
        return CondorExecutor(**options)
    if target == "condor-ssh":
        return CondorSSHExecutor(host or bundle.settings.host, **{"remote_dir": bundle.settings.remote_dir, **options})
    if target is not None:
        raise ExecutorError(f"target = {target!r} is not a pool; use 'condor' or 'condor-ssh'.")
    ex = executor_for(bundle, **options)
    if ex is None:
        raise ExecutorError(
            f"{bundle.path} was never submitted to an HTCondor pool; submit it first with "
            "workbench.executors.condor.submit(bundle, target='condor') (or target='condor-ssh', host=...)."
        )
    return ex


def submit(
    bundle: Bundle | str | os.PathLike[str],
    *,
    target: str | None = None,
    host: str | None = None,
    only: Any = "unfinished",
    **options: Any,
) -> Submission:
    """Submit a bundle's jobs to a pool: ``target="condor"`` (this submit node) or ``"condor-ssh"`` (via ``host``).

    ``target`` defaults to the bundle's settings; ``only`` selects the jobs as
    for :func:`workbench.run` (``"unfinished"``, ``"failed"``, ``"all"`` or ids);
    ``options`` go to the executor (``schedd``, ``remote_dir``, ``condor_bin``,
    SSH connection options).
    """
    from ..bundle import open_bundle
    from .base import select_jobs

    b = open_bundle(bundle)
    target = target or (b.settings.target if b.settings.target in ("condor", "condor-ssh") else "condor")
    with _executor(b, target, host, **options) as ex:
        return ex.submit(b, select_jobs(b, only))


def _action(name: str, bundle: Any, job_ids: Sequence[str] | None, **options: Any) -> Any:
    from ..bundle import open_bundle

    b = open_bundle(bundle)
    reason = options.pop("reason", None)
    with _executor(b, None, None, **options) as ex:
        if name == "resubmit":
            return ex.resubmit(b, job_ids)
        return getattr(ex, name)(b, job_ids, reason=reason)


def hold(bundle: Any, job_ids: Sequence[str] | None = None, *, reason: str | None = None, **options: Any) -> str:
    """Hold the bundle's queued jobs (default: idle, running, suspended) on the pool it was submitted to."""
    return _action("hold", bundle, job_ids, reason=reason, **options)


def release(bundle: Any, job_ids: Sequence[str] | None = None, **options: Any) -> str:
    """Release the bundle's held jobs (default: held, and failed ones still in the queue)."""
    return _action("release", bundle, job_ids, **options)


def remove(bundle: Any, job_ids: Sequence[str] | None = None, *, reason: str | None = None, **options: Any) -> str:
    """Remove the bundle's jobs from the queue (default: every job still in it)."""
    return _action("remove", bundle, job_ids, reason=reason, **options)


def resubmit(bundle: Any, job_ids: Sequence[str] | None = None, **options: Any) -> Submission:
    """Submit the failed and removed jobs (or ``job_ids``) again, as a new cluster over just those items."""
    return _action("resubmit", bundle, job_ids, **options)


class CondorRun(RunHandle):
    """A bundle's run on an HTCondor pool: its latest submission, and the executor that reaches the schedd.

    Get one from ``wb.run(bundle, target="condor" | "condor-ssh", wait=False)``
    or ``wb.attach(bundle)``.  Jobs are acted on through the pool (hold,
    release, remove, resubmit); for a pool reached over SSH, :meth:`sync`
    brings the event log and the results home.
    """

    def __init__(self, bundle: Bundle, executor: CondorExecutor, submission: Submission | None) -> None:
        super().__init__(bundle)
        self.executor = executor
        self.record = submission
        self.target = executor.name
        self.remote = isinstance(executor, CondorSSHExecutor)

    def close(self) -> None:
        self.executor.close()

    @property
    def done(self) -> bool:
        """No job of the bundle is idle, running or suspended in its pool clusters (held jobs wait for you)."""
        pool = _pool_clusters(self.bundle)
        st = self.state()
        return not any(st.jobs[j].cluster in pool for j in st.ids("idle", "running", "suspended"))

    def sync(self, **options: Any) -> SyncReport | None:
        if not self.remote:
            return None
        assert isinstance(self.executor, CondorSSHExecutor)
        return self.executor.pull(self.bundle, **options)

    def report(self) -> RunReport:
        sub = self.record
        return report_from_state(self.bundle, self.state(), self.cluster, sub.time if sub else "", None)

    def stop(self) -> str:
        """Remove every job of the bundle still in the queue."""
        return self.executor.remove(self.bundle)

    def remove(self, job_ids: Sequence[str] | None = None) -> str:
        return self.executor.remove(self.bundle, None if job_ids is None else list(job_ids))

    def release(self, job_ids: Sequence[str] | None = None) -> str:
        return self.executor.release(self.bundle, None if job_ids is None else list(job_ids))

    def hold(self, job_ids: Sequence[str] | None = None, *, reason: str | None = None) -> str:
        return self.executor.hold(self.bundle, None if job_ids is None else list(job_ids), reason=reason)

    def resubmit(self, job_ids: Sequence[str] | None = None) -> str:
        if job_ids is not None and not job_ids:
            return "There are no failed jobs to resubmit."
        self.record = self.executor.resubmit(self.bundle, None if job_ids is None else list(job_ids))
        return str(self.record)


def start(bundle: Bundle, *, only: Any = "unfinished", target: str = "condor", host: str | None = None,
          **options: Any) -> CondorRun:  # fmt: skip
    """The pool targets' start: submit the selected jobs as one new cluster."""
    from .base import select_jobs

    ex = _executor(bundle, target, host, **options)
    try:
        sub = ex.submit(bundle, select_jobs(bundle, only))
    except BaseException:
        ex.close()
        raise
    return CondorRun(bundle, ex, sub)


def attach(bundle: Bundle, record: Any = None, **options: Any) -> CondorRun:
    """The pool targets' attach: a handle on the bundle's latest submission."""
    ex = _executor(bundle, None, None, **options)
    subs = submissions(bundle)
    return CondorRun(bundle, ex, subs[-1] if subs else None)


def _connect_record(options: Mapping[str, Any]) -> dict[str, Any]:
    from .ssh import _connect_record as record

    return record(options)
