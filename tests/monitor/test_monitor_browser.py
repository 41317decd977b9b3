"""The monitor notebook in a real JupyterLab, in headless Chromium: the panel follows a local scan to 100 %.

Needs the browser fixtures of ``tests/labbrowser.py``;
screenshots go to the test's artifacts folder.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_monitor_a_scan.ipynb"


def _cell_index(lab: Any, heading: str) -> int:
    """Index of the first cell whose source starts with ``heading``."""
    return int(
        lab.page.evaluate(
            """(h) => {
                const cells = window.jupyterapp.shell.currentWidget.content.widgets;
                return cells.findIndex(c => c.model.sharedModel.getSource().startsWith(h));
            }""",
            heading,
        )
    )


def _run_from(lab: Any, index: int, command: str) -> None:
    lab.page.evaluate("(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", index)
    lab.command(command)


def _wait_ran(lab: Any, last: int, timeout: float = 120.0) -> None:
    """Wait until code cell ``last`` has an execution count and the kernel is idle."""
    lab.page.wait_for_function(
        """(i) => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            const cell = window.jupyterapp.shell.currentWidget.content.widgets[i];
            const idle = panel.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']") !== null;
            return idle && cell.model.executionCount !== null;
        }""",
        arg=last,
        timeout=timeout * 1000,
    )




def test_monitor_follows_a_local_scan_to_the_end(lab: Any) -> None:
    from playwright.sync_api import expect

    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1900})  # the whole panel in one screenshot
    lab.open(lab.copy_notebook(NOTEBOOK))
    failure = _cell_index(lab, "## Look at a failure")
    assert failure > 0
    # Start the scan and the monitor, then leave the kernel idle: the panel updates by itself.
    _run_from(lab, failure, "notebook:run-all-above")
    panel = lab.wait_widgets(".wb-monitor")
    canvas = panel.locator(".wb-monitor-panel canvas").first
    canvas.wait_for(state="visible")
    progress = panel.locator(".wb-progress")
    lab.screenshot("monitor-started", locator=panel)

    pictures: dict[str, str] = {}  # picture digest -> progress text when first seen
    texts: list[str] = []
    running_parts = 0  # times the bar was seen with a part for running jobs
    shots = 0
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, f"the scan did not reach 100 %; last seen: {texts[-1:]}"
        text = progress.inner_text()
        running_parts += panel.locator(".wb-bar-running").count()
        if not texts or texts[-1] != text:
            texts.append(text)
        digest = hashlib.sha1(canvas.screenshot()).hexdigest()
        if digest not in pictures:
            pictures[digest] = text
            if 0 < shots < 3 and "100 %" not in text:
                lab.screenshot(f"monitor-midway-{shots}", locator=panel)
            shots += 1
        if "(100 %)" in text:
            break
        page.wait_for_timeout(400)
    percents = [int(p) for t in texts for p in re.findall(r"\((\d+) %\)", t)]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any(0 < p < 100 for p in percents), f"never saw the scan in progress: {texts}"
    during = [t for t in pictures.values() if "(100 %)" not in t]
    assert len(during) >= 2, f"the live panel did not change while jobs finished: {list(pictures.values())}"
    expect(progress).to_contain_text("75 of 75 done (100 %), 8 failed")
    expect(panel).to_contain_text("completed 67")
    # One bar in parts: completed and failed side by side, in proportion; running was shown while jobs ran.
    assert running_parts > 0, "the bar never showed running jobs"
    done_part, failed_part = panel.locator(".wb-bar-completed"), panel.locator(".wb-bar-failed")
    expect(done_part).to_have_attribute("title", "completed 67")
    expect(failed_part).to_have_attribute("title", "failed 8")
    expect(panel.locator(".wb-bar-running")).to_have_count(0)
    wd, wf = done_part.bounding_box(), failed_part.bounding_box()
    assert wd is not None and wf is not None
    assert abs(wd["width"] / (wd["width"] + wf["width"]) - 67 / 75) < 0.01 and abs(wf["x"] - (wd["x"] + wd["width"])) < 1
    # Done: the monitor polls slowly, and says so.
    expect(progress).to_contain_text("every 30 s (the scan is done: slower until something changes)")
    page.wait_for_timeout(1500)  # the last redraw
    lab.screenshot("monitor-done", locator=panel)
    # A log colour scale for the heatmap.
    panel.locator(".wb-monitor-logc input").check()
    page.wait_for_timeout(1500)
    lab.screenshot("monitor-log-colour", locator=panel)

    # Click a problem job: its whole log shows.
    problems = panel.locator(".wb-problems select")
    expect(problems.locator("option")).to_have_count(8)
    problems.select_option(index=0)
    log = panel.locator(".wb-log pre")
    expect(log).to_contain_text("Traceback (most recent call last)")
    expect(log).to_contain_text("FloatingPointError: step size underflow near resonance")
    lab.screenshot("problem-log", locator=panel)

    # The rest of the notebook: look at the failure, fix the cause, resubmit the failed points.
    _run_from(lab, failure, "notebook:run-all-below")
    last_code = int(
        page.evaluate(
            """() => {
                const cells = window.jupyterapp.shell.currentWidget.content.widgets;
                let last = -1;
                cells.forEach((c, i) => { if (c.model.type === 'code') last = i; });
                return last;
            }"""
        )
    )
    _wait_ran(lab, last_code)
    for text in page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts():
        assert "Traceback (most recent call last)" not in text, text[-3000:]
    expect(progress).to_contain_text("75 of 75 done (100 %)")
    expect(progress).not_to_contain_text("failed")
    expect(panel).to_contain_text("Problem jobs: none")
    expect(panel).to_contain_text("completed 75")
    expect(panel.locator(".wb-bar-completed")).to_have_attribute("title", "completed 75")
    page.wait_for_timeout(1500)
    lab.screenshot("monitor-after-resubmit", locator=panel)
    page.set_viewport_size({"width": 1366, "height": 768})  # as on a laptop
    panel.locator(".wb-progress-bar").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    lab.screenshot("monitor-laptop")
    lab.screenshot("notebook", full_page=True)
