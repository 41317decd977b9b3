"""The monitor's pure model: state, progress and problems from event logs and outputs, headless."""

from __future__ import annotations

import importlib
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.eventlog import EventWriter, format_aborted, format_execute, format_submit, format_terminated
from workbench.job import write_result
from workbench.results import results
from workbench.monitor.model import (
    MARKS,
    RUNTIME_EDGES,
    Delta,
    JobSnapshot,
    LoadedResult,
    MonitorModel,
    Progress,
    format_duration,
    grid_from_points,
    take_slice,
    throughput,
)
from workbench.state import ScanState

T0 = datetime(2024, 3, 1, 12, 0, 0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def held(cluster: int, proc: int, reason: str, code: int, when: datetime) -> str:
    return (
        f"012 ({cluster:03d}.{proc:03d}.000) {when:%Y-%m-%d %H:%M:%S} Job was held.\n"
        f"\t{reason}\n\tCode {code} Subcode 0\n...\n"
    )


def released(cluster: int, proc: int, when: datetime) -> str:
    return f"013 ({cluster:03d}.{proc:03d}.000) {when:%Y-%m-%d %H:%M:%S} Job was released.\n\tvia condor_release\n...\n"


def evicted(cluster: int, proc: int, when: datetime) -> str:
    usage = "Usr 0 00:00:00, Sys 0 00:00:00"
    return (
        f"004 ({cluster:03d}.{proc:03d}.000) {when:%Y-%m-%d %H:%M:%S} Job was evicted.\n"
        "\t(0) Job was not checkpointed.\n"
        f"\t\t{usage}  -  Run Remote Usage\n\t\t{usage}  -  Run Local Usage\n"
        "\t0  -  Run Bytes Sent By Job\n\t0  -  Run Bytes Received By Job\n...\n"
    )


def complete(bundle: Any, job_id: str, scalars: dict[str, Any], runtime: float = 0.5, finished: str | None = None) -> None:
    i = bundle.index_of(job_id)
    meta = {"runtime": runtime, "host": "test", "started": "", "finished": finished or ""}
    write_result(bundle.path / "outputs", {"job_id": job_id, "index": i, "job_type": "monitor_test", "params": {}}, scalars, meta)


def fresh_counts(bundle: Any) -> dict[str, int]:
    st = ScanState(bundle)
    st.update()
    return st.counts()


def test_state_counts_and_problems_follow_the_event_log(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.0, 1.0], y=[0, 1])
    ids = b.job_ids
    m = MonitorModel(b)
    log = EventWriter(b.log_path, 1)

    m.refresh()
    assert m.counts()["unsubmitted"] == 6 and m.counts() == fresh_counts(b)
    assert m.progress().done == 0 and not m.problems

    log.write("".join(format_submit(1, i, j, at(0)) for i, j in enumerate(ids)))
    change = m.refresh()
    assert sorted(change.indices) == list(range(6))
    assert m.counts()["idle"] == 6 and m.counts() == fresh_counts(b)

    log.write(format_execute(1, 0, at(1)) + format_execute(1, 1, at(1)) + format_execute(1, 3, at(1)))
    assert sorted(m.refresh().indices) == [0, 1, 3]
    assert m.counts()["running"] == 3

    # job 0 completes, job 1 fails with a traceback in its stderr
    complete(b, ids[0], {"value": 1.5, "square": 2.25})
    log.write(format_terminated(1, 0, 0, 0.5, at(2)))
    b.stderr_path(ids[1]).write_text("Traceback (most recent call last):\n  File x\nValueError: boom\n")
    log.write(format_terminated(1, 1, 1, 0.5, at(2)))
    # job 2 is held, job 3 evicted three times, job 4 removed
    log.write(held(1, 2, "Error from slot1: out of memory", 34, at(3)))
    log.write(format_execute(1, 3, at(3)) + evicted(1, 3, at(4)) + evicted(1, 3, at(5)) + evicted(1, 3, at(6)))
    log.write(format_aborted(1, 4, "removed by the user", at(6)))
    change = m.refresh()
    assert sorted(change.indices) == [0, 1, 2, 3, 4]
    assert change.results == 1 and change.problems and set(change.new_outputs) == {"value", "square"}
    assert m.counts() == fresh_counts(b)
    assert m.counts()["completed"] == 1 and m.counts()["failed"] == 1 and m.counts()["held"] == 1
    probs = {p.kind: p for p in m.problem_list()}
    assert set(probs) == {"failed", "held", "evicted"}
    assert probs["failed"].code == 1 and probs["failed"].message.endswith("ValueError: boom")
    assert probs["failed"].label().rstrip().endswith("ValueError: boom")
    assert probs["held"].code == 34 and "out of memory" in probs["held"].message
    assert probs["evicted"].code == 3 and probs["evicted"].index == 3
    assert m.marks[1] == MARKS["failed"] and m.marks[2] == MARKS["held"] and m.marks[4] == MARKS["removed"]
    assert m.marks[0] == 0 and m.column("value")[0] == 1.5 and np.isnan(m.column("value")[1])
    assert m.progress().done == 3  # completed, failed, removed

    # released: no longer a problem; an eviction survivor that completes is not one either
    log.write(released(1, 2, at(7)))
    complete(b, ids[3], {"value": 2.0, "square": 4.0})
    log.write(format_execute(1, 3, at(7)) + format_terminated(1, 3, 0, 0.5, at(8)))
    change = m.refresh()
    assert sorted(change.indices) == [2, 3] and change.problems
    assert [p.kind for p in m.problem_list()] == ["failed"]
    assert m.marks[2] == 0 and m.counts() == fresh_counts(b)
    assert m.ids("failed") == [ids[1]] and m.ids("idle", "removed") == [ids[2], ids[4], ids[5]]

    # nothing new: nothing changes
    change = m.refresh()
    assert change.empty and change.results == 0


