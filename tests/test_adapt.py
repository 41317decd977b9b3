"""Adaptive scans: learners against functions with known answers, the loop, stopping and resuming."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
import wbtest_adapt_jobs as J

import workbench as wb
from workbench.bundle import Bundle
from workbench.errors import ExecutorError, ScanError
from workbench.grow import read_job_ids
from workbench.learners import AdaptiveScan


def _learn(learners: AdaptiveScan, run, n: int, batch: int = 4) -> list[dict]:
    """Ask/tell in-process (no jobs): the points the learners chose."""
    points = []
    while len(points) < n:
        for w in learners.ask(batch):
            p = learners.point(*w)
            learners.tell(w, learners.value({"scalars": run(p, None)}))
            points.append(p)
    return points


def test_points_concentrate_within_a_narrow_lorentzian():
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=0.01, center=0.1)
    pts = _learn(AdaptiveScan(s), J.run_lorentz, 150)
    x = np.array([p["x"] for p in pts])
    near = np.mean(np.abs(x - 0.1) < 5 * 0.01)  # a uniform grid puts 5 % of its points there
    assert near > 0.3
    assert x.min() >= -1.0 and x.max() <= 1.0


def test_points_concentrate_on_the_edge_of_a_step_in_2d():
    s = wb.scan(J.step2d, x=wb.adaptive(-1.0, 1.0), y=wb.adaptive(-1.0, 1.0))
    learners = AdaptiveScan(s)
    assert type(learners.learner).__name__ == "Learner2D"
    pts = _learn(learners, J.run_step, 300, batch=8)
    xy = np.array([(p["x"], p["y"]) for p in pts])
    dist = np.abs(xy[:, 0] + 0.5 * xy[:, 1] - 0.2) / math.hypot(1, 0.5)
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, (100_000, 2))
    uniform = np.mean(np.abs(u[:, 0] + 0.5 * u[:, 1] - 0.2) / math.hypot(1, 0.5) < 0.1)
    assert np.mean(dist < 0.1) > 2.5 * uniform


def test_each_combination_of_the_discrete_axes_gets_a_learner_under_a_balancing_learner():
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=[0.01, 0.1], center=[0.0, 0.5])
    learners = AdaptiveScan(s)
    assert len(learners.learners) == 4
    assert type(learners.learner).__name__ == "BalancingLearner"
    pts = _learn(learners, J.run_lorentz, 80)
    assert {(p["width"], p["center"]) for p in pts} == {(0.01, 0.0), (0.01, 0.5), (0.1, 0.0), (0.1, 0.5)}
    three = wb.scan(J.step2d, x=wb.adaptive(0, 1), y=wb.adaptive(0, 1))
    assert AdaptiveScan(three).output == "z"


def test_log_scaled_adaptive_axes_learn_on_the_logarithm():
    s = wb.scan(J.lorentz, x=wb.adaptive(1e-3, 1.0, "log"), center=0.01, width=0.001)
    learners = AdaptiveScan(s)
    assert learners.learners[0].bounds == (-3.0, 0.0)
    pts = _learn(learners, J.run_lorentz, 60)
    x = np.array([p["x"] for p in pts])
    assert x.min() == 1e-3 and x.max() == 1.0
    assert np.mean((x > 0.005) & (x < 0.02)) > 0.3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"output": "nope"}, "output = 'nope' is not a scalar output of 'wbtest-lorentz'; its declared outputs are y, label"),
        ({"goal": 0.0}, "goal = 0.0 is not a positive number"),
        ({"goal": 0.0001, "max_jobs": 100}, r"goal = 0.0001 cannot be reached with max_jobs = 100.*curvature loss.*max_jobs >= 401"),
        ({"goal": 0.001, "max_jobs": 100, "loss": "default"}, r"goal = 0.001 cannot be .*at least 1/\(n-1\).*max_jobs >= 1001"),
        ({"goal": 0.1, "loss": "cubic"}, "loss = 'cubic' is unknown"),
        ({"max_jobs": 0}, "max_jobs = 0 is not a whole number >= 1"),
        ({}, "needs a goal"),
        ({"goal": 0.1, "target": "condor"}, "target = 'condor'"),
        ({"goal": 0.1, "target": "nowhere"}, "'nowhere' is not a target workbench knows"),
        ({"goal": 0.1, "core_hours": -1}, "core_hours = -1 is not a positive number"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(tmp_path, kwargs, match):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0))
    with pytest.raises((ScanError, ExecutorError), match=match):
        wb.adapt(s, tmp_path / "a", **kwargs)
    assert not (tmp_path / "a").exists()


def test_a_scan_without_an_adaptive_parameter_or_outputs_is_refused(tmp_path):
    with pytest.raises(ScanError, match=r"no adaptive parameter; give one a range with wb.adaptive\(low, high\)"):
        wb.adapt(wb.scan(J.lorentz, x=[0.0, 1.0]), tmp_path / "a", goal=0.1)
    import wbtest_jobs

    no_outputs = wb.scan(wbtest_jobs.dying, x=[1, 2])
    with pytest.raises(ScanError):
        wb.adapt(no_outputs, tmp_path / "a", goal=0.1)
    assert not (tmp_path / "a").exists()


def test_the_loop_grows_the_bundle_where_the_peak_is_and_reports_why_it_stopped(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=0.02, center=0.1)
    a = wb.adapt(s, tmp_path / "peak", max_jobs=41, goal=0.05, workers=3)
    report = a.wait(120)
    assert report is not None and report.reason in ("goal", "max_jobs")
    assert report.jobs == a.bundle.count == len(read_job_ids(a.bundle)) <= 41
    df = wb.results(tmp_path / "peak")
    assert len(df) == report.jobs and (df.status == "completed").all()
    assert np.mean(np.abs(df.x - 0.1) < 0.1) > 0.3  # 5 % of a grid
    assert str(report).startswith(f"Stopped after {report.rounds} round(s), {report.jobs} jobs")
    info = Bundle(a.bundle.path).info["adaptive"]
    assert info["max_jobs"] == 41 and info["output"] == "y"
    assert a.history and a.history[-1][0] == report.jobs


def test_resuming_after_a_stop_asks_for_the_points_going_on_would_have(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=[0.02, 0.2], center=0.1)
    # 4 corners, then rounds of 3: 19 and 34 jobs are ends of rounds
    straight = wb.adapt(s, tmp_path / "straight", max_jobs=34, workers=3).wait(120)
    first = wb.adapt(s, tmp_path / "resumed", max_jobs=19, workers=3).wait(120)
    assert first.reason == "max_jobs" and first.jobs == 19
    again = wb.adapt(tmp_path / "resumed", max_jobs=34).wait(120)  # a new loop: new learners, replayed
    assert again.reason == straight.reason == "max_jobs"
    assert read_job_ids(Bundle(tmp_path / "resumed")) == read_job_ids(Bundle(tmp_path / "straight"))


def test_stop_ends_the_loop_and_resuming_runs_what_was_not_run(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=0.02)
    a = wb.adapt(s, tmp_path / "p", max_jobs=200, workers=2)
    while len(read_job_ids(a.bundle)) < 10:
        a.wait(0.05)
    a.stop()
    report = a.wait(60)
    assert report.reason == "stopped"
    b = Bundle(tmp_path / "p")
    again = wb.adapt(b.path, max_jobs=b.count + 4)
    report = again.wait(60)
    assert report.reason == "max_jobs"
    df = wb.results(b.path)
    assert (df.status == "completed").all() and len(df) == report.jobs


def test_failed_points_are_excluded_and_never_asked_again(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=0.05, center=0.1, fail_from=0.05, fail_to=0.15)
    a = wb.adapt(s, tmp_path / "f", max_jobs=40, workers=2)
    report = a.wait(120)
    assert report.reason == "max_jobs" and report.failed >= 1
    df = wb.results(tmp_path / "f")
    failed = df[df.status == "failed"]
    assert len(failed) == report.failed
    assert ((failed.x > 0.05) & (failed.x < 0.15)).all()
    assert df.x.is_unique
    assert all(where in a.learners.failed for where in (a.learners.locate(r) for r in failed.to_dict("records")))
    # resuming tells the failed points as failed again
    again = wb.adapt(tmp_path / "f", max_jobs=44).wait(60)
    assert again.failed >= report.failed


def test_in_a_running_event_loop_the_loop_is_a_task_and_the_loop_stays_free(tmp_path):
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0))

    async def main():
        a = wb.adapt(s, tmp_path / "nb", max_jobs=12, workers=2)
        assert a._task is not None and a._thread is None
        ticks = 0
        while not a.done:
            ticks += 1  # the event loop keeps running other work
            await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="await"):
            a.wait()
        return await a.wait_async(), ticks

    report, ticks = asyncio.run(main())
    assert report.reason == "max_jobs" and ticks > 5


def test_the_command_line_creates_and_resumes_an_adaptive_scan(tmp_path, capsys, monkeypatch):
    from workbench import registry
    from workbench.cli import main

    monkeypatch.setitem(registry._registered, J.lorentz.name, J.lorentz)
    path = str(tmp_path / "c")
    rc = main(["adapt", J.lorentz.name, path, "--set", "x=adaptive(-1, 1)", "--max-jobs", "9", "--workers", "2"])
    assert rc == 0
    assert Bundle(path).count == 9
    assert "the bundle has max_jobs = 9 jobs" in capsys.readouterr().err
    assert main(["adapt", path, "--max-jobs", "13", "--no-progress"]) == 0
    assert "max_jobs = 13" in capsys.readouterr().out
    assert Bundle(path).count == 13
    assert main(["adapt", path, "--set", "x=1"]) == 2
    assert "describe a new scan" in capsys.readouterr().err


@pytest.mark.ssh
def test_an_adaptive_scan_grows_and_runs_on_an_ssh_host(sshd, tmp_path):
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    s = wb.scan(J.lorentz, x=wb.adaptive(-1.0, 1.0), width=0.02, center=0.1)
    a = wb.adapt(s, tmp_path / "peak", goal=0.02, max_jobs=30, target="ssh", host=sshd.host,
                 remote_dir=str(tmp_path / "remote"), python=sys.executable, env={"PYTHONPATH": str(tests)},
                 workers=2, progress=False, **sshd.connect_options())  # fmt: skip
    report = a.wait()
    assert report.reason in ("goal", "max_jobs"), str(report)
    assert report.rounds >= 2 and report.failed == 0  # the bundle grew between rounds, there and here
    ids = read_job_ids(a.bundle)
    remote_ids = (tmp_path / "remote" / "peak" / "jobs.txt").read_text().split()[1::2]
    assert remote_ids == ids  # the grown index files went up
    df = wb.results(a.bundle)
    assert len(df) == len(ids) and (df["status"] == "completed").all()
    x = df["x"].to_numpy()
    assert np.mean(np.abs(x - 0.1) < 0.1) > 0.25  # a uniform grid puts 10 % of its points there
    with wb.attach(a.bundle) as run:
        assert run.target == "ssh" and run.done


@pytest.mark.ssh
def test_workbench_adapt_runs_its_rounds_on_an_ssh_host(sshd, tmp_path, monkeypatch, capsys):
    import sys
    from pathlib import Path

    from workbench import registry
    from workbench.cli import main

    monkeypatch.setitem(registry._registered, J.lorentz.name, J.lorentz)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    sshd.write_ssh_config(home / ".ssh" / "config", "wbadapt")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    tests = Path(__file__).parent
    code = main(["adapt", "wbtest-lorentz", str(tmp_path / "peak"), "--set", "x=adaptive(-1, 1)", "--set", "width=0.05",
                 "--goal", "0.01", "--max-jobs", "10", "--target", "ssh", "--host", "wbadapt",
                 "--remote-dir", str(tmp_path / "remote"), "--python", sys.executable, "--env", f"PYTHONPATH={tests}",
                 "--workers", "2", "--no-progress"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Stopped after" in out.out and "10 jobs" in out.out
    assert len((tmp_path / "remote" / "peak" / "jobs.txt").read_text().splitlines()) == 10
    assert (wb.results(tmp_path / "peak")["status"] == "completed").all()
