"""The terminal path, as a user types it (subprocesses, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

TESTS = Path(__file__).parent


def wb(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run([sys.executable, "-m", "workbench", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)


SETS = ["--set", "drive_freq=np.linspace(0.5, 1.5, 5)", "--set", "damping=[0.05, 0.1]"]


def test_create_dry_then_create_run_status_results(tmp_path):
    dry = wb("create", "demo", "scans/first", *SETS, "--dry", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "10 job(s) of type 'demo'" in dry.stdout and "queue job_index, job_id from jobs.txt" in dry.stdout
    assert "nothing was written" in dry.stdout
    assert not (tmp_path / "scans").exists()

    made = wb("create", "demo", "scans/first", *SETS, "--yes", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Created" in made.stdout and "workbench run scans/first" in made.stdout
    params = (tmp_path / "scans/first/parameters.txt").read_text()
    assert "source: np.linspace(0.5, 1.5, 5)" in params and "values (5): 0.5, 0.75, 1.0, 1.25, 1.5  (step 0.25)" in params

    again = wb("create", "demo", "scans/first", *SETS, "--yes", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr and "--overwrite" in again.stderr

    ran = wb("run", "scans/first", "--no-progress", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "10 of 10 job(s) completed, 0 failed" in ran.stdout

    status = wb("status", "scans/first", cwd=tmp_path)
    assert status.stdout.strip() == "first: 10/10 completed (100 %): 10 completed"

    for only, none in (("unfinished", "unfinished"), ("failed", "failed, held, removed or interrupted")):
        idle = wb("run", "scans/first", "--only", only, "--no-progress", cwd=tmp_path)
        assert idle.returncode == 0, idle.stderr
        assert f"Nothing to run: no job of scans/first is {none} (10 completed)." in idle.stdout
        assert "workbench run scans/first --only all" in idle.stdout
    runs = json.loads((tmp_path / "scans/first/logs/local_runs.json").read_text())
    assert list(runs) == ["1"]  # running nothing recorded no run

    res = wb("results", "scans/first", "--csv", "first.csv", cwd=tmp_path)
    assert res.returncode == 0 and "Wrote 10 rows" in res.stdout
    df = pd.read_csv(tmp_path / "first.csv")
    assert len(df) == 10 and set(df["status"]) == {"completed"}
    assert (df["rel_error"] < 1e-4).all()
    peak = df.loc[df["amplitude"].idxmax()]
    assert (peak["drive_freq"], peak["damping"]) == (1.0, 0.05)


@pytest.mark.parametrize(
    "args, message",
    [
        (["create", "nope", "x"], "Unknown job type 'nope'. Known job types: "),
        (["create", "demo", "x", "--set", "damping=__import__('os')"], "damping: \"__import__('os')\""),
        (["create", "demo", "x", "--set", "dampin=0.1"], "has no parameter 'dampin'; its parameters are: drive_freq"),
        (["create", "demo", "x", "--set", "damping"], "is not of the form name=value"),
        (["create", "demo", "x", "--set", "damping=[0.1, -1]"], "damping: value 2 of 2"),
        (["create", "demo", "x", "--set", "rtol=[1e-6, 1e-8]"], "rtol cannot be scanned"),
        (["create", "demo", "x", "--set", "drive_freq=np.linspace(0.5,1.5,1e6)", "--set", "force=np.linspace(1,2,1e6)"],
         "1,000,000,000,000 points"),
        (["create", "demo", "x", "--set", "drive_freq=[1, 2]", "--set", "damping=[0.1]", "--zip", "drive_freq,damping"],
         "Zipped axes drive_freq and damping have different lengths (drive_freq: 2 values, damping: 1 values)"),
        (["run", "missing"], "There is no bundle at"),
        (["status", "."], "is not a workbench bundle"),
    ],
)
def test_bad_input_gets_a_clear_error_and_no_traceback(tmp_path, args, message):
    p = wb(*args, "--yes" if args[0] == "create" else "--no-progress" if args[0] == "run" else "--jobs=failed", cwd=tmp_path)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_the_questionnaire_asks_with_defaults_and_re_asks_on_bad_answers(tmp_path):
    answers = "\n".join([
        "np.linspace(0.9, 1.1, 3)",  # drive_freq
        "-0.5",  # damping: invalid, asked again
        "[0.1, 0.2]",  # damping
        "",  # force: default
        "",  # periods: default
        "[1e-6, 1e-7]",  # rtol: not scannable, asked again
        "1e-7",
    ]) + "\n"
    p = wb("create", "demo", "q", "--interactive", cwd=tmp_path, stdin=answers)
    assert p.returncode == 0, p.stderr
    # input() prompts on stdout, the questionnaire's notes go to stderr.
    assert "drive_freq [ω₀] (Drive frequency ω in units of the natural frequency.) [1.0]:" in p.stdout
    assert "damping = -0.5: is below the lower bound" in p.stderr
    assert "rtol cannot be scanned" in p.stderr
    info = (tmp_path / "q/parameters.txt").read_text()
    assert "Jobs: 6 = drive_freq 3 x damping 2" in info and "values (1): 1e-07" in info


def test_list_shows_job_types_and_parameters(tmp_path):
    p = wb("list", "-v", cwd=tmp_path)
    assert p.returncode == 0
    assert "demo       Damped driven oscillator" in p.stdout
    assert "drive_freq [ω₀] = 1.0: a finite number > 0 and <= 100 ω₀." in p.stdout
