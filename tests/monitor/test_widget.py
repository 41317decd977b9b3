"""The monitor panel, headless: it follows real runs of the embedded executor, and its buttons do what they say."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wbtest_widgets import open_widgets

import workbench as wb
from workbench.eventlog import EventWriter, format_execute, format_submit
from workbench.executors.local import LocalRun
from workbench.monitor.actions import FunctionActions
from workbench.monitor.model import MARKS
from workbench.monitor.panels import MARK_COLORS, RuntimePanel, ScanPanel, UserPanel
from workbench.monitor.widget import Monitor, active_monitors, monitor
from workbench.state import ScanState
from workbench.ui.canvas import Throttle


def watch(m: Monitor, run: Any, timeout: float = 60.0) -> list[float]:
    """Refresh the monitor until ``run`` ends (and once more); the progress seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while not run.done:
        assert time.monotonic() < deadline, "the run did not end"
        m.refresh()
        seen.append(m.progress.fraction)
        time.sleep(0.05)
    run.wait()
    m.refresh()
    m._throttle.flush()
    seen.append(m.progress.fraction)
    return seen


def counts_of(bundle: Any) -> dict[str, int]:
    st = ScanState(bundle)
    st.update()
    return st.counts()


def test_counts_progress_and_problems_follow_a_real_run(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.0, 1.0, 2.0], y=[0, 1, 2], delay=0.05)
    m = Monitor(b)
    m.run = run = wb.run(b, wait=False, progress=False, workers=2)
    seen = watch(m, run)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert any(0.0 < v < 1.0 for v in seen), f"never saw the scan half done: {seen}"
    assert m.model.counts() == counts_of(b)
    assert "12 of 12 done (100 %), 3 failed" in m.progress_text.value
    assert "completed 9" in m.counts_html.value and "failed 3" in m.counts_html.value
    # One bar in parts: 9 completed (75 %) and 3 failed (25 %), in the colours of the counts.
    assert "wb-bar-completed' title='completed 9' style='width:75.000%;background:#43a047'" in m.bar.value
    assert "wb-bar-failed' title='failed 3' style='width:25.000%;background:#e53935'" in m.bar.value
    assert "wb-bar-running" not in m.bar.value
    assert "failed 3" in m.problems_title.value
    rows = m.problem_select.options
    assert len(rows) == 3 and all(label.startswith("failed") and "ValueError: x = -1.0" in label for label, _ in rows)
    assert m.problem_select.layout.display == "" and m.log_html.value == ""
    # clicking a row shows the job's whole log
    m.problem_select.value = rows[1][1]
    assert "Traceback (most recent call last)" in m.log_html.value and rows[1][1] in m.log_html.value
    assert "JOB_TERMINATED" in m.log_html.value
    assert m.problems[1].job_id == rows[1][1]
    # buttons: nothing to release; failed jobs to resubmit; nothing left to remove
    assert m.release_button.disabled and not m.resubmit_button.disabled and m.remove_button.disabled


def test_resubmit_failed_runs_them_again(make_bundle: Any, tmp_path: Path) -> None:
    fixed = tmp_path / "fixed"
    b = make_bundle(x=[-2.0, -1.0, 1.0], fixed=str(fixed))
    m = Monitor(b)
    m.run = run = wb.run(b, wait=False, progress=False, workers=2)
    watch(m, run)
    assert m.model.counts()["failed"] == 2 and len(m.problem_select.options) == 2
    m.problem_select.value = m.problem_select.options[0][1]
    fixed.write_text("")  # the cause is fixed: the next run succeeds
    first = run.cluster
    m.resubmit_button.click()
    assert m.message.startswith("Resubmitted 2 job(s)")
    rerun = m.run
    assert isinstance(rerun, LocalRun)
    watch(m, rerun)
    assert rerun.cluster == first + 1  # a new run of the failed jobs
    assert m.model.counts()["completed"] == 3 and m.model.counts() == counts_of(b)
    assert m.problems == [] and m.problem_select.options == () and m.problem_select.layout.display == "none"
    assert m.log_html.value == "" and m.resubmit_button.disabled
    assert "title='completed 3' style='width:100.000%" in m.bar.value and "wb-bar-failed" not in m.bar.value