def test_a_refresh_reads_only_new_result_files(make_bundle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    results_module = importlib.import_module("workbench.results")  # `workbench.results` is the function

    b = make_bundle(x=[0.0, 1.0, 2.0, 3.0, 4.0])
    ids = b.job_ids
    log = EventWriter(b.log_path, 1)
    log.write("".join(format_submit(1, i, j, at(0)) for i, j in enumerate(ids)))
    reads: list[str] = []
    real = results_module.load_result
    monkeypatch.setattr(results_module, "load_result", lambda bundle, jid: (reads.append(jid), real(bundle, jid))[1])
    m = MonitorModel(b)
    for k in range(3):
        complete(b, ids[k], {"value": float(k)})
        log.write(format_execute(1, k, at(1)) + format_terminated(1, k, 0, 0.1, at(2)))
    m.refresh()
    assert sorted(reads) == sorted(ids[:3])
    reads.clear()
    m.refresh()
    assert reads == []
    # Between full listings only jobs with new events are looked at: a result that
    # arrives before its event is read when the event comes, once.
    complete(b, ids[3], {"value": 3.0})
    m.refresh()
    assert reads == []
    log.write(format_execute(1, 3, at(3)) + format_terminated(1, 3, 0, 0.1, at(4)))
    m.refresh()
    assert reads == [ids[3]]
    reads.clear()
    m.refresh()
    assert reads == []
    # "Sync now" looks at every result file: one copied in without any event is found.
    complete(b, ids[4], {"value": 4.0})
    m.full_next = True
    m.refresh()
    assert reads == [ids[4]]
    assert list(m.column("value")) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_large_backlogs_are_read_in_portions(make_bundle: Any) -> None:
    b = make_bundle(x=[float(v) for v in range(7)])
    for i, j in enumerate(b.job_ids):
        complete(b, j, {"value": float(i)})
    m = MonitorModel(b, max_results=3)
    sizes = []
    while True:
        change = m.refresh()
        sizes.append((change.results, change.backlog))
        if not change.backlog:
            break
    assert sizes == [(3, 4), (3, 1), (1, 0)]
    assert list(m.column("value")) == [float(v) for v in range(7)] and m.counts()["completed"] == 7


def test_a_corrupt_result_is_a_problem_not_an_error(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0])
    complete(b, b.job_ids[0], {"value": 1.0})
    b.result_path(b.job_ids[1]).write_text('{"format": 1, "scal')
    m = MonitorModel(b)
    m.refresh()
    (p,) = m.problem_list()
    assert p.kind == "bad output" and p.job_id == b.job_ids[1] and "corrupt" in p.message
    assert m.marks[1] == MARKS["bad output"]
    df = m.frame()
    assert list(df["status"]) == ["completed", "bad"]
    assert "corrupt" in m.job_log(b.job_ids[1])


