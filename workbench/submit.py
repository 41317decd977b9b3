"""The HTCondor submit description of a bundle (pure: settings in, text out).

``submit_job.sub`` is written with the bundle and is complete: ``condor_submit
submit_job.sub`` in the bundle folder runs every job on a pool, and the
:mod:`workbench.executors.condor` executor submits the same text through the
Python bindings or over SSH.  Everything it refers to is relative to the bundle
folder (the submit directory), so the bundle can be copied to a submit host.

What the description says, and why:

* one ``queue job_index, job_id from jobs.txt``: the items live in a file of the
  bundle (the bindings cannot round-trip inline items through text), and there
  is a single queue statement (HTCondor 25 deprecates several);
* ``log = logs/scan.log`` with ``submit_event_notes = $(job_id)``: the submit
  event of every job carries its id, which is how :mod:`workbench.state` maps
  ``(cluster, proc)`` back to jobs, whatever cluster they ran in;
* no ``transfer_output_files``: a failed job writes no result, and a listed
  output that is missing puts the job on hold with a transfer error, hiding its
  exit code; the result files are routed into ``outputs/`` (and a checkpoint
  left by a failed job into ``checkpoints/``) by ``transfer_output_remaps``;
* ``on_exit_hold`` for a non-zero exit or a signal, with a reason and a
  subcode workbench reads back (:data:`HOLD_EXIT_SUBCODE`,
  :data:`HOLD_SIGNAL_SUBCODE`), and a ``periodic_release`` for transient
  failures (file transfer, a process that could not start, a kill by a
  signal), at most ``max_retries`` times;
* for job types that checkpoint, ``checkpoint_exit_code = 85`` and
  ``transfer_checkpoint_files = <id>.ckpt.npz``: the runner exits 85 after each
  checkpoint (``--exit-on-checkpoint``), HTCondor stores the file and restarts
  the job, also on another machine after an eviction; exit 85 is never a failure.

How the code reaches the execute node is chosen in :class:`~workbench.settings.RunSettings`
(see :func:`code_delivery`): a Python environment already there (``python``),
a container image (``container_image``), or wheels transferred with the job
(``wheels``, run through the :data:`~workbench._names.JOB_SCRIPT` wrapper that
:func:`render_job_script` writes).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from . import _names
from .errors import SubmitError
from .settings import RunSettings

__all__ = [
    "ITEM_VARS",
    "HOLD_EXIT_SUBCODE",
    "HOLD_SIGNAL_SUBCODE",
    "TRANSIENT_HOLD_CODES",
    "RETRY_DELAY_SECONDS",
    "render_submit",
    "render_job_script",
    "code_delivery",
    "job_arguments",
    "read_items",
    "items_text",
    "items_for",
    "with_items",
    "classad_string",
]

#: The variables of the single ``queue ... from`` statement, in item-file column order.
ITEM_VARS = ("job_index", "job_id")

#: ``HoldReasonSubCode`` of a job held by workbench's ``on_exit_hold`` because it exited non-zero.
HOLD_EXIT_SUBCODE = 1
#: ``HoldReasonSubCode`` of a job held by workbench's ``on_exit_hold`` because a signal killed it.
HOLD_SIGNAL_SUBCODE = 2
#: ``HoldReasonCode`` values that are worth an automatic release: the *condor_starter* could not
#: start the process (6), output or input transfer failed (12, 13).  A job that exits non-zero is
#: not retried: a Python exception usually happens again.
TRANSIENT_HOLD_CODES = (6, 12, 13)
#: How long a job stays held before ``periodic_release`` retries it.
RETRY_DELAY_SECONDS = 120

_QUEUE = re.compile(r"^queue\s+(.*)$", re.IGNORECASE | re.MULTILINE)


def classad_string(text: str) -> str:
    """``text`` as a ClassAd string literal that survives the submit language.

    Quotes and backslashes are escaped; ``$`` (submit macros) and line breaks
    are dropped, since neither can be written safely in a submit file.
    """
    clean = " ".join(text.replace("$", "").split())
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def code_delivery(settings: RunSettings) -> str:
    """How the code reaches the execute node: ``"python"``, ``"container"``, ``"wheels"`` or ``"container+wheels"``."""
    parts = []
    if settings.container_image:
        parts.append("container")
    if settings.wheels:
        parts.append("wheels")
    return "+".join(parts) or "python"


def _quote_argument(arg: str) -> str:
    # New-style arguments: whitespace-separated, single quotes group, '' and "" are literal quotes.
    if arg and not any(c.isspace() or c in "'\"" for c in arg):
        return arg
    return "'" + arg.replace("'", "''").replace('"', '""') + "'"


def job_arguments(settings: RunSettings, *, checkpointing: bool) -> list[str]:
    """The runner's arguments on the execute node (after ``-m workbench.job``)."""
    args = [f"$(job_id){_names.INPUT_SUFFIX}", "--outdir", "."]
    if checkpointing:
        # The runner writes <id>.ckpt.npz in its working directory (no --checkpoint-dir), which is
        # what transfer_checkpoint_files names; it exits 85 after each save.
        args += ["--checkpoint-seconds", f"{settings.checkpoint_seconds:g}", "--exit-on-checkpoint"]
    return args