# Stopping a local run terminates its pool's processes; Python 3.11's ProcessPoolExecutor then raises
# InvalidStateError in its manager thread for the futures the executor had cancelled (harmless here).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_remove_asks_to_confirm_then_stops_the_run(make_bundle: Any) -> None:
    b = make_bundle(x=[float(v) for v in range(10)], delay=0.4)
    m = Monitor(b)
    m.run = run = wb.run(b, wait=False, progress=False, workers=2)
    while m.model.counts()["running"] == 0:
        assert not run.done, "the run ended before the monitor saw a job running"
        m.refresh()
        time.sleep(0.02)
    assert not m.remove_button.disabled
    m.remove_button.click()
    assert m.remove_button.description == "Confirm remove" and not run.done
    m.remove_button.click()
    assert m.remove_button.description == "Remove" and m.message.startswith("Stopping the local run")
    run.wait(30)
    m.refresh()
    c = m.model.counts()
    assert c["removed"] > 0 and c["completed"] + c["removed"] == 10 and c == counts_of(b)
    assert m.remove_button.disabled and not m.resubmit_button.disabled
    assert not any(p.kind == "removed" for p in m.problems)  # removed on purpose: marked, not a problem
    assert (m.model.marks == MARKS["removed"]).sum() == c["removed"]
    # nothing runs any more: Remove now says so instead of pretending
    m.remove()
    assert "has ended: there is nothing to remove" in m.message


def test_release_held_calls_the_executor(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0, 2.0])
    ids = b.job_ids
    log = EventWriter(b.log_path, 7)
    log.write("".join(format_submit(7, i, j) for i, j in enumerate(ids)))
    log.write(format_execute(7, 1))
    log.write("012 (007.001.000) 2024-03-01 12:00:00 Job was held.\n\tdisk quota exceeded\n\tCode 13 Subcode 0\n...\n")
    released: list[list[str]] = []
    m = Monitor(b, actions={"release": lambda job_ids: released.append(list(job_ids)) or "Released 1 job."}, panels=False)
    m.refresh()
    assert not m.release_button.disabled and m.resubmit_button.disabled and m.remove_button.disabled
    (p,) = m.problems
    assert (p.kind, p.code, p.message) == ("held", 13, "disk quota exceeded")
    assert "held      " in m.problem_select.options[0][0] and "disk quota exceeded" in m.problem_select.options[0][0]
    m.release_button.click()
    assert released == [[ids[1]]] and m.message == "Released 1 job."


def test_the_log_of_the_selected_job_is_read_again_only_when_that_job_changed(
    make_bundle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = make_bundle(x=[0.0, 1.0, 2.0])
    ids = b.job_ids
    log = EventWriter(b.log_path, 7)
    log.write("".join(format_submit(7, i, j) for i, j in enumerate(ids)))
    held = "012 (007.{:03d}.000) 2024-03-01 12:00:0{} Job was held.\n\t{}\n\tCode 13 Subcode 0\n...\n"
    log.write(held.format(1, 1, "disk quota exceeded"))
    m = Monitor(b, panels=False)
    m.refresh()
    reads: list[str] = []
    job_log = m.model.job_log
    monkeypatch.setattr(m.model, "job_log", lambda job_id, **kw: reads.append(job_id) or job_log(job_id, **kw))
    m.problem_select.value = ids[1]
    assert reads == [ids[1]] and "disk quota exceeded" in m.log_html.value
    log.write(held.format(2, 2, "memory exceeded"))  # another job: the problem list changes
    m.refresh()
    assert len(m.problem_select.options) == 2 and m.problem_select.value == ids[1]
    m.pause()
    m.interval.value = 10.0
    m.refresh()  # nothing new
    assert reads == [ids[1]], "the log was read again though its job did not change"
    log.write(held.format(1, 3, "still no disk"))  # the selected job changed
    m.refresh()
    assert reads == [ids[1], ids[1]] and "still no disk" in m.log_html.value
    m.problem_select.value = ids[2]
    assert reads == [ids[1], ids[1], ids[2]] and "memory exceeded" in m.log_html.value


def test_failing_actions_and_missing_ones_are_reported(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0])

    def boom(job_ids: Any) -> None:
        raise RuntimeError("the schedd said no")

    m = Monitor(b, actions=FunctionActions(remove=boom), panels=False)
    m.refresh()
    m.remove()
    assert m.message == "Removing failed: the schedd said no" and "wb-error" in m.message_html.value
    m.release_held()
    assert m.message == "Releasing is not available for this bundle's executor."
    with pytest.raises(ValueError, match="Unknown action"):
        FunctionActions(delete=boom)