def test_a_shared_state_that_was_read_already(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0, 2.0])
    log = EventWriter(b.log_path, 1)
    log.write("".join(format_submit(1, i, j, at(0)) for i, j in enumerate(b.job_ids)))
    complete(b, b.job_ids[2], {"value": 7.0})
    st = ScanState(b)
    st.update()
    m = MonitorModel(b, state=st)
    m.refresh()
    assert m.counts() == st.counts() and m.column("value")[2] == 7.0


def test_states_a_newer_reader_may_add_are_counted() -> None:
    class FakeBundle:
        job_ids = ["a", "b"]

    class FakeState:
        jobs: dict[str, Any] = {}

    m = MonitorModel(FakeBundle(), state=FakeState())  # type: ignore[arg-type]
    m.apply(Delta(jobs=[JobSnapshot("a", "transferring")], time=1.0))
    assert m.counts()["transferring"] == 1 and m.counts()["unsubmitted"] == 1
    assert m.ids("transferring") == ["a"] and m.state_of("a") == "transferring"


def test_sync_hook_runs_first_and_its_errors_are_reported(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0])
    calls: list[int] = []

    def sync() -> None:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("host unreachable")
        complete(b, b.job_ids[0], {"value": 1.0})

    m = MonitorModel(b, sync=sync)
    d = m.collect()
    assert d.sync_error == "" and len(d.results) == 1
    d = m.collect()
    assert d.sync_error == "ConnectionError: host unreachable"


def test_runtime_histogram_is_filled_incrementally() -> None:
    class FakeBundle:
        job_ids = ["a", "b", "c", "d"]

    class FakeState:
        jobs: dict[str, Any] = {}

    m = MonitorModel(FakeBundle(), state=FakeState())  # type: ignore[arg-type]
    runtimes = {"a": 0.6, "b": 0.62, "c": 30.0, "d": 1e9}
    m.apply(Delta(results=[LoadedResult(j, {"v": 1.0}, r) for j, r in list(runtimes.items())[:2]], time=1.0))
    m.apply(Delta(results=[LoadedResult(j, {"v": 1.0}, r) for j, r in list(runtimes.items())[2:]], time=2.0))
    assert m.hist.sum() == 4
    for r in (0.6, 30.0):
        k = int(np.searchsorted(RUNTIME_EDGES, r, side="right")) - 1
        assert RUNTIME_EDGES[k] <= r < RUNTIME_EDGES[k + 1] and m.hist[k] >= 1
    assert m.hist[np.searchsorted(RUNTIME_EDGES, 0.6, side="right") - 1] == 2
    assert m.hist[-1] == 1  # beyond the last edge: counted in the last bin
    assert list(m.runtime) == list(runtimes.values())


