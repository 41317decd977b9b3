"""The submit description: complete, parsed by the real bindings, and consistent with the job runner."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import htcondor2
import pytest
from htcondor2 import classad

from workbench import _names
from workbench.errors import ParameterError, SubmitError
from workbench.job import main as job_main
from workbench.settings import RunSettings
from workbench.state import ScanState
from workbench.submit import (
    HOLD_EXIT_SUBCODE,
    HOLD_SIGNAL_SUBCODE,
    classad_string,
    code_delivery,
    items_for,
    read_items,
    render_job_script,
    render_submit,
    with_items,
)

MODES = {
    "python-name": RunSettings(),
    "python-path-with-space": RunSettings(python="/opt/my envs/scan 1/bin/python3"),
    "container": RunSettings(container_image="docker://python:3.11-slim"),
    "wheels": RunSettings(wheels="dist"),
    "container+wheels": RunSettings(container_image="/cvmfs/images/py311.sif", wheels="dist"),
}


def parse_in(folder: Path, text: str) -> htcondor2.Submit:
    """The description parsed by the bindings, with items read from ``folder`` (the submit directory)."""
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        sub = htcondor2.Submit(text)
        sub.items_read = list(sub.itemdata())  # type: ignore[attr-defined]
        return sub
    finally:
        os.chdir(cwd)


def evaluate(expr: str, **attrs: object) -> object:
    ad = classad.ClassAd(attrs)
    ad["X"] = classad.ExprTree(expr)
    return ad.eval("X")


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("checkpointing", [False, True])
def test_every_description_parses_and_queues_every_job(make_bundle, mode, checkpointing):
    settings = MODES[mode]
    values = {"x": [0.5, 1.5, 2.5, 3.5]} if not checkpointing else {"steps": [2, 3, 4, 5]}
    b = make_bundle(
        f"b-{mode}-{checkpointing}", settings=settings, job_type="condor_test_ckpt" if checkpointing else "condor_test", **values
    )
    text = (b.path / _names.SUBMIT).read_text()
    assert len(re.findall(r"^queue\b", text, re.MULTILINE | re.IGNORECASE)) == 1
    assert text.rstrip().splitlines()[-1] == f"queue job_index, job_id from {_names.ITEMS}"  # items in a file, not inline
    sub = parse_in(b.path, text)
    assert sub.items_read == [{"job_index": str(i), "job_id": j} for i, j in enumerate(b.job_ids)]
    assert sub.getQArgs() == f"job_index, job_id from {_names.ITEMS}"

    assert sub["log"] == "logs/scan.log" and sub["submit_event_notes"] == "$(job_id)"
    assert sub["output"] == "logs/$(job_id).out" and sub["error"] == "logs/$(job_id).err"
    assert sub["should_transfer_files"] == "YES" and sub["when_to_transfer_output"] == "ON_EXIT"
    assert "transfer_output_files" not in sub  # a failed job makes none; see the module docstring of submit.py
    remaps = dict(part.split(" = ") for part in sub["transfer_output_remaps"].strip('"').split("; "))
    assert remaps == {
        "$(job_id).result.json": "outputs/$(job_id).result.json",
        "$(job_id).arrays.npz": "outputs/$(job_id).arrays.npz",
        "$(job_id).ckpt.npz": "checkpoints/$(job_id).ckpt.npz",
    }
    cost = b.info["cost"]
    s = b.settings
    assert s.request_memory_mb is not None and s.request_memory_mb >= cost["max_memory_mb"]  # filled by with_cost
    assert sub["request_memory"] == f"{int(s.request_memory_mb)}MB"
    assert sub["request_disk"] == f"{int(s.request_disk_mb)}MB"
    assert sub["request_cpus"] == "1"
    assert sub["MY.JobBatchName"] == f'"{b.name}"'
    assert "max_idle" not in sub
    assert sub["notification"] == "never"

    inputs = [x.strip() for x in sub["transfer_input_files"].split(",")]
    assert inputs[0] == _names.INPUT_MACRO
    jid = b.job_ids[0]
    sub["job_id"] = jid  # what HTCondor sets from the item: the macro names the file the bundle holds
    assert (b.path / sub.expand("transfer_input_files").split(",")[0].strip()) == b.input_path(jid)
    assert b.input_path(jid).is_file()
    if "wheels" in mode:
        assert inputs[1:] == [_names.WHEELS]
        assert sub["executable"] == _names.JOB_SCRIPT and sub["transfer_executable"] == "true"
        args = sub["arguments"].strip('"').split()
    else:
        assert len(inputs) == 1
        assert sub["transfer_executable"] == "false"  # the interpreter is already on the node (or in the image)
        args = sub["arguments"].strip('"').split()
        if s.python.startswith("/"):
            assert sub["executable"] == s.python
            assert args[:2] == ["-m", "workbench.job"]
        else:
            assert sub["executable"] == "/usr/bin/env"
            assert args[:3] == [s.python, "-m", "workbench.job"]
        args = args[args.index("workbench.job") + 1 :]
    if "container" in mode:
        assert sub["universe"] == "container" and sub["container_image"] == s.container_image
    else:
        assert sub["universe"] == "vanilla" and "container_image" not in sub
    assert args[:3] == ["$(job_id).json", "--outdir", "."]
    if checkpointing:
        assert sub["checkpoint_exit_code"] == "85"
        assert sub["transfer_checkpoint_files"] == "$(job_id).ckpt.npz"
        assert args[3:] == ["--checkpoint-seconds", f"{s.checkpoint_seconds:g}", "--exit-on-checkpoint"]
    else:
        assert "checkpoint_exit_code" not in sub and "transfer_checkpoint_files" not in sub
        assert args[3:] == []
    assert code_delivery(s) == mode.replace("python-name", "python").replace("python-path-with-space", "python")


def test_resources_batch_name_and_late_materialisation_come_from_the_settings(make_bundle):
    settings = RunSettings(
        request_cpus=4, request_memory_mb=3000, request_disk_mb=20_000, max_idle=500, batch_name='my "resonance" scan',
        max_retries=5,
    )
    b = make_bundle("big scan", settings=settings)
    sub = parse_in(b.path, (b.path / _names.SUBMIT).read_text())
    assert (sub["request_cpus"], sub["request_memory"], sub["request_disk"]) == ("4", "3000MB", "20000MB")
    assert sub["max_idle"] == "500"
    assert classad.ExprTree(sub["MY.JobBatchName"]).eval() == 'my "resonance" scan'
    assert "(NumHolds <= 5)" in sub["periodic_release"]


def test_names_with_quotes_spaces_and_macros_are_safe(tmp_path):
    text = render_submit(
        name="it's a \"test\" $(Cluster) scan\nsecond line", job_type="demo", count=2, settings=RunSettings(), checkpointing=False
    )
    (tmp_path / _names.ITEMS).write_text("0 aaaa\n1 bbbb\n")
    sub = parse_in(tmp_path, text)
    assert classad.ExprTree(sub["MY.JobBatchName"]).eval() == "it's a \"test\" (Cluster) scan second line"
    assert len(sub.items_read) == 2
    assert classad_string('a\\b"c') == '"a\\\\b\\"c"'


def test_python_must_be_a_command_or_an_absolute_path():
    with pytest.raises(ParameterError, match="absolute path"):
        RunSettings(python="my python")


def test_failure_policy_holds_non_zero_exits_and_signals_but_never_a_checkpoint_exit():
    text = render_submit(name="s", job_type="demo", count=1, settings=RunSettings(max_retries=2), checkpointing=True)
    sub = htcondor2.Submit(text)
    hold, reason, subcode, release = (
        sub["on_exit_hold"], sub["on_exit_hold_reason"], sub["on_exit_hold_subcode"], sub["periodic_release"],
    )
    assert evaluate(hold, ExitBySignal=False, ExitCode=0) is False
    assert evaluate(hold, ExitBySignal=False, ExitCode=85) is False  # checkpoint_exit_code: restart, not failure
    assert evaluate(hold, ExitBySignal=False, ExitCode=1) is True
    assert evaluate(hold, ExitBySignal=True, ExitSignal=9) is True
    assert evaluate(reason, ExitBySignal=False, ExitCode=3) == "workbench: the job exited with code 3"
    assert evaluate(reason, ExitBySignal=True, ExitSignal=9) == "workbench: the job was killed by signal 9"
    assert evaluate(subcode, ExitBySignal=False, ExitCode=3) == HOLD_EXIT_SUBCODE
    assert evaluate(subcode, ExitBySignal=True, ExitSignal=9) == HOLD_SIGNAL_SUBCODE

    old = 0  # EnteredCurrentStatus long ago: the retry delay has passed
    def released(**ad: object) -> object:
        return evaluate(release, EnteredCurrentStatus=old, **ad)

    assert released(HoldReasonCode=3, HoldReasonSubCode=HOLD_SIGNAL_SUBCODE, NumHolds=1) is True  # killed: retried
    assert released(HoldReasonCode=3, HoldReasonSubCode=HOLD_EXIT_SUBCODE, NumHolds=1) is False  # an exception: not
    assert released(HoldReasonCode=13, HoldReasonSubCode=2, NumHolds=2) is True  # input transfer failed
    assert released(HoldReasonCode=12, HoldReasonSubCode=2, NumHolds=3) is False  # the cap: max_retries = 2
    assert released(HoldReasonCode=1, HoldReasonSubCode=0, NumHolds=1) is False  # condor_hold by the user
    assert released(HoldReasonCode=34, HoldReasonSubCode=102, NumHolds=1) is False  # memory: retrying cannot help
    assert evaluate(release, HoldReasonCode=12, HoldReasonSubCode=2, NumHolds=1, EnteredCurrentStatus=2**40) is False


def test_the_hold_reason_the_pool_writes_is_read_back_as_a_failure_with_its_exit_code(log_bundle):
    sub = htcondor2.Submit(render_submit(name="s", job_type="demo", count=1, settings=RunSettings(), checkpointing=False))
    reason = evaluate(sub["on_exit_hold_reason"], ExitBySignal=False, ExitCode=7)
    b = log_bundle(ids=["00000000000000aa"])
    b.log_path.write_text(
        "000 (077.000.000) 2025-03-14 09:00:00 Job submitted from host: <10.0.4.21:9618>\n    00000000000000aa\n...\n"
        "001 (077.000.000) 2025-03-14 09:00:05 Job executing on host: <10.0.7.1:9618>\n...\n"
        f"012 (077.000.000) 2025-03-14 09:01:00 Job was held.\n\t{reason}\n\tCode 3 Subcode {HOLD_EXIT_SUBCODE}\n...\n"
    )
    st = ScanState(b, cache=False)
    st.update()
    rec = st.jobs["00000000000000aa"]
    assert (rec.state, rec.exit_code, rec.hold_code, rec.hold_reason) == ("failed", 7, 3, reason)


def test_runner_writes_what_the_description_transfers_and_exits_85_after_checkpoints(make_bundle, tmp_path, monkeypatch):
    """Run the job the way an execute node does: in an empty sandbox with the input, the description's arguments."""
    b = make_bundle("ck", job_type="condor_test_ckpt", settings=RunSettings(checkpoint_seconds=1e-6), steps=[3])
    jid = b.job_ids[0]
    sub = htcondor2.Submit((b.path / _names.SUBMIT).read_text())
    args = sub["arguments"].strip('"').split()
    args = [a.replace("$(job_id)", jid) for a in args[args.index("workbench.job") + 1 :]]
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / _names.input_name(jid)).write_bytes(b.input_path(jid).read_bytes())  # transfer_input_files
    monkeypatch.chdir(sandbox)
    ckpt = sub["transfer_checkpoint_files"].replace("$(job_id)", jid)
    codes = []
    for _ in range(5):
        codes.append(job_main(args))
        if codes[-1] == 0:
            break
        assert codes[-1] == 85 and (sandbox / ckpt).exists()  # what HTCondor stores and brings back
    assert codes == [85, 85, 0]
    remapped = {k.replace("$(job_id)", jid) for k in (x.split(" = ")[0] for x in sub["transfer_output_remaps"].strip('"').split("; "))}
    made = {p.name for p in sandbox.iterdir()} - {_names.input_name(jid)}
    assert made == {_names.result_name(jid), _names.arrays_name(jid)} and made <= remapped
    assert not (sandbox / ckpt).exists()  # cleared once the result is safe