def test_pause_interval_sync_and_close(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0])
    syncs: list[float] = []
    m = Monitor(b, sync=lambda: syncs.append(time.time()), interval=5)
    assert not m.start()  # no running event loop here: nothing polls
    m.pause_button.value = True
    assert m.poller.paused and m.pause_button.description == "Resume" and "paused" in m.progress_text.value
    m.resume()
    assert not m.poller.paused and m.pause_button.description == "Pause"
    m.interval.value = 0.5
    assert m.poller.interval == 0.5
    n = m.model.refreshes
    m.sync_button.click()
    assert m.model.refreshes == n + 1 and len(syncs) == 1 and "last sync" in m.progress_text.value
    assert active_monitors() == {b.path: m}
    m.close_button.click()
    assert m.closed and active_monitors() == {} and m.widget.comm is None and m.panels[0].canvas.comm is None
    with pytest.raises(RuntimeError, match="closed"):
        m.start()


def test_closing_closes_every_widget_the_monitor_made(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0], y=[0, 1], z=[0, 1])  # 3-D: sliders, some hidden
    before = set(open_widgets())
    m = Monitor(b)
    m.add_panel(lambda df, ax: ax.plot(df["x"], df["x"]), title="user")
    made = {k: v for k, v in open_widgets().items() if k not in before}
    assert all(p.canvas.toolbar in made.values() for p in m.panels)
    m.close()
    assert [v for v in made.values() if v.comm is not None] == []


def test_one_monitor_per_bundle(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0])
    first = Monitor(b)
    second = Monitor(str(b.path))
    assert first.closed and not second.closed and active_monitors() == {b.path: second}
    first.close()  # closing twice is harmless, and does not unregister the newer one
    assert active_monitors() == {b.path: second}


def test_the_poller_runs_on_the_event_loop_and_the_cell_stays_free(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.0, 1.0, 2.0, 3.0], delay=0.2)
    loop_threads: set[int] = set()

    async def main() -> None:
        m = monitor(b, interval=0.05, display=False)
        assert m.poller.running
        m.run = run = wb.run(b, wait=False, progress=False, workers=2)
        render = m._render
        m._render = lambda *a, **k: (loop_threads.add(threading.get_ident()), render(*a, **k))[1]  # type: ignore[method-assign]
        ticks = 0
        while not run.done:  # the "notebook" keeps running code while the monitor polls
            ticks += 1
            await asyncio.sleep(0.01)
        p = await m.until_done(timeout=30)
        assert p.fraction == 1.0 and p.counts["failed"] == 1 and ticks > 5
        assert m.poller.steps >= 2
        # re-running the cell: the old poller stops, a single new one polls
        m2 = monitor(b, interval=0.05, display=False)
        await asyncio.sleep(0)
        assert m.closed and not m.poller.running and m2.poller.running
        while m2.poller.steps == 0:
            await asyncio.sleep(0.01)
        m2.pause()
        steps = m2.poller.steps
        await asyncio.sleep(0.2)
        assert m2.poller.steps == steps  # paused
        m2.sync_now()
        await asyncio.sleep(0.2)
        assert m2.poller.steps == steps + 1  # Sync now refreshes once while paused
        m2.close()
        assert not m2.poller.running

    asyncio.run(main())
    assert loop_threads == {threading.get_ident()}  # widgets were only touched by the loop's thread


def test_wb_monitor_is_callable_and_returns_the_monitor(make_bundle: Any) -> None:
    import workbench.monitor.model  # noqa: F401 - makes the package the attribute workbench.monitor

    b = make_bundle(x=[0.0])
    m = wb.monitor(b, display=False)
    assert isinstance(m, Monitor) and not m.poller.running
    assert repr(m).startswith(f"<Monitor of {b.path} (not polling): 0 of 1 done")


