"""The HTCondor submit description of a bundle (pure: settings in, text out)."""

from __future__ import annotations

from . import _names
from .settings import RunSettings

__all__ = ["render_submit", "ITEM_VARS"]

#: The variables of the single ``queue ... from`` statement, in item-file column order.
ITEM_VARS = ("job_index", "job_id")


def render_submit(*, name: str, job_type: str, count: int, settings: RunSettings, checkpointing: bool) -> str:
    """The text of ``submit_job.sub`` for a bundle.

    Paths are relative to the bundle directory, which is the submit directory
    (``initialdir``); the items are kept in :data:`workbench._names.ITEMS`.
    """
    s = settings
    log = f"{_names.LOGS}/{_names.EVENT_LOG}"
    lines = [
        f"# workbench bundle {name!r}: {count} {job_type} job(s).",
        "# Submit from the bundle directory: condor_submit submit_job.sub",
    ]
    if s.container_image:
        lines += ["universe = container", f"container_image = {s.container_image}"]
    else:
        lines.append("universe = vanilla")
    lines += [
        f"executable = {s.python if s.python.startswith('/') else '/usr/bin/env'}",
        f"arguments = \"{'' if s.python.startswith('/') else s.python + ' '}-m workbench.job $(job_id){_names.INPUT_SUFFIX}\"",
        f"transfer_input_files = {_names.INPUTS}/$(job_id){_names.INPUT_SUFFIX}",
        "should_transfer_files = YES",
        "when_to_transfer_output = ON_EXIT_OR_EVICT" if checkpointing else "when_to_transfer_output = ON_EXIT",
        f"transfer_output_files = $(job_id){_names.RESULT_SUFFIX}, $(job_id){_names.ARRAYS_SUFFIX}",
        f"transfer_output_remaps = \"$(job_id){_names.RESULT_SUFFIX} = {_names.OUTPUTS}/$(job_id){_names.RESULT_SUFFIX}; "
        f"$(job_id){_names.ARRAYS_SUFFIX} = {_names.OUTPUTS}/$(job_id){_names.ARRAYS_SUFFIX}\"",
        f"log = {log}",
        "submit_event_notes = $(job_id)",
        f"output = {_names.LOGS}/$(job_id){_names.STDOUT_SUFFIX}",
        f"error = {_names.LOGS}/$(job_id){_names.STDERR_SUFFIX}",
        f"request_cpus = {s.request_cpus}",
        f"request_memory = {int(s.request_memory_mb or 1024)}M",
        f"request_disk = {int((s.request_disk_mb or 1024) * 1024)}K",
        f"+JobBatchName = \"{(s.batch_name or name).replace(chr(34), '')}\"",
    ]
    if s.max_idle:
        lines.append(f"max_idle = {s.max_idle}")
    if checkpointing:
        lines += [
            f"checkpoint_exit_code = {_names.CHECKPOINT_EXIT_CODE}",
            f"transfer_checkpoint_files = {_names.checkpoint_name('$(job_id)')}",
        ]
    lines += [
        "on_exit_hold = ExitCode =!= 0",
        f"periodic_release = (NumJobStarts < {s.max_retries + 1}) && (HoldReasonCode =!= 1) && ((time() - EnteredCurrentStatus) > 300)",
        f"queue {', '.join(ITEM_VARS)} from {_names.ITEMS}",
        "",
    ]
    return "\n".join(lines)
