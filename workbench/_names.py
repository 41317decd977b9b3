"""Every magic file and directory name of a job bundle, in one place."""

from __future__ import annotations

import re

#: Format version of bundles this workbench writes.  Bumped when the layout
#: or a file's meaning changes; :func:`workbench.bundle.open_bundle` refuses
#: versions it does not know.
BUNDLE_FORMAT = 2
#: Format version of the per-job result records (``outputs/<job_id>.result.json``), kept apart
#: from the bundle's: a new bundle layout leaves the records as they are.
RESULT_FORMAT = 1
#: Formats this workbench still opens.  Format 1 kept every input directly
#: in ``inputs/``; format 2 shards them (see :func:`input_relpath`).
READABLE_FORMATS = (1, 2)

INFO = "info.pkl"
INPUTS = "inputs"
LOGS = "logs"
OUTPUTS = "outputs"
PARAMETERS = "parameters.txt"
SPECIFICATIONS = "specifications.txt"
SUBMIT = "submit_job.sub"
POINTS = "points.csv"
#: The itemdata of the single ``queue ... from`` statement of ``submit_job.sub``.
ITEMS = "jobs.txt"
#: The event log every executor writes, in HTCondor's user-log format.
EVENT_LOG = "scan.log"
CHECKPOINTS = "checkpoints"
#: The local executor's runs ("clusters" of the event log): pid, host, start time.
LOCAL_RUNS = "local_runs.json"
#: Runs of the SSH executor (host, remote folder, remote pid, times), in the bundle's top folder: a JSON
#: list, local only (never uploaded or synced); ``workbench sync BUNDLE`` reads where to sync from here.
SSH_RUNS = "ssh_runs.json"
#: What the SSH executor's detached process prints on the remote host, appended per run (in ``logs/``).
SSH_EXECUTOR_LOG = "ssh_executor.log"
#: The job ids an SSH run was asked to run, one a line (in ``logs/``, when given explicitly).
SSH_JOBS = "ssh_jobs.txt"
#: The results cache (sqlite) in the bundle's top folder: a cache, safe to delete, never synced.
RESULTS_CACHE = "results.sqlite"
#: The analysis notebook a bundle writes for itself (``workbench notebook BUNDLE``).
ANALYZE_NOTEBOOK = "analyze.ipynb"
#: Pool submissions of the bundle (cluster, submit host, time, items), in order: a JSON list.
SUBMISSIONS = "submissions.json"
#: Held (``flock``) while a pool submission is prepared, made and recorded, so that two submissions of
#: the bundle never take the same number or submit the same jobs: an empty file, local only.
SUBMIT_LOCK = ".submit.lock"
#: Items files and submit descriptions of submissions of part of the jobs: ``submissions/<n>.txt``, ``<n>.sub``.
SUBMISSIONS_DIR = "submissions"
#: The job states read from the event log so far, and where reading stopped (numpy ``.npz``, no pickles):
#: a cache in the bundle's top folder, safe to delete, never synced.
STATE_CACHE = "state.npz"
#: The job wrapper for pools that get the code as wheels (``RunSettings.wheels``).
JOB_SCRIPT = "run_job.sh"
#: The wheels transferred with every job when ``RunSettings.wheels`` is set.
WHEELS = "wheels"

INPUT_SUFFIX = ".json"
RESULT_SUFFIX = ".result.json"
ARRAYS_SUFFIX = ".arrays.npz"
STDOUT_SUFFIX = ".out"
STDERR_SUFFIX = ".err"
#: Per-job results pickled by the old questionnaire scripts; read only by the converter.
LEGACY_RESULT_SUFFIX = ".pkl"

#: HTCondor's conventional exit code for "I wrote a checkpoint, restart me".
CHECKPOINT_EXIT_CODE = 85


#: Job ids are the first 16 hex digits of a hash (:func:`workbench.scan.point_id`); nothing else is one.
JOB_ID_LENGTH = 16
_JOB_ID = re.compile(r"[0-9a-f]{16}")


def is_job_id(text: object) -> bool:
    """Whether ``text`` has the form of a job id (so every path made from it stays where it is put)."""
    return isinstance(text, str) and _JOB_ID.fullmatch(text) is not None


def check_job_id(job_id: object, where: str = "") -> str:
    """``job_id`` if it has the form of a job id, else a :class:`~workbench.errors.JobIdError` naming it."""
    if isinstance(job_id, str) and _JOB_ID.fullmatch(job_id) is not None:
        return job_id
    from .errors import JobIdError

    shown = repr(job_id) if len(repr(job_id)) <= 60 else repr(job_id)[:57] + "..."
    raise JobIdError(
        f"{shown}{' (' + where + ')' if where else ''} is not a job id: job ids are {JOB_ID_LENGTH} hex digits "
        "(0-9, a-f). The bundle is damaged or was edited; re-create it from its scan."
    )


def worker_crash_name(pid: int) -> str:
    """Where an embedded-executor worker's faulthandler writes the Python stack of a crash (in ``logs/``;
    hidden, so never synced; read into the job's ``.err`` log and removed by the executor)."""
    return f".worker-{pid}.crash"


def input_name(job_id: str) -> str:
    return f"{job_id}{INPUT_SUFFIX}"


#: Inputs are sharded by the first characters of the job id into 256
#: folders of a few hundred files each: creating files in one folder
#: serialises on that folder's lock, so 100,000 files in one folder are
#: written several times slower than the same files in 256 folders.
INPUT_SHARD_CHARS = 2
#: The submit description's macro for the shard folder of the item ``job_id``.
SHARD_MACRO = "input_shard"
SHARD_MACRO_DEFINITION = f"{SHARD_MACRO} = $SUBSTR(job_id,0,{INPUT_SHARD_CHARS})"
#: Where the submit description finds a job's input (its list items are split on commas, so the
#: comma-holding ``$SUBSTR`` call lives in its own macro).
INPUT_MACRO = f"{INPUTS}/$({SHARD_MACRO})/$(job_id){INPUT_SUFFIX}"


def input_shard(job_id: str) -> str:
    """The folder of ``inputs/`` that holds the job's input (format 2 on)."""
    return job_id[:INPUT_SHARD_CHARS]


def input_relpath(job_id: str, bundle_format: int = BUNDLE_FORMAT) -> str:
    """The job's input file relative to the bundle, for a bundle of the given format."""
    if bundle_format == 1:
        return f"{INPUTS}/{input_name(job_id)}"
    return f"{INPUTS}/{input_shard(job_id)}/{input_name(job_id)}"


def result_name(job_id: str) -> str:
    return f"{job_id}{RESULT_SUFFIX}"


def arrays_name(job_id: str) -> str:
    return f"{job_id}{ARRAYS_SUFFIX}"


def stdout_name(job_id: str) -> str:
    return f"{job_id}{STDOUT_SUFFIX}"


def stderr_name(job_id: str) -> str:
    return f"{job_id}{STDERR_SUFFIX}"


def checkpoint_name(job_id: str) -> str:
    return f"{job_id}.ckpt.npz"