# ---------------------------------------------------------------------------
# panels
# ---------------------------------------------------------------------------
def test_1d_line_grows_and_marks_failed_and_missing_points(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.0, 1.0, 2.0])
    m = Monitor(b)
    scan, runtime = m.panels
    assert isinstance(scan, ScanPanel) and scan.mode == "line" and isinstance(runtime, RuntimePanel)
    m._throttle.flush()
    assert np.isnan(scan.line.get_ydata()).all() and len(scan.pending.get_xdata()) == 4
    wb.run(b, progress=False, only=b.job_ids[:3], workers=1)
    m.refresh()
    m._throttle.flush()
    assert scan.output.value == "value" and list(scan.output.options) == ["value", "square", "runtime"]
    y = scan.line.get_ydata()
    assert np.isnan(y[0]) and list(y[1:3]) == [0.0, 10.0] and np.isnan(y[3])
    assert list(scan.pending.get_xdata()) == [2.0]  # x = 2: not run yet
    offsets = scan.marked.get_offsets()
    assert offsets.shape == (1, 2) and offsets[0, 0] == -1.0
    assert tuple(scan.marked.get_facecolor()[0][:3]) == pytest.approx(_rgb(MARK_COLORS["failed"]))
    assert scan.ax.get_title() == "value: 2 of 4 points"
    scan.output.value = "square"
    m._throttle.flush()
    assert list(scan.line.get_ydata()[1:3]) == [0.0, 1.0]
    assert runtime.stairs.get_data().values.sum() == 2 and "runtime of 2 jobs" in runtime.ax.get_title()


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_2d_heatmap_fills_in_cell_by_cell(make_bundle: Any) -> None:
    b = make_bundle(x=[-1.0, 0.0, 1.0], y=[0, 1, 2, 3])
    m = Monitor(b)
    (scan, _) = m.panels
    assert scan.mode == "heatmap" and (scan.ydim.value, scan.xdim.value) == (0, 1)  # the longer dimension along x
    assert all(row.layout.display == "none" for row in scan._slider_rows)  # no other dimension: no sliders
    done = [b.job_ids[i] for i in (0, 5, 6)]  # (x=-1, y=0) fails; (0, 1) and (0, 2) complete
    wb.run(b, progress=False, only=done, workers=1)
    m.refresh()
    m._throttle.flush()
    img = np.asarray(scan.image.get_array(), dtype=float)
    assert img.shape == (3, 4)  # rows: x, columns: y
    assert img[1, 1] == 1.0 and img[1, 2] == 2.0 and np.isfinite(img).sum() == 2
    overlay = scan.overlay.get_array()
    assert overlay[0, 0, 3] > 0.5 and overlay[1, 1, 3] == 0  # the failed cell is covered, the others not
    assert scan.image.get_clim() == (1.0, 2.0)
    # swapping the axes transposes the picture
    scan.xdim.value = 0
    assert scan.ydim.value == 1
    m._throttle.flush()
    assert np.asarray(scan.image.get_array()).shape == (4, 3) and scan.ax.get_xlabel() == "x"


def test_nd_scans_pick_two_axes_and_slide_through_the_others(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0], y=[0, 1, 2, 3, 4], z=[0, 1, 2])
    wb.run(b, progress=False, workers=2)
    m = Monitor(b)
    m.refresh()
    (scan, _) = m.panels
    assert [d.label for d in scan.dims] == ["x", "y", "z"]
    assert (scan.ydim.value, scan.xdim.value) == (2, 1)  # the two longest dimensions, the longest along x
    assert [r.layout.display for r in scan._slider_rows] == ["", "none", "none"]
    m._throttle.flush()
    first = np.asarray(scan.image.get_array(), dtype=float).copy()
    assert first.shape == (3, 5) and np.allclose(first, np.arange(5)[None, :] + 0 * first)  # value = 10 x + y at x = 0
    scan.sliders[0].value = 1
    m._throttle.flush()
    assert np.allclose(np.asarray(scan.image.get_array(), dtype=float), first + 10.0)
    assert scan.slider_labels[0].value == "1" and scan.ax.get_title() == "value: 30 of 30 points at x = 1"


