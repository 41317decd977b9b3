"""The monitor panel: one ipywidgets layout over a :class:`~workbench.monitor.model.MonitorModel`.

The layout is displayed once; a :class:`~workbench.monitor.poller.Poller` (an
asyncio task on the kernel's loop) refreshes it.  Each refresh reads what is
new in a worker thread (:meth:`MonitorModel.collect`), then, back on the
loop, folds it into the model and updates the widgets inside ``hold_sync()``
and the panels through a throttle.  Only one monitor watches a bundle at a
time: making another (e.g. re-running the cell) closes the first.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .actions import RunFollower, as_actions
from .model import REMOVABLE, Change, MonitorModel, Problem, Progress, format_duration
from .poller import Poller, running_loop

if TYPE_CHECKING:
    import os

    from ..bundle import Bundle
    from .panels import Panel, UserPanelFunction

__all__ = ["Monitor", "monitor", "active_monitors", "progress_bar_html", "STATE_COLORS", "BAR_PARTS", "DONE_INTERVAL"]

#: Monitors by bundle path: never two pollers on one bundle.
_ACTIVE: dict[Path, Monitor] = {}

#: Colours of the state counts.
STATE_COLORS = {
    "unsubmitted": "#9e9e9e",
    "idle": "#607d8b",
    "running": "#1e88e5",
    "held": "#fb8c00",
    "completed": "#43a047",
    "failed": "#e53935",
    "removed": "#616161",
    "interrupted": "#8e24aa",
}

#: States always shown in the counts, even at zero; others appear when they have jobs.
_ALWAYS = ("idle", "running", "held", "completed", "failed", "removed")

#: The parts of the progress bar, left to right: the states each stands for (failed takes interrupted too).
BAR_PARTS: dict[str, tuple[str, ...]] = {
    "completed": ("completed",),
    "failed": ("failed", "interrupted"),
    "removed": ("removed",),
    "held": ("held",),
    "running": ("running",),
    "idle": ("idle",),
}
#: Once no job is queued or running, the monitor refreshes at most this often (a change brings the chosen interval back).
DONE_INTERVAL = 30.0

_MAX_PROBLEM_ROWS = 500
_INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
_CONFIRM_SECONDS = 6.0

_CSS = """<style>
.wb-monitor { border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px; padding: 6px 10px; }
.wb-monitor .wb-chip { display: inline-block; padding: 1px 8px; margin: 0 6px 2px 0; border-radius: 10px;
  color: white; font-size: 12px; line-height: 18px; }