def test_job_script_installs_the_wheels_once_then_runs_the_runner(tmp_path):
    """The wrapper with a stand-in interpreter that records how it is called."""
    log = tmp_path / "calls.txt"
    fake = tmp_path / "bin" / "python3"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$PYTHONPATH | $*" >> {log}\n')
    fake.chmod(0o755)
    script = render_job_script(RunSettings(python=str(fake), wheels="dist"))
    assert script is not None and render_job_script(RunSettings()) is None
    sandbox = tmp_path / "sandbox"
    (sandbox / _names.WHEELS).mkdir(parents=True)
    (sandbox / _names.WHEELS / "workbench-0.1.0-cp311-cp311-linux_x86_64.whl").write_bytes(b"")
    path = sandbox / _names.JOB_SCRIPT
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    assert subprocess.run(["sh", "-n", str(path)]).returncode == 0
    for _ in range(2):  # a restart after a checkpoint reuses the environment
        r = subprocess.run([str(path), "abc.json", "--outdir", "."], cwd=sandbox, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    assert "-m pip install" in calls[0] and "--no-index --find-links wheels --target _wbenv" in calls[0]
    assert calls[1].endswith("| -m workbench.job abc.json --outdir .") and calls[1].startswith(f"{sandbox}/_wbenv")
    assert calls[2] == calls[1]


def test_items_helpers(tmp_path):
    (tmp_path / _names.ITEMS).write_text("0 aa\n1 bb\n2 cc\n")
    assert items_for(tmp_path, ["cc", "aa"]) == [{"job_index": "0", "job_id": "aa"}, {"job_index": "2", "job_id": "cc"}]
    with pytest.raises(SubmitError, match="not in"):
        items_for(tmp_path, ["zz"])
    with pytest.raises(SubmitError, match="damaged"):
        read_items("0 aa extra\n")
    text = render_submit(name="s", job_type="demo", count=3, settings=RunSettings(), checkpointing=False)
    moved = with_items(text, "submissions/2.txt")
    assert moved.count("queue ") == 1 and moved.rstrip().endswith("queue job_index, job_id from submissions/2.txt")
    with pytest.raises(SubmitError, match="2 queue statements"):
        with_items(text + "queue\n", "x.txt")
