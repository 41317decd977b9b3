"""Every magic file and directory name of a job bundle, in one place."""

from __future__ import annotations

#: Format version of bundles this workbench writes.  Bumped when the layout
#: or a file's meaning changes; :func:`workbench.bundle.open_bundle` refuses
#: versions it does not know.
BUNDLE_FORMAT = 1

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

INPUT_SUFFIX = ".json"
RESULT_SUFFIX = ".result.json"
ARRAYS_SUFFIX = ".arrays.npz"
STDOUT_SUFFIX = ".out"
STDERR_SUFFIX = ".err"

#: HTCondor's conventional exit code for "I wrote a checkpoint, restart me".
CHECKPOINT_EXIT_CODE = 85


def input_name(job_id: str) -> str:
    return f"{job_id}{INPUT_SUFFIX}"


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