.wb-monitor .wb-chip.wb-zero { opacity: 0.35; }
.wb-monitor .wb-problems select { font-family: var(--jp-code-font-family, monospace); font-size: 12px; }
.wb-monitor .wb-log pre { max-height: 320px; overflow: auto; margin: 0; padding: 4px 6px; font-size: 12px;
  background: var(--jp-layout-color2, #f5f5f5); white-space: pre-wrap; }
.wb-monitor .wb-message { font-size: 12px; color: var(--jp-ui-font-color2, #555); }
.wb-monitor .wb-error { color: #c62828; }
.wb-monitor .wb-bar { display: flex; width: 260px; height: 14px; border-radius: 3px; overflow: hidden;
  background: var(--jp-layout-color3, #e8e8e8); }
.wb-monitor .wb-bar > div { height: 100%; }
</style>"""


def active_monitors() -> dict[Path, Monitor]:
    """The monitors polling now, by bundle path."""
    return dict(_ACTIVE)


def _clock(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S") if t else "—"


class Monitor:
    """A live panel watching one bundle: counts, progress, problems, actions and plots.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    interval
        Seconds between automatic refreshes.
    run
        A run handle to follow (default: the bundle's latest run, whatever its
        target, found by itself: ``wb.attach(bundle)``).
    sync
        A callable bringing remote events and outputs home, called (in a
        worker thread) before every refresh (default: the followed run's
        :meth:`~workbench.executors.RunHandle.sync` for a run on an SSH host or
        a pool reached over SSH, retried after a growing pause when the host
        does not answer; ``False``: none).
    actions
        What *Release held*, *Resubmit failed* and *Remove* do: an object with
        any of ``release(ids)``, ``resubmit(ids)``, ``remove(ids)``, or a dict
        of such callables (default: the bundle's run, through :class:`~workbench.monitor.actions.RunFollower`).
    panels
        Show the live plots (a scan panel and a runtime histogram).
    output
        The output the scan panel shows first (default: the job type's first).

    Notes
    -----
    Making a monitor closes any other monitor of the same bundle.  The monitor
    polls once :meth:`start` ed on a running event loop (a notebook); without
    one, call :meth:`refresh`.
    """

    def __init__(
        self,
        bundle: Bundle | str | os.PathLike[str],
        *,
        interval: float = 2.0,
        run: Any = None,
        sync: Callable[[], Any] | bool | None = None,
        actions: Any = None,
        panels: bool = True,
        output: str | None = None,
    ) -> None:
        from ..bundle import open_bundle

        self.bundle = open_bundle(bundle)
        self.key = self.bundle.path
        previous = _ACTIVE.get(self.key)
        if previous is not None:
            previous.close()
        #: The link to the bundle's run (whatever its target): finds it, syncs it, acts on it.
        self.follower = RunFollower(self.bundle, run)
        self.actions = as_actions(actions) if actions is not None else self.follower
        if sync is None:
            sync = self.follower.sync
        self.model = MonitorModel(self.bundle, sync=sync or None)
        self._run = run
        self.poller = Poller(self._step, interval, on_error=self._poll_error, again=lambda: self.model.backlog > 0)
        self._interval_chosen = float(interval)  # what the user asked for; the poller slows down once the scan is done
        self._slowed = False
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        self._confirm_remove = 0.0
        self._suppress_display = False
        self._updating_problems = False
        self._log_job: str | None = None  # the job whose log log_html shows
        self._pending_actions = 0  # actions running in the worker thread
        self.message = ""
        self.panels: list[Panel] = []
        self._throttle: Any = None
        self._build(panels, output)
        _ACTIVE[self.key] = self

    # ------------------------------------------------------------------ layout
    def _build(self, panels: bool, output: str | None) -> None:
        import ipywidgets as w

        from ..ui.canvas import Throttle
        from .panels import RuntimePanel, ScanPanel

        b = self.bundle
        self.title = w.HTML(
            f"{_CSS}<b>{html.escape(b.name)}</b> — {b.count:,} {html.escape(str(b.info.get('job_type', '')))} "
            f"job(s) — <code>{html.escape(str(b.path))}</code>",
            layout=w.Layout(flex="1 1 auto"),
        )
        self.close_button = w.Button(icon="times", tooltip="Stop watching and close this panel", layout=w.Layout(width="36px"))
        self.close_button.on_click(lambda _: self.close())
        self.bar = w.HTML(layout=w.Layout(width="264px"))  # see progress_bar_html
        self.bar.add_class("wb-progress-bar")
        self.progress_text = w.HTML()
        self.progress_text.add_class("wb-progress")
        self.counts_html = w.HTML()
        self.counts_html.add_class("wb-counts")
        self.sync_button = w.Button(description="Sync now", icon="refresh", tooltip="Read new events and results now")
        self.pause_button = w.ToggleButton(value=False, description="Pause", icon="pause", tooltip="Pause or resume the automatic refresh")
        self.release_button = w.Button(description="Release held", icon="play", tooltip="Release the held jobs")
        self.resubmit_button = w.Button(
            description="Resubmit failed", icon="repeat", tooltip="Run the failed, interrupted and removed jobs again"
        )
        self.remove_button = w.Button(description="Remove", icon="stop", tooltip="Remove the jobs that have not finished (asks to confirm)")
        options = sorted({*_INTERVALS, float(self.poller.interval)})
        self.interval = w.Dropdown(
            description="every",
            options=[(format_duration(v) if v >= 1 else f"{v:g} s", v) for v in options],
            value=float(self.poller.interval),
            layout=w.Layout(width="150px"),
            style={"description_width": "40px"},
        )
        self.sync_button.on_click(lambda _: self.sync_now())
        self.pause_button.observe(self._on_pause, "value")
        self.release_button.on_click(lambda _: self.release_held())
        self.resubmit_button.on_click(lambda _: self.resubmit_failed())
        self.remove_button.on_click(self._on_remove)
        self.interval.observe(self._on_interval, "value")
        self.message_html = w.HTML()
        self.message_html.add_class("wb-message")

        self.problems_title = w.HTML("<b>Problem jobs</b>: none")
        self.problem_select = w.Select(options=[], rows=6, layout=w.Layout(width="100%"))
        self.problem_select.add_class("wb-problems")
        self.problem_select.observe(self._on_select, "value")
        self.log_html = w.HTML()
        self.log_html.add_class("wb-log")
        self.problem_box = w.VBox([self.problems_title, self.problem_select, self.log_html])
        self.problem_select.layout.display = "none"

        self.panel_box = w.HBox([], layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))
        # ~10 redraws per second at most, fewer when rendering is slow: the kernel renders
        # each picture when the browser asks, and should stay free at least half the time.
        self._throttle = Throttle(self._redraw, lambda: min(max(0.1, 2.0 * sum(p.draw_seconds for p in self.panels)), 2.0))
        if panels:
            from .adaptive_panel import panel_for  # an adaptive bundle's points are no grid

            self._add(panel_for(self.model) or ScanPanel(self.model, output=output))
            self._add(RuntimePanel(self.model))
        buttons = w.HBox([self.sync_button, self.pause_button, self.release_button, self.resubmit_button, self.remove_button, self.interval])
        self.widget = w.VBox(
            [
                w.HBox([self.title, self.close_button]),
                w.HBox([self.bar, self.progress_text], layout=w.Layout(align_items="center")),
                self.counts_html,
                buttons,
                self.message_html,
                self.panel_box,
                self.problem_box,
            ]
        )
        self.widget.add_class("wb-monitor")
        self._render(None)

    def _add(self, panel: Panel) -> Panel:
        panel.on_change = self._throttle.request
        self.panels.append(panel)
        self.panel_box.children = (*self.panel_box.children, panel.widget)
        panel.dirty = True
        self._throttle.request()
        return panel

    # ------------------------------------------------------------------ public API
    @property
    def run(self) -> Any:
        """The run the monitor follows: the bundle's latest, whatever its target (``None`` before it first runs)."""
        return self.follower.run

    @run.setter
    def run(self, handle: Any) -> None:
        self._run = handle
        self.follower.run = handle

    @property
    def progress(self) -> Progress:
        return self.model.progress()

    @property
    def problems(self) -> list[Problem]:
        """Problem jobs (held, failed, interrupted, evicted many times, bad output), in bundle order."""
        return self.model.problem_list()

    def job_log(self, job_id: str) -> str:
        """The whole log of one job (what clicking it in the problem table shows)."""
        return self.model.job_log(job_id)

    def start(self) -> bool:
        """Start polling on the running event loop; False (and no polling) outside one."""
        if self._closed:
            raise RuntimeError("This monitor is closed; make a new one with workbench.monitor(...).")
        return self.poller.start()

    def stop(self) -> None:
        """Stop polling (the panel stays as it is)."""
        self.poller.stop()

    def pause(self) -> None:
        self.pause_button.value = True

    def resume(self) -> None:
        self.pause_button.value = False

    @property
    def interval_seconds(self) -> float:
        return self.poller.interval

    def refresh(self) -> Change:
        """One whole cycle, now, in this thread: bring a remote run's results home, read what is new, update the panel."""
        delta = self.model.collect()
        change = self.model.apply(delta)
        self._render(change, sync_error=delta.sync_error)
        return change

    async def refresh_async(self) -> Change:
        """Read what is new in a worker thread, then update the panel on the loop."""
        loop = asyncio.get_running_loop()
        delta = await loop.run_in_executor(self._executor(), self.model.collect)
        if self._closed:
            return Change(indices=np.empty(0, dtype=np.int64))
        change = self.model.apply(delta)
        self._render(change, sync_error=delta.sync_error)
        return change

    def sync_now(self) -> None:
        """Refresh at once (also while paused), looking at every result file."""
        self.model.full_next = True
        self.follower.full_next = True
        if self.poller.running:
            self.poller.wake(force=True)
        else:
            self.refresh()

    def release_held(self) -> None:
        """Release the held jobs (pool executors)."""
        self._act("release", "Releasing", self.model.ids("held"))

    def resubmit_failed(self) -> None:
        """Run the failed, interrupted and removed jobs again."""
        self._act("resubmit", "Resubmitting", self.model.ids("failed", "interrupted", "removed"))

    def remove(self) -> None:
        """Remove the jobs that have not finished (no confirmation; the button asks for one)."""
        self._act("remove", "Removing", self.model.ids(*REMOVABLE))

    def add_panel(self, fn: UserPanelFunction, *, title: str | None = None, figsize: tuple[float, float] = (4.8, 3.4)) -> Panel:
        """Add a live panel drawn by ``fn(df, ax)``.

        ``df`` holds the results so far (the columns of :func:`workbench.results`)
        and ``ax`` is a cleared matplotlib Axes; ``fn`` is called again
        whenever new results arrive (at most ~10 times per second).

        Examples
        --------
        >>> def peak(df, ax):
        ...     done = df[df.status == "completed"]
        ...     ax.plot(done.drive_freq, done.amplitude, ".")
        >>> m.add_panel(peak, title="amplitude")  # doctest: +SKIP
        """
        from .panels import UserPanel

        return self._add(UserPanel(self.model, fn, title=title, figsize=figsize))

    async def until_done(self, timeout: float | None = None, *, poll: float = 0.2) -> Progress:
        """Wait (without blocking the kernel) until no job is queued or running and the run handle ended.

        Use as ``await m.until_done()`` in a cell; the panel keeps updating meanwhile.
        """
        t0 = time.monotonic()
        while True:
            run = self.run
            run_done = run is None or bool(getattr(run, "done", True))
            if run_done and not self._pending_actions:  # e.g. a resubmission still starting
                await self.refresh_async()  # a refresh that started after the run ended
                p = self.model.progress()
                if p.active == 0 and self.model.backlog == 0:
                    return p
            if timeout is not None and time.monotonic() - t0 > timeout:
                raise TimeoutError(f"{self.bundle.name}: still {self.model.progress().summary()} after {timeout} s.")
            await asyncio.sleep(poll)

    def close(self) -> None:
        """Stop polling and close the panel's widgets and figures."""
        if self._closed:
            return
        self._closed = True
        self.poller.stop()
        self._throttle.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.follower.close()
        from ..ui.canvas import close_tree

        for p in self.panels:
            p.close()
        close_tree([self.widget])
        if _ACTIVE.get(self.key) is self:
            del _ACTIVE[self.key]

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ display
    def display(self) -> None:
        """Show the panel in the notebook (once per call)."""
        from IPython import get_ipython
        from IPython.display import display

        display(self.widget)
        ip = get_ipython()
        if ip is not None:
            # monitor() displays the panel itself; when its return value is
            # also the cell's result, do not show a second copy.
            self._suppress_display = True

            def clear(*_: Any) -> None:
                self._suppress_display = False
                ip.events.unregister("post_run_cell", clear)

            ip.events.register("post_run_cell", clear)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        if self._suppress_display:
            self._suppress_display = False
            return
        display(self.widget)

    def __repr__(self) -> str:
        how = "closed" if self._closed else "paused" if self.poller.paused else (
            f"every {self.poller.interval:g} s" if self.poller.running else "not polling"
        )
        return f"<Monitor of {self.bundle.path} ({how}): {self.model.progress().summary()}>"

    # ------------------------------------------------------------------ internals
    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-monitor")
        return self._pool

    async def _step(self) -> None:
        change = await self.refresh_async()
        self._pace(change)

    def _pace(self, change: Change | None = None) -> None:
        """Poll at the chosen interval while jobs are queued or running, at :data:`DONE_INTERVAL` once none are.

        A finished scan changes only when someone acts (resubmits, releases,
        syncs): the chosen pace comes back with the first refresh that sees a
        change or an active job.
        """
        run = self.run
        active = self.model.progress().active or self.model.backlog or self._pending_actions
        done = not active and (run is None or bool(getattr(run, "done", True))) and (change is None or change.empty)
        slowed = done and self._interval_chosen < DONE_INTERVAL
        if slowed != self._slowed:
            self._slowed = slowed
            self.poller.interval = DONE_INTERVAL if slowed else self._interval_chosen
            self._render(None)

    def _poll_error(self, e: BaseException) -> None:
        self._say(f"Refresh failed: {type(e).__name__}: {e}", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message = text
        cls = "wb-error" if error else ""
        self.message_html.value = f"<span class='{cls}'>{html.escape(text)}</span>" if text else ""

    def _on_pause(self, change: Any) -> None:
        paused = bool(change["new"])
        if paused:
            self.poller.pause()
        else:
            self.poller.resume()
        with self.pause_button.hold_sync():
            self.pause_button.description = "Resume" if paused else "Pause"
            self.pause_button.icon = "play" if paused else "pause"
        self._render(None)

    def _on_interval(self, change: Any) -> None:
        self._interval_chosen = float(change["new"])
        self._slowed = False  # the chosen pace, until the next refresh finds the scan still done
        self.poller.interval = self._interval_chosen
        self._render(None)

    def _on_remove(self, _: Any) -> None:
        now = time.monotonic()
        if now - self._confirm_remove > _CONFIRM_SECONDS:
            self._confirm_remove = now
            with self.remove_button.hold_sync():
                self.remove_button.description = "Confirm remove"
                self.remove_button.button_style = "danger"
            return
        self._confirm_remove = 0.0
        self._reset_remove_button()
        self.remove()

    def _reset_remove_button(self) -> None:
        with self.remove_button.hold_sync():
            self.remove_button.description = "Remove"
            self.remove_button.button_style = ""

    def _act(self, name: str, doing: str, job_ids: Sequence[str]) -> None:
        fn = getattr(self.actions, name, None)
        if fn is None:
            self._say(f"{doing} is not available for this bundle's executor.", error=True)
            return
        self._say(f"{doing} {len(job_ids):,} job(s)…")
        ids = list(job_ids)

        def done(result: Any = None, error: BaseException | None = None) -> None:
            if error is not None:
                self._say(f"{doing} failed: {error}", error=True)
            else:
                self._say(str(result) if result else f"{doing} {len(ids):,} job(s): done.")
            if self.poller.running:
                self.poller.wake(force=True)
            elif not self._closed:
                self.refresh()

        loop = running_loop()
        if loop is None:
            try:
                result = fn(ids)
            except Exception as e:  # noqa: BLE001 - shown in the panel
                done(error=e)
            else:
                done(result)
            return
        fut = loop.run_in_executor(self._executor(), fn, ids)
        self._pending_actions += 1

        def finished(f: asyncio.Future[Any]) -> None:
            self._pending_actions -= 1
            if f.cancelled():
                return
            e = f.exception()
            done(f.result() if e is None else None, e)

        fut.add_done_callback(finished)

    # ------------------------------------------------------------------ rendering
    def _render(self, change: Change | None, *, sync_error: str = "") -> None:
        if self._closed:
            return
        m = self.model
        p = m.progress()
        with ExitStack() as stack:
            for wdg in (self.bar, self.progress_text, self.counts_html, self.release_button, self.resubmit_button,
                        self.remove_button, self.problems_title, self.problem_select, self.message_html):  # fmt: skip
                stack.enter_context(wdg.hold_sync())
            self.bar.value = progress_bar_html(p)
            state = "paused" if self.poller.paused else f"every {self.poller.interval:g} s" if self.poller.running else "not polling"
            if self._slowed and not self.poller.paused:
                state += " (the scan is done: slower until something changes)"
            loading = f" · reading results, {m.backlog:,} to go" if m.backlog else ""
            remote = self.follower.sync_text() if m.sync is not None else ""
            self.progress_text.value = (
                f"&nbsp;<b>{p.summary()}</b>{loading}<br>&nbsp;<small>last sync {_clock(m.updated)}"
                f" ({m.last_delta_seconds * 1000:.0f} ms) · {state}"
                + (f"<br>&nbsp;results {html.escape(remote)}" if remote else "")
                + "</small>"
            )
            self.counts_html.value = self._counts_html(p)
            held = p.counts.get("held", 0)
            redo = p.counts.get("failed", 0) + p.counts.get("interrupted", 0) + p.counts.get("removed", 0)
            unfinished = sum(p.counts.get(s, 0) for s in REMOVABLE)
            self.release_button.disabled = not (held and hasattr(self.actions, "release"))
            self.resubmit_button.disabled = not (redo and hasattr(self.actions, "resubmit"))
            self.remove_button.disabled = not (unfinished and hasattr(self.actions, "remove"))
            if self._confirm_remove and time.monotonic() - self._confirm_remove > _CONFIRM_SECONDS:
                self._confirm_remove = 0.0
                self._reset_remove_button()
            if change is None or change.problems:
                self._render_problems()
            self._render_log(change)
            if sync_error:
                self._say(f"Sync failed: {sync_error}", error=True)
            elif self.message.startswith("Sync failed"):
                self._say("The connection is back: results are coming home again.")
            run = self.run
            err = getattr(run, "error", None)
            if err is not None and not self.message.startswith("The run failed"):
                self._say(f"The run failed: {type(err).__name__}: {err}", error=True)
        if change is not None and not change.empty:
            for panel in self.panels:
                panel.dirty = True
            if change.new_outputs:
                for panel in self.panels:
                    panel.refresh_options()
            self._throttle.request()

    def _counts_html(self, p: Progress) -> str:
        chips = []
        for s, n in p.counts.items():
            if n == 0 and s not in _ALWAYS:
                continue
            color = STATE_COLORS.get(s, "#78909c")
            zero = " wb-zero" if n == 0 else ""
            chips.append(f"<span class='wb-chip{zero}' style='background:{color}' title='{s}'>{s} {n:,}</span>")
        return "".join(chips)

    def _render_problems(self) -> None:
        probs = self.model.problem_list()
        n = len(probs)
        shown = probs[:_MAX_PROBLEM_ROWS]
        kinds: dict[str, int] = {}
        for pr in probs:
            kinds[pr.kind] = kinds.get(pr.kind, 0) + 1
        if n:
            what = ", ".join(f"{k} {v:,}" for k, v in kinds.items())
            more = f" (the first {_MAX_PROBLEM_ROWS} shown)" if n > len(shown) else ""
            self.problems_title.value = f"<b>Problem jobs</b>: {what}{more} — click one to see its log"
        else:
            self.problems_title.value = "<b>Problem jobs</b>: none"
        options = [(pr.label(), pr.job_id) for pr in shown]
        if list(self.problem_select.options) != options:
            current = self.problem_select.value
            self._updating_problems = True
            try:
                self.problem_select.options = options  # selects the first row; put the selection back
                self.problem_select.value = current if current in {o[1] for o in options} else None
            finally:
                self._updating_problems = False
        self.problem_select.layout.display = "" if n else "none"
        self.problem_select.rows = min(max(n, 2), 8)

    def _render_log(self, change: Change | None) -> None:
        """Show the selected job's log: read again only when another job is selected or that job changed."""
        job_id = self.problem_select.value
        if job_id is None:
            self._show_log(None)
        elif job_id != self._log_job or (change is not None and self.bundle.index_of(job_id) in change.indices):
            self._show_log(job_id)

    def _on_select(self, change: Any) -> None:
        if not self._updating_problems:
            self._show_log(change["new"])

    def _show_log(self, job_id: str | None) -> None:
        # job_log reads up to 2 x 64 KB of the job's files, on the kernel's loop: only when asked.
        self._log_job = job_id
        self.log_html.value = "" if job_id is None else f"<pre>{html.escape(self.model.job_log(job_id))}</pre>"

    def _redraw(self) -> None:
        if self._closed:
            return
        for panel in self.panels:
            panel.redraw()


def progress_bar_html(p: Progress) -> str:
    """One bar of the scan: completed, failed, removed, held, running and idle jobs as parts in their colours."""
    parts = []
    for name, states in BAR_PARTS.items():
        n = sum(p.counts.get(s, 0) for s in states)
        if n and p.total:
            parts.append(
                f"<div class='wb-bar-{name}' title='{name} {n:,}' "
                f"style='width:{100 * n / p.total:.3f}%;background:{STATE_COLORS[name]}'></div>"
            )
    return f"<div class='wb-bar' title='{html.escape(p.summary())}'>{''.join(parts)}</div>"


def monitor(
    bundle_or_path: Bundle | str | os.PathLike[str],
    *,
    interval: float = 2.0,
    run: Any = None,
    sync: Callable[[], Any] | bool | None = None,
    actions: Any = None,
    panels: bool = True,
    output: str | None = None,
    display: bool = True,
) -> Monitor:
    """Watch a scan in a notebook cell: one panel that updates itself while the notebook stays free.

    Shows the counts per state, a progress bar with throughput and ETA, the
    time of the last sync, a table of problem jobs (click one for its log),
    buttons (*Sync now*, *Pause*, *Release held*, *Resubmit failed*,
    *Remove*, the refresh interval) and live plots that fill in as results
    arrive.  Running the cell again, or closing the panel, stops its polling.

    Parameters
    ----------
    bundle_or_path
        The bundle, or its path.
    interval
        Seconds between refreshes.
    run
        The handle from ``wb.run(bundle, wait=False)``, if this kernel runs the scan.
    sync
        Called before every refresh to bring remote events and outputs home
        (default: the pool executor's pull for bundles on a remote submit host; ``False``: none).
    actions
        What the job buttons do (see :class:`Monitor`).
    panels
        Show the live plots.
    output
        The output the scan plot shows first.
    display
        Display the panel (else call ``m.display()`` or show ``m``).

    Returns
    -------
    Monitor
        The monitor: ``m.add_panel(fn)``, ``m.problems``, ``m.job_log(id)``,
        ``await m.until_done()``, ``m.close()``.

    Examples
    --------
    >>> import workbench as wb
    >>> run = wb.run(bundle, wait=False, progress=False)  # doctest: +SKIP
    >>> m = wb.monitor(bundle, run=run)  # doctest: +SKIP
    """
    m = Monitor(bundle_or_path, interval=interval, run=run, sync=sync, actions=actions, panels=panels, output=output)
    if display:
        m.display()
    m.start()
    return m
