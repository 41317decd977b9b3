"""Submitting through a submit host over SSH: upload, ``condor_submit``, record, act, pull the log back.

The submit host is a real OpenSSH server (``tests/sshd.py``).  No HTCondor
pool can run on these machines, so the ``condor_submit``, ``condor_hold``,
``condor_release``, ``condor_rm`` and ``condor_q`` it runs are STAND-INS FOR
THE POOL: small shell scripts put first on the remote ``PATH``
(``condor_bin``).  ``condor_submit`` prints exactly what the real one prints
("Submitting job(s)...", "3 job(s) submitted to cluster 1234.") and, as the
schedd would, appends one submit event per job to the log the description
names; the tests then append the events a pool would write.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workbench import _names
from workbench.errors import ExecutorError, SubmitError
from workbench.executors.condor import CondorSSHExecutor, executor_for, submissions
from workbench.state import ScanState

pytestmark = pytest.mark.ssh

CONDOR_SUBMIT = r"""#!/bin/sh
# STAND-IN for HTCondor's condor_submit (no pool can run in these tests): prints what condor_submit
# prints and, as the schedd would, writes one submit event per job to the description's log.
here=$(dirname "$0")
echo "condor_submit $PWD $*" >> "$here/calls.log"
if [ -f "$here/fail" ]; then cat "$here/fail" >&2; exit 1; fi
sub="$1"
items=$(sed -n 's/^queue job_index, job_id from //p' "$sub")
log=$(sed -n 's/^log = //p' "$sub")
cluster=$(cat "$here/next_cluster" 2>/dev/null || echo 1234)
echo $((cluster + 1)) > "$here/next_cluster"
n=$(grep -c . "$items")
awk -v c="$cluster" '{ printf "000 (%03d.%03d.000) 2025-03-14 09:12:03 Job submitted from host: <10.0.4.21:9618?addrs=10.0.4.21-9618&alias=submit01.example.edu>\n    %s\n...\n", c, NR-1, $2 }' "$items" >> "$log"
printf 'Submitting job(s)'
i=0; while [ $i -lt "$n" ]; do printf '.'; i=$((i + 1)); done
printf '\n%s job(s) submitted to cluster %s.\n' "$n" "$cluster"
"""

ACTION = r"""#!/bin/sh
# STAND-IN for HTCondor's {tool} (no pool here): records its arguments and answers as {tool} does.
echo "{tool} $*" >> "$(dirname "$0")/calls.log"
skip=0
for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case "$a" in -reason) skip=1 ;; -*) ;; *) echo "Job $a {past}" ;; esac
done
"""

CONDOR_Q = r"""#!/bin/sh
# STAND-IN for condor_q -json: prints the ads the test left in queue.json.
echo "condor_q $*" >> "$(dirname "$0")/calls.log"
cat "$(dirname "$0")/queue.json"
"""


@pytest.fixture
def pool_bin(tmp_path: Path) -> Path:
    """A folder of stand-in HTCondor tools (see the module docstring)."""
    d = tmp_path / "condor-bin"
    d.mkdir()
    scripts = {"condor_submit": CONDOR_SUBMIT, "condor_q": CONDOR_Q}
    for tool, past in (("condor_hold", "held"), ("condor_release", "released"), ("condor_rm", "marked for removal")):
        scripts[tool] = ACTION.format(tool=tool, past=past)
    for name, text in scripts.items():
        (d / name).write_text(text)
        (d / name).chmod(0o755)
    (d / "queue.json").write_text("[]")
    return d


@pytest.fixture
def executor(submit_sshd, pool_bin, tmp_path):
    ex = CondorSSHExecutor(
        submit_sshd.host, remote_dir=str(tmp_path / "remote"), condor_bin=str(pool_bin), **submit_sshd.connect_options()
    )
    yield ex
    ex.close()


def calls(pool_bin: Path) -> list[str]:
    path = pool_bin / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


def pool_writes(remote: Path, text: str) -> None:
    """What the pool appends to the remote event log (the schedd and shadows on the submit host)."""
    with open(remote / _names.LOGS / _names.EVENT_LOG, "a") as f:
        f.write(text)


def test_upload_submit_record_and_pull_the_log(make_bundle, executor, pool_bin, tmp_path):
    b = make_bundle("ssh scan")
    sub = executor.submit(b, b.job_ids)
    remote = tmp_path / "remote" / "ssh scan"
    assert (sub.cluster, sub.count, sub.target, sub.host) == (1234, 3, "condor-ssh", executor.host)
    assert sub.remote_dir == str(remote) and sub.output.endswith("3 job(s) submitted to cluster 1234.")
    assert submissions(b) == [sub]
    # The whole bundle went up, and condor_submit ran in it on the description.
    for rel in (_names.SUBMIT, _names.ITEMS, _names.input_relpath(b.job_ids[0]), _names.CHECKPOINTS):
        assert (remote / rel).exists(), rel
    assert calls(pool_bin) == [f"condor_submit {remote} {_names.SUBMIT}"]

    # Nothing is local until the log is pulled.
    st = ScanState(b)
    st.update()
    assert st.counts()["unsubmitted"] == 0 and st.counts()["idle"] == 3  # queued, from the record
    report = executor.pull(b)
    assert report.ok and b.log_path.exists()
    st.update()
    assert all((r.cluster, r.proc) == (1234, i) for i, r in enumerate(st.jobs.values()))
    read_before = st.events_read

    j0 = b.job_ids[0]
    pool_writes(remote,
        "001 (1234.000.000) 2025-03-14 09:13:12 Job executing on host: <10.0.7.33:9618>\n\tSlotName: slot1_4@e033\n...\n"
        "005 (1234.000.000) 2025-03-14 09:41:02 Job terminated.\n\t(1) Normal termination (return value 0)\n"
        "\t\tUsr 0 00:27:31, Sys 0 00:00:04  -  Run Remote Usage\n\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage\n"
        "\t\tUsr 0 00:27:31, Sys 0 00:00:04  -  Total Remote Usage\n\t\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage\n"
        "\t0  -  Run Bytes Sent By Job\n\t0  -  Run Bytes Received By Job\n\t0  -  Total Bytes Sent By Job\n"
        "\t0  -  Total Bytes Received By Job\n...\n"
        "012 (1234.001.000) 2025-03-14 09:19:02 Job was held.\n\tworkbench: the job exited with code 1\n\tCode 3 Subcode 1\n...\n"
    )
    (remote / _names.OUTPUTS / _names.result_name(j0)).write_text('{"format": 1}')
    executor.pull(b)
    assert st.update() == {j0, b.job_ids[1]}
    assert st.events_read == read_before + 3  # only the new events were read
    assert (st.jobs[j0].state, st.jobs[j0].host, st.jobs[b.job_ids[1]].state) == ("completed", "slot1_4@e033", "failed")
    assert b.result_path(j0).exists()

    # Resubmit the failed job: condor_rm of the held one, then a new cluster over just its item.
    again = executor.resubmit(b)
    assert (again.n, again.cluster, again.count, again.submit) == (2, 1235, 1, "submissions/2.sub")
    assert calls(pool_bin)[-2:] == [
        "condor_rm -reason workbench: resubmitted as a new cluster 1234.1",  # the stand-in echoes $*
        f"condor_submit {remote} submissions/2.sub",
    ]
    assert (remote / "submissions" / "2.txt").read_text() == f"1 {b.job_ids[1]}\n"
    executor.pull(b)
    st.update()
    assert (st.jobs[b.job_ids[1]].state, st.jobs[b.job_ids[1]].cluster, st.jobs[b.job_ids[1]].proc) == ("idle", 1235, 0)

    # The monitor and the command line find the same executor from the record.
    found = executor_for(b)
    assert isinstance(found, CondorSSHExecutor) and found.remote_bundle(b) == str(remote)
    assert found.condor_bin == executor.condor_bin


def test_hold_release_remove_and_query_run_the_condor_tools(make_bundle, executor, pool_bin, tmp_path):
    b = make_bundle("acts", x=[1.0, 2.0])
    executor.submit(b, b.job_ids)
    executor.pull(b)
    assert executor.hold(b, reason="quota") == "Asked the pool to hold 2 job(s)."
    assert calls(pool_bin)[-1] == "condor_hold -reason quota 1234.0 1234.1"
    assert executor.remove(b, b.job_ids[1:]) == "Asked the pool to remove 1 job(s)."
    assert calls(pool_bin)[-1] == "condor_rm 1234.1"
    (pool_bin / "queue.json").write_text(json.dumps([{"ClusterId": 1234, "ProcId": 0, "JobStatus": 5, "HoldReason": "quota"}]))
    rows = executor.query(b)
    assert rows == [{"ClusterId": 1234, "ProcId": 0, "JobStatus": 5, "HoldReason": "quota"}]
    assert calls(pool_bin)[-1].startswith("condor_q -json -attributes ClusterId,ProcId,JobStatus") and calls(pool_bin)[-1].endswith(" 1234")


def test_a_failing_condor_submit_shows_the_command_its_output_and_what_to_do(make_bundle, executor, pool_bin):
    b = make_bundle("bad")
    (pool_bin / "fail").write_text("\nERROR: on Line 12 of submit file: \nERROR: Parse error in expression: \n")
    with pytest.raises(SubmitError) as e:
        executor.submit(b, b.job_ids)
    text = str(e.value)
    assert "condor_submit submit_job.sub" in text and "exited with code 1" in text
    assert "ERROR: on Line 12 of submit file" in text and "Fix the description" in text
    assert submissions(b) == []


def test_a_host_without_htcondor_says_so(make_bundle, submit_sshd, tmp_path):
    b = make_bundle("nohtc")
    with CondorSSHExecutor(submit_sshd.host, remote_dir=str(tmp_path / "r"), **submit_sshd.connect_options()) as ex:
        if shutil.which("condor_submit"):
            pytest.skip("this machine has a real condor_submit")
        with pytest.raises(SubmitError) as e:
            ex.submit(b, b.job_ids)
    text = str(e.value)
    assert "exited with code 127" in text and "Is it a submit node?" in text and "condor_submit" in text


def test_condor_ssh_needs_a_host():
    with pytest.raises(ExecutorError, match="needs the submit host"):
        CondorSSHExecutor("")


def test_the_monitor_follows_a_pool_run_through_the_submit_host(make_bundle, submit_sshd, pool_bin, tmp_path):
    import workbench as wb
    from workbench.executors.condor import CondorRun
    from workbench.monitor.widget import Monitor

    b = make_bundle("watched")
    run = wb.run(b, target="condor-ssh", host=submit_sshd.host, remote_dir=str(tmp_path / "remote"),
                 condor_bin=str(pool_bin), wait=False, **submit_sshd.connect_options())  # fmt: skip
    assert isinstance(run, CondorRun) and run.remote and run.cluster == 1234
    run.close()
    remote = tmp_path / "remote" / "watched"
    # A monitor made later (or in a new kernel) finds the run, and reconnects with the recorded options.
    m = Monitor(b, panels=False)
    try:
        assert isinstance(m.run, CondorRun) and m.follower.remote
        m.refresh()
        assert m.model.counts()["idle"] == 3 and b.log_path.exists()  # the log came home
        j0, j1 = b.job_ids[:2]
        pool_writes(remote, "001 (1234.000.000) 2025-03-14 09:13:12 Job executing on host: <10.0.7.33:9618>\n...\n")
        m.refresh()
        assert (m.model.counts()["idle"], m.model.counts()["running"]) == (2, 1)
        pool_writes(remote,
            "005 (1234.000.000) 2025-03-14 09:41:02 Job terminated.\n\t(1) Normal termination (return value 0)\n...\n"
            "012 (1234.001.000) 2025-03-14 09:19:02 Job was held.\n\tworkbench: the job exited with code 1\n\tCode 3 Subcode 1\n...\n"
        )  # fmt: skip
        (remote / _names.OUTPUTS / _names.result_name(j0)).write_text(
            json.dumps({"format": 1, "job_id": j0, "scalars": {"y": 1.0}, "runtime": 1.0})
        )
        m.refresh()
        assert m.model.state_of(j0) == "completed" and m.model.state_of(j1) == "failed"
        assert "synced" in m.follower.sync_text()
        # The buttons act through the submit host's tools.
        m.resubmit_failed()
        assert m.message.startswith("Submitted 1 job(s) as cluster 1235"), m.message
        assert calls(pool_bin)[-2:] == [
            "condor_rm -reason workbench: resubmitted as a new cluster 1234.1",
            f"condor_submit {remote} submissions/2.sub",
        ]
        m.refresh()
        assert m.model.state_of(j1) == "idle" and m.run.cluster == 1235
        pool_writes(remote, "012 (1235.000.000) 2025-03-14 09:50:02 Job was held.\n\tvia condor_hold (by user alice)\n\tCode 1 Subcode 0\n...\n")
        m.refresh()
        assert m.model.counts()["held"] == 1 and not m.release_button.disabled
        m.release_held()
        assert calls(pool_bin)[-1] == "condor_release 1235.0", m.message
    finally:
        m.close()