# ---------------------------------------------------------------------------
# progress, throughput, ETA
# ---------------------------------------------------------------------------
def test_throughput_from_finish_times() -> None:
    assert throughput([], start=0.0, now=10.0) is None
    # 10 jobs finished in the 10 s since the submission
    times = [float(t) for t in range(1, 11)]
    assert throughput(times, start=0.0, now=10.0) == pytest.approx(1.0)
    # a stall lowers the rate
    assert throughput(times, start=0.0, now=20.0) == pytest.approx(0.5)
    # only the last `window` finishes count: a fast recent phase shows
    times = [float(t) for t in range(100)] + [100 + 0.1 * k for k in range(1, 51)]
    assert throughput(times, start=0.0, now=105.0, window=50) == pytest.approx(50 / 6.0)
    # finishes before the latest submission (an earlier run) do not count
    assert throughput([1.0, 2.0, 3.0], start=50.0, now=60.0) is None
    assert throughput([1.0, 2.0, 55.0], start=50.0, now=60.0) == pytest.approx(0.1)
    # without a start, the first finish starts the clock
    assert throughput([2.0], start=None, now=3.0) is None
    assert throughput([2.0, 3.0, 4.0], start=None, now=4.0) == pytest.approx(1.0)


def test_progress_eta_and_summary() -> None:
    class FakeBundle:
        job_ids = [f"j{i}" for i in range(10)]

    class FakeState:
        jobs: dict[str, Any] = {}

    m = MonitorModel(FakeBundle(), state=FakeState())  # type: ignore[arg-type]
    jobs = [JobSnapshot(f"j{i}", "idle", submitted=100.0) for i in range(10)]
    m.apply(Delta(jobs=jobs, time=100.0))
    p = m.progress(now=101.0)
    assert (p.done, p.active, p.rate, p.eta) == (0, 10, None, None)
    assert p.summary() == "0 of 10 done (0 %) · ETA estimating…"
    done = [JobSnapshot(f"j{i}", "completed", submitted=100.0, finished=100.0 + 2 * (i + 1)) for i in range(4)]
    done.append(JobSnapshot("j4", "failed", exit_code=1, submitted=100.0, finished=110.0))
    m.apply(Delta(jobs=done, time=110.0))
    p = m.progress(now=110.0)
    assert p.done == 5 and p.active == 5 and p.fraction == 0.5
    assert p.rate == pytest.approx(0.5) and p.eta == pytest.approx(10.0)
    assert p.summary() == "5 of 10 done (50 %), 1 failed · 30 jobs/min · ETA 10 s"
    rest = [JobSnapshot(f"j{i}", "completed", submitted=100.0, finished=112.0) for i in range(5, 10)]
    m.apply(Delta(jobs=rest, time=112.0))
    p = m.progress(now=200.0)
    assert p.fraction == 1.0 and p.active == 0 and p.eta is None and p.rate is None
    assert p.summary() == "10 of 10 done (100 %), 1 failed"
    assert Progress(0, {}, 0, 0, None, None, None).fraction == 1.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (math.inf, "—"), (0.4, "0 s"), (59.6, "1 min 00 s"), (185, "3 min 05 s"), (7620, "2 h 07 min"), (3 * 86400 + 4 * 3600, "3 d 4 h")],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


# ---------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------
def points(**columns: Any) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"index": range(n), "job_id": [f"j{i}" for i in range(n)], **columns})


def test_grid_from_points_of_real_scans(make_bundle: Any) -> None:
    b = make_bundle(x=[0.5, 0.25, 1.0], y=[3, 1], z=[0, 1, 2, 3], delay=0.0)
    g = grid_from_points(b.points())
    assert g is not None and g.shape == (3, 2, 4) and [d.label for d in g.dims] == ["x", "y", "z"]
    assert g.dims[0].values == (0.5, 0.25, 1.0) and g.dims[0].numeric  # source order, not sorted
    from workbench.scan import scan as make_scan

    s = make_scan("monitor_test", x=[1.0, 2.0, 3.0], y=[10, 20, 30], z=[0, 1], zip=[("x", "y")])
    b2 = wb.create(s, b.path.parent / "zipped")
    g = grid_from_points(b2.points())
    assert g is not None and g.shape == (3, 2) and g.dims[0].names == ("x", "y") and g.dims[0].label == "(x, y)"