def test_redraws_are_throttled() -> None:
    now = [0.0]
    calls: list[float] = []
    t = Throttle(lambda: calls.append(now[0]), 0.1, clock=lambda: now[0])
    t.request()  # the first request draws at once
    for k in range(1, 20):  # 19 requests within 0.095 s: held back
        now[0] = 0.005 * k
        t.request()
    assert calls == [0.0] and t.pending
    t.flush()
    assert calls == [0.0, 0.095] and not t.pending
    now[0] = 0.3
    t.request()
    assert calls == [0.0, 0.095, 0.3]

    async def burst() -> int:
        n = [0]
        th = Throttle(lambda: n.__setitem__(0, n[0] + 1), 0.05)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.3:  # e.g. a slider dragged: a change every 2 ms
            th.request()
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.1)
        assert not th.pending  # the last request was drawn, later
        return n[0]

    n = asyncio.run(burst())
    assert 4 <= n <= 9, n


def test_panel_draws_only_when_something_changed(make_bundle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    b = make_bundle(x=[0.0, 1.0])
    m = Monitor(b)
    m._throttle.flush()
    draws = [p.draws for p in m.panels]
    m._throttle.last = -1e9  # let the next request through at once
    m.refresh()
    m._throttle.flush()
    assert [p.draws for p in m.panels] == draws  # nothing new: no redraw
    wb.run(b, progress=False, workers=1)
    m._throttle.last = -1e9
    m.refresh()
    assert [p.draws for p in m.panels] == [d + 1 for d in draws]


def test_panels_change_their_figures_under_the_lock_their_renders_take(make_bundle: Any) -> None:
    """ipympl renders from another thread: while a panel updates its artists, a render must wait."""
    b = make_bundle(x=[0.0, 1.0])
    wb.run(b, progress=False, workers=1)
    m = Monitor(b)
    m._throttle.flush()
    held = []
    for p in m.panels:
        update = p.update

        def probe(p: Any = p, update: Any = update) -> None:
            got = []
            t = threading.Thread(target=lambda: got.append(p.lock.acquire(blocking=False)))
            t.start()
            t.join()
            held.append(got == [False])  # another thread (a render) cannot take the lock now
            if got[0]:
                p.lock.release()
            update()

        p.update = probe
        p.dirty = True
        p.redraw()
    assert held and all(held)
    m.close()


def test_add_panel_draws_a_user_function_and_survives_its_errors(make_bundle: Any) -> None:
    b = make_bundle(x=[0.0, 1.0, 2.0])
    m = Monitor(b)
    frames: list[Any] = []

    def peak(df: Any, ax: Any) -> None:
        frames.append(df)
        done = df[df.status == "completed"]
        ax.plot(done.x, done.value, "o")
        if len(done) == 3:
            raise KeyError("no column 'energy'")

    p = m.add_panel(peak, title="my panel")
    assert isinstance(p, UserPanel) and p.widget in m.panel_box.children
    m._throttle.flush()
    assert len(frames[-1]) == 3 and (frames[-1].status == "unsubmitted").all() and p.ax.get_title() == "my panel"
    wb.run(b, progress=False, only=b.job_ids[:2], workers=1)
    m._throttle.last = -1e9
    m.refresh()
    assert list(frames[-1]["value"].iloc[:2]) == [0.0, 10.0] and len(p.ax.lines) == 1
    wb.run(b, progress=False, workers=1)
    m._throttle.last = -1e9
    m.refresh()
    assert p.error == "KeyError: \"no column 'energy'\"" and "my panel failed" in p.ax.texts[0].get_text()


def test_the_progress_bar_shows_each_state_as_a_part_of_one_bar() -> None:
    from workbench.monitor.model import Progress
    from workbench.monitor.widget import STATE_COLORS, progress_bar_html

    p = Progress(total=10, counts={"completed": 4, "failed": 1, "interrupted": 1, "running": 2, "idle": 1, "unsubmitted": 1},
                 done=6, active=3, rate=None, eta=None, updated=None)
    bar = progress_bar_html(p)
    import re

    parts = re.findall(r"wb-bar-(\w+)' title='\w+ (\d+)' style='width:([\d.]+)%;background:(#\w+)'", bar)
    assert parts == [
        ("completed", "4", "40.000", STATE_COLORS["completed"]),
        ("failed", "2", "20.000", STATE_COLORS["failed"]),  # interrupted counts with failed
        ("running", "2", "20.000", STATE_COLORS["running"]),
        ("idle", "1", "10.000", STATE_COLORS["idle"]),
    ]  # the unsubmitted tenth is the bar's empty rest


def test_polling_slows_down_once_the_scan_is_done_and_speeds_up_on_a_change(make_bundle: Any, tmp_path: Path) -> None:
    from workbench.monitor.widget import DONE_INTERVAL

    fixed = tmp_path / "fixed"
    b = make_bundle(x=[-1.0, 1.0], delay=0.05, fixed=str(fixed))

    async def main() -> None:
        m = monitor(b, interval=0.05, display=False)
        m.run = run = wb.run(b, wait=False, progress=False, workers=2)
        while not run.done:
            assert m.poller.interval == 0.05  # full pace while jobs run
            await asyncio.sleep(0.01)
        deadline = time.monotonic() + 10
        while m.poller.interval != DONE_INTERVAL:
            assert time.monotonic() < deadline, "the monitor kept polling at full rate after the scan was done"
            await asyncio.sleep(0.02)
        steps = m.poller.steps
        await asyncio.sleep(0.5)
        assert m.poller.steps == steps  # no refresh every 0.05 s any more
        assert "the scan is done: slower until something changes" in m.progress_text.value
        assert m.interval.value == 0.05  # the chosen interval is kept for when something happens
        fixed.write_text("")
        m.resubmit_button.click()  # something changes: the chosen pace is back
        deadline = time.monotonic() + 10
        while m.poller.interval != 0.05:
            assert time.monotonic() < deadline, "the monitor did not speed up after a resubmission"
            await asyncio.sleep(0.01)
        await m.until_done(timeout=30)
        assert m.model.counts()["completed"] == 2
        m.close()

    asyncio.run(main())


def test_the_heatmap_can_colour_on_a_log_scale(make_bundle: Any) -> None:
    from matplotlib.colors import LogNorm, Normalize

    b = make_bundle(x=[1.0, 2.0, 3.0], y=[0, 1, 2])
    wb.run(b, progress=False)
    m = Monitor(b, output="square")
    m.refresh()
    m._throttle.flush()
    panel = next(p for p in m.panels if isinstance(p, ScanPanel))
    assert type(panel.image.norm) is Normalize
    panel.logc.value = True
    m._throttle.flush()
    assert isinstance(panel.image.norm, LogNorm) and panel.image.get_clim() == (1.0, 9.0)
    assert isinstance(panel.colorbar.norm, LogNorm)
    m.panels[0].figure.canvas.draw()
    labels = [t.get_text() for t in [*panel.colorbar.ax.yaxis.get_majorticklabels(), *panel.colorbar.ax.yaxis.get_minorticklabels()]]
    assert "2" in labels and "5" in labels and not any("times" in t for t in labels), labels
    panel.logc.value = False
    m._throttle.flush()
    assert type(panel.image.norm) is Normalize
    m.close()


def test_alike_runtimes_spread_on_a_linear_axis(make_bundle: Any) -> None:
    b = make_bundle(x=[float(v) for v in range(8)], delay=0.1)
    wb.run(b, progress=False, workers=2)
    m = Monitor(b)
    m.refresh()
    m._throttle.flush()
    panel = next(p for p in m.panels if isinstance(p, RuntimePanel))
    assert panel.ax.get_xscale() == "linear"
    values, edges = panel.stairs.get_data()[:2]
    assert values.sum() == 8 and len(edges) == 21 and 0.09 < edges[0] and edges[-1] < 0.5
    assert "runtime of 8 jobs (median ≈ 0.1" in panel.ax.get_title()
    m.close()