def _executable(settings: RunSettings, checkpointing: bool) -> tuple[str, bool, list[str]]:
    """``(executable, transfer_executable, arguments)``."""
    runner = job_arguments(settings, checkpointing=checkpointing)
    if settings.wheels:
        return _names.JOB_SCRIPT, True, runner
    if settings.python.startswith("/"):
        return settings.python, False, ["-m", "workbench.job", *runner]
    return "/usr/bin/env", False, [settings.python, "-m", "workbench.job", *runner]


def render_submit(
    *,
    name: str,
    job_type: str,
    count: int,
    settings: RunSettings,
    checkpointing: bool,
    items: str = _names.ITEMS,
) -> str:
    """The text of ``submit_job.sub`` for a bundle.

    Parameters
    ----------
    name
        The bundle's name (``+JobBatchName`` when ``settings.batch_name`` is empty).
    job_type
        The job type's name, for the comment at the top.
    count
        The number of jobs, for the comment at the top.
    settings
        Resources (already filled from the cost model by ``RunSettings.with_cost``),
        retries, late materialisation, checkpoint interval and code delivery.
    checkpointing
        Whether the job type checkpoints.
    items
        The items file of the ``queue`` statement, relative to the bundle.

    Returns
    -------
    str
        The description; paths are relative to the bundle directory, which is the
        submit directory (``initialdir``).
    """
    from .jobtype import _NAME

    if not _NAME.fullmatch(job_type):  # it goes into the text as it is
        raise SubmitError(f"Job type name {job_type[:60]!r} is not a name (letters, digits, '_', '-', '.').")
    s = settings
    executable, transfer_exe, args = _executable(s, checkpointing)
    ckpt = _names.checkpoint_name("$(job_id)")
    result = _names.result_name("$(job_id)")
    arrays = _names.arrays_name("$(job_id)")
    inputs = [_names.INPUT_MACRO]
    if s.wheels:
        inputs.append(_names.WHEELS)
    remaps = [
        f"{result} = {_names.OUTPUTS}/{result}",
        f"{arrays} = {_names.OUTPUTS}/{arrays}",
        f"{ckpt} = {_names.CHECKPOINTS}/{ckpt}",
    ]
    memory = int(s.request_memory_mb or 1024)
    disk = int(s.request_disk_mb or 1024)
    lines = [
        f"# workbench bundle {classad_string(name)}: {count:,} {job_type} job(s).",
        f"# Submit from the bundle folder: condor_submit {_names.SUBMIT}",
        f"# (workbench run --target condor, or condor-ssh, does this and records the cluster in {_names.SUBMISSIONS}.)",
        f"# Code on the execute node: {code_delivery(s)}.",
        "",
    ]
    if s.container_image:
        lines += ["universe = container", f"container_image = {s.container_image}"]
    else:
        lines.append("universe = vanilla")
    lines += [
        f"executable = {executable}",
        f"transfer_executable = {'true' if transfer_exe else 'false'}",
        'arguments = "' + " ".join(_quote_argument(a) for a in args) + '"',
        "",
        "should_transfer_files = YES",
        "when_to_transfer_output = ON_EXIT",
        f"# Inputs are sharded by the first {_names.INPUT_SHARD_CHARS} characters of the job id: inputs/ab/ab....json",
        _names.SHARD_MACRO_DEFINITION,
        f"transfer_input_files = {', '.join(inputs)}",
        "# No transfer_output_files: every file the job makes is brought back, and a failed job",
        "# (which makes none) keeps its exit code instead of a transfer error.",
        'transfer_output_remaps = "' + "; ".join(remaps) + '"',
    ]
    if checkpointing:
        lines += [
            f"checkpoint_exit_code = {_names.CHECKPOINT_EXIT_CODE}",
            f"transfer_checkpoint_files = {ckpt}",
        ]
    lines += [
        "",
        f"log = {_names.LOGS}/{_names.EVENT_LOG}",
        "submit_event_notes = $(job_id)",
        f"output = {_names.LOGS}/{_names.stdout_name('$(job_id)')}",
        f"error = {_names.LOGS}/{_names.stderr_name('$(job_id)')}",
        "notification = never",
        "",
        f"request_cpus = {s.request_cpus}",
        f"request_memory = {memory}MB",
        f"request_disk = {disk}MB",
        f"+JobBatchName = {classad_string(s.batch_name or name)}",
    ]
    if s.max_idle:
        lines.append(f"max_idle = {s.max_idle}")
    ok_codes = f"(ExitCode =!= 0) && (ExitCode =!= {_names.CHECKPOINT_EXIT_CODE})"
    lines += [
        "",
        "# A job that fails is held (not left to vanish from the queue) with its exit code or signal;",
        f"# exit {_names.CHECKPOINT_EXIT_CODE} means \"checkpoint written, restart me\", never a failure.",
        f"on_exit_hold = (ExitBySignal =?= true) || ({ok_codes})",
        f"on_exit_hold_subcode = ifThenElse(ExitBySignal =?= true, {HOLD_SIGNAL_SUBCODE}, {HOLD_EXIT_SUBCODE})",
        'on_exit_hold_reason = ifThenElse(ExitBySignal =?= true, strcat("workbench: the job was killed by signal ", '
        'ExitSignal), strcat("workbench: the job exited with code ", ExitCode))',
        f"# Transient failures are released after {RETRY_DELAY_SECONDS} s, at most {s.max_retries} time(s).",
        "periodic_release = ((HoldReasonCode =?= 3 && HoldReasonSubCode =?= "
        f"{HOLD_SIGNAL_SUBCODE}) || member(HoldReasonCode, {{{', '.join(str(c) for c in TRANSIENT_HOLD_CODES)}}})) "
        f"&& (NumHolds <= {s.max_retries}) && ((time() - EnteredCurrentStatus) > {RETRY_DELAY_SECONDS})",
        "",
        f"queue {', '.join(ITEM_VARS)} from {items}",
        "",
    ]
    return "\n".join(lines)