def test_grid_from_points_edge_cases() -> None:
    assert grid_from_points(points(a=[1.0])).shape == ()  # type: ignore[union-attr]
    g = grid_from_points(points(a=["u", "v", "w"], b=[1, 1, 1]))
    assert g is not None and g.shape == (3,) and not g.dims[0].numeric
    # not a full grid, or not in C order: no grid
    assert grid_from_points(points(a=[0, 0, 1], b=[0, 1, 0])) is None
    assert grid_from_points(points(a=[0, 1, 0, 1], b=[0, 0, 1, 1])) is None


def test_take_slice_matches_explicit_indexing() -> None:
    shape = (3, 4, 5)
    values = np.arange(60.0)
    cube = values.reshape(shape)
    s = take_slice(values, shape, x=2, y=0, fixed={1: 3})
    assert s.shape == (3, 5) and all(s[i, k] == cube[i, 3, k] for i in range(3) for k in range(5))
    s = take_slice(values, shape, x=0, y=2, fixed={1: 1})
    assert s.shape == (5, 3) and all(s[k, i] == cube[i, 1, k] for i in range(3) for k in range(5))
    s = take_slice(values[:6], (2, 3), x=1, y=0, fixed={})
    assert np.array_equal(s, values[:6].reshape(2, 3))
    with pytest.raises(ValueError, match="must differ"):
        take_slice(values, shape, 1, 1, {})


# ---------------------------------------------------------------------------
# a real scan
# ---------------------------------------------------------------------------
def test_model_of_a_real_run_matches_results(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.5, 2.0], y=[0, 1])
    report = wb.run(b, progress=False, workers=2)
    assert len(report.failed) == 2
    m = MonitorModel(b)
    m.refresh()
    ref = results(b)  # wb.results is shadowed by the module once workbench.results is imported
    df = m.frame()
    assert list(df["status"].astype(str)) == list(ref["status"].astype(str))
    for col in ("value", "square", "runtime"):
        assert np.allclose(df[col], ref[col], equal_nan=True)
    assert list(df["error"].fillna("")) == list(ref["error"].fillna(""))
    assert list(df["label"].fillna("")) == list(ref["label"].fillna(""))  # a text output stays text
    assert m.output_names == ["value", "square"]
    p = m.progress()
    assert p.fraction == 1.0 and p.counts["failed"] == 2
    log = m.job_log(m.problem_list()[0].job_id)
    assert "JOB_TERMINATED" in log and "Traceback" in log and "x = -1.0" in log


def test_a_bundle_that_grows_grows_in_the_model_too(tmp_path) -> None:
    """An adaptive scan appends jobs while it is watched: counts, columns and progress follow."""
    import workbench as wb
    from workbench.bundle import Bundle
    from workbench.grow import append_points

    b = wb.create(wb.scan("demo", drive_freq=[0.9, 1.0], periods=20), tmp_path / "b")
    wb.run(b, progress=False, workers=1)
    model = MonitorModel(Bundle(b.path))
    model.refresh()
    assert model.counts()["completed"] == 2 and model.total == 2
    grown = Bundle(b.path)
    added = append_points(grown, [{**grown.input(grown.job_ids[0])["params"], "drive_freq": f} for f in (1.1, 1.2)])
    assert len(added.added) == 2 and added.count == 4
    model.refresh()
    assert model.total == 4 and model.counts()["unsubmitted"] == 2 and model.progress().done == 2
    assert len(model.points) == 4 and model.column("amplitude").shape == (4,)
    wb.run(grown, progress=False, workers=1)
    model.refresh()
    assert model.counts()["completed"] == 4 and model.progress().fraction == 1.0
    assert np.isfinite(model.column("amplitude")).all()
