"""``workbench run --target condor|condor-ssh`` and ``workbench hold/release/remove/resubmit``."""

from __future__ import annotations

import htcondor2
import pytest

from workbench.cli import main
from workbench.executors.condor import CondorExecutor, submissions


@pytest.fixture
def schedd(fake_schedd, monkeypatch):
    """Every CondorExecutor the command line makes talks to the stand-in schedd."""
    monkeypatch.setattr(CondorExecutor, "schedd", property(lambda self: fake_schedd))
    return fake_schedd


def test_run_on_the_pool_then_act_on_its_jobs(make_bundle, schedd, capsys):
    b = make_bundle(x=[1.0, 2.0, 3.0])
    assert main(["run", str(b.path), "--target", "condor"]) == 0
    out = capsys.readouterr().out
    assert "Submitted 3 job(s) as cluster 4821" in out and "workbench status" in out
    assert [s.cluster for s in submissions(b)] == [4821]

    assert main(["hold", str(b.path), "--reason", "disk full"]) == 0
    assert schedd.acts[-1] == (htcondor2.JobAction.Hold, ["4821.0", "4821.1", "4821.2"], ("disk full", 0))
    assert "Asked the pool to hold 3 job(s)." in capsys.readouterr().out
    assert main(["release", str(b.path), b.job_ids[1]]) == 0
    assert schedd.acts[-1][:2] == (htcondor2.JobAction.Release, ["4821.1"])
    assert main(["remove", str(b.path), "--states", "idle"]) == 0
    assert schedd.acts[-1][:2] == (htcondor2.JobAction.Remove, ["4821.0", "4821.1", "4821.2"])

    with open(b.log_path, "a") as f:
        f.write("009 (4821.002.000) 2025-03-14 10:01:00 Job was aborted.\n\tvia condor_rm (by user alice)\n...\n")
    assert main(["resubmit", str(b.path)]) == 0
    assert "Submitted 1 job(s) as cluster 4822" in capsys.readouterr().out
    assert [it["job_id"] for it in schedd.submits[-1][1]] == [b.job_ids[2]]


def test_pool_commands_explain_what_is_missing(make_bundle, capsys):
    b = make_bundle()
    assert main(["hold", str(b.path)]) == 2
    assert "has not been run yet" in capsys.readouterr().err
    assert main(["release", str(b.path), "nope"]) == 2
    assert main(["run", str(b.path), "--target", "condor"]) == 2  # the real bindings: no schedd here
    err = capsys.readouterr().err
    assert "No HTCondor schedd on this machine" in err and "--target condor-ssh" in err
    assert main(["run", str(b.path), "--target", "condor-ssh"]) == 2
    assert "needs the submit host" in capsys.readouterr().err