def render_job_script(settings: RunSettings) -> str | None:
    """The wrapper that installs the transferred wheels and runs the job, or ``None`` when not needed.

    It installs every wheel of ``wheels/`` into ``_wbenv`` in the job's
    sandbox (once: a job restarted after a checkpoint reuses it), puts it on
    ``PYTHONPATH`` and runs ``python -m workbench.job`` with the job's arguments.
    """
    if not settings.wheels:
        return None
    py = settings.python.replace("'", "")
    return f"""#!/bin/sh
# workbench: run one job with the code transferred as wheels ({_names.WHEELS}/).
# Installs them into the job's sandbox once, then runs the job runner.
set -e
py='{py}'
if [ ! -f _wbenv/.complete ]; then
    rm -rf _wbenv && mkdir _wbenv
    "$py" -m pip install --quiet --disable-pip-version-check --no-input --no-index \\
        --find-links {_names.WHEELS} --target _wbenv {_names.WHEELS}/*.whl >&2
    touch _wbenv/.complete
fi
PYTHONPATH="$PWD/_wbenv${{PYTHONPATH:+:$PYTHONPATH}}"
export PYTHONPATH
exec "$py" -m workbench.job "$@"
"""


def read_items(text: str) -> list[dict[str, str]]:
    """The items of an items file (``jobs.txt``) as itemdata dicts, in order."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == len(ITEM_VARS):
            out.append(dict(zip(ITEM_VARS, parts)))
        elif parts:
            raise SubmitError(
                f"Items line {line!r} does not have {len(ITEM_VARS)} fields ({', '.join(ITEM_VARS)}); "
                f"the bundle's {_names.ITEMS} is damaged. Re-create the bundle."
            )
    return out


def items_text(items: Iterable[Mapping[str, str]]) -> str:
    """Items as the text of an items file."""
    return "".join(" ".join(str(item[v]) for v in ITEM_VARS) + "\n" for item in items)


def items_for(bundle_path: str | Path, job_ids: Sequence[str]) -> list[dict[str, str]]:
    """The items of ``job_ids`` (in bundle order) from the bundle's items file."""
    wanted = set(job_ids)
    items = [it for it in read_items((Path(bundle_path) / _names.ITEMS).read_text()) if it["job_id"] in wanted]
    if len(items) != len(wanted):
        missing = sorted(wanted - {it["job_id"] for it in items})
        raise SubmitError(
            f"Job id(s) {missing[:5]} are not in {Path(bundle_path) / _names.ITEMS}: they are not jobs of this "
            f"bundle. Use ids it has (bundle.job_ids; `workbench status {shlex.quote(str(bundle_path))} --jobs STATES` "
            "lists them by state)."
        )
    return items


def with_items(submit_text: str, items: str) -> str:
    """The description with its queue statement taking the items from ``items`` instead."""
    found = _QUEUE.findall(submit_text)
    if len(found) != 1:
        raise SubmitError(
            f"The submit description has {len(found)} queue statements; workbench writes exactly one. "
            f"Re-create the bundle to get a fresh {_names.SUBMIT}."
        )
    return _QUEUE.sub(f"queue {', '.join(ITEM_VARS)} from {items}", submit_text, count=1)
