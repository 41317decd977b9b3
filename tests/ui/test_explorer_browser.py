"""The explorer in a real JupyterLab, in headless Chromium: a heatmap, a click that opens a job, the selection in Python.

Needs the browser fixtures of ``tests/labbrowser.py``;
screenshots go to the test's artifacts folder.
"""

from __future__ import annotations

import io
import math
import time
from typing import Any

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.browser




def _bundle(folder: Any) -> Any:
    """A 2-D demo scan with synthetic results (no job runs)."""
    from workbench.bundle import create
    from workbench.job import write_result
    from workbench.jobtypes.demo import steady_state
    from workbench.scan import scan
    from workbench.sources import Linspace

    b = create(scan("demo", drive_freq=Linspace(0.5, 1.5, 9), damping=[0.05, 0.1, 0.2]), folder / "scan")
    t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    for jid in b.job_ids:
        inp = b.input(jid)
        p = inp["params"]
        amp, phase = steady_state(p["drive_freq"], p["damping"], p["force"])
        res = {"amplitude": amp, "phase": phase, "amplitude_exact": amp, "phase_exact": phase, "trajectory": amp * np.cos(t - phase)}
        write_result(b.path / "outputs", inp, res, {"runtime": 0.1, "host": "lab"})
    return b


def _blue_pixels(png: bytes) -> int:
    """Pixels of matplotlib's first colour (C0, #1f77b4), i.e. of the first series."""
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return int((np.abs(rgb - [31, 119, 180]).sum(axis=2) < 40).sum())


def _notebook(path: Any) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('%matplotlib widget\nimport workbench as wb\n\nexplorer = wb.explore("scan")\nexplorer'),
            nbformat.v4.new_code_cell('print("picked:", explorer.picked.job_id.tolist(), "selected:", len(explorer.selection))'),
        ],
        metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
    )
    nbformat.write(nb, path)


def test_explorer_heatmap_click_and_selection(lab: Any) -> None:
    from playwright.sync_api import expect

    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1600})
    bundle = _bundle(lab.folder)
    _notebook(lab.folder / "explore.ipynb")
    lab.open((lab.folder / "explore.ipynb").relative_to(lab.server.root).as_posix())
    lab.run_all()
    explorer = lab.wait_widgets(".wb-explorer")
    plot = explorer.locator(".wb-explorer-plot canvas").last
    plot.wait_for(state="visible")
    message = explorer.locator(".wb-explorer-message")
    expect(message).to_contain_text("27 points from 27 selected of 27 jobs")
    page.wait_for_timeout(500)
    lab.screenshot("heatmap", locator=explorer)

    # A click in the middle of the heatmap opens the job of that cell.
    box = plot.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 0.45 * box["width"], box["y"] + 0.5 * box["height"])
    job = explorer.locator(".wb-explorer-job")
    expect(job).to_contain_text("amplitude", timeout=30_000)
    job_id = job.locator("code").first.inner_text().strip()
    assert job_id in bundle.job_ids
    expect(explorer.locator(".wb-explorer-job-plot canvas").last).to_be_visible()
    page.wait_for_timeout(800)
    lab.screenshot("job-opened", locator=explorer)

    # Lines coloured by damping: the controls drive the plot.
    explorer.locator(".wb-explorer-kind button", has_text="lines").click()
    explorer.locator(".wb-explorer-y select").select_option("amplitude")
    explorer.locator(".wb-explorer-colour select").select_option("damping")
    expect(message).to_contain_text("27 points from 27 selected")
    # What the browser shows is the final state, not a picture drawn while the figure was changing.
    deadline = time.monotonic() + 30
    while _blue_pixels(plot.screenshot()) < 200:
        assert time.monotonic() < deadline, "the lines never appeared in the browser"
        page.wait_for_timeout(500)
    lab.screenshot("lines", locator=explorer)

    # The selection and the clicked job, back in Python.
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1; }")
    lab.command("notebook:run-cell")
    out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text(f"picked: ['{job_id}'] selected: 27", timeout=30_000)


def _notebook_dead_ends(path: Any, job_id: str) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('%matplotlib widget\nimport workbench as wb\n\nexplorer = wb.explore("scan", logy=True)\nexplorer'),
            nbformat.v4.new_code_cell(f'explorer.show_job("{job_id}")\nprint("shown")'),
        ],
        metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
    )
    nbformat.write(nb, path)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1200)], ids=["laptop", "large"])
def test_the_explorer_offers_fixes_and_follows_the_shown_job(lab: Any, size: tuple[int, int]) -> None:
    """Issue 17: no empty heatmap but its fixes; the plot shows the job the panel shows; checkboxes for job states."""
    from playwright.sync_api import expect

    from workbench.results import results
    from workbench.select import sel

    page = lab.page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    bundle = _bundle(lab.folder)
    target = sel(results(bundle), drive_freq=1.0, damping=0.2).iloc[0]["job_id"]
    _notebook_dead_ends(lab.folder / "dead-ends.ipynb", target)
    lab.open((lab.folder / "dead-ends.ipynb").relative_to(lab.server.root).as_posix())
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    lab.command("notebook:run-cell")
    explorer = lab.wait_widgets(".wb-explorer")
    message = explorer.locator(".wb-explorer-message")
    expect(message).to_contain_text("27 points from 27 selected of 27 jobs")
    # The job states as checkboxes, each with its name.
    jobs = explorer.locator(".wb-explorer-jobs")
    expect(jobs.locator("input[type=checkbox]")).to_have_count(1)
    expect(jobs).to_contain_text("completed")

    # A heatmap with an output as y: no empty axes, the message once, and buttons that fix it.
    explorer.locator(".wb-explorer-y select").select_option("amplitude")
    expect(message).to_contain_text("Nothing to draw: a heatmap needs two different scanned parameters as x and y.")
    assert message.inner_text().count("a heatmap needs") == 1
    expect(explorer.locator(".wb-explorer-plot")).to_be_hidden()
    fixes = explorer.locator(".wb-explorer-fixes button")
    expect(fixes).to_have_text(["heatmap of damping against drive_freq", "points of amplitude against drive_freq",
                                "lines of amplitude against drive_freq"])
    explorer.locator(".wb-explorer-fixes").scroll_into_view_if_needed()
    lab.screenshot("heatmap-dead-end")
    fixes.nth(2).click()
    expect(message).to_contain_text("9 points from 9 selected of 27 jobs; pinned: damping = 0.05")
    expect(explorer.locator(".wb-explorer-plot canvas").last).to_be_visible()
    expect(explorer.locator(".wb-explorer-kind button.mod-active")).to_have_text("lines")

    # Showing a job at damping 0.2 (as a click or the next cell does): the slider and the plot follow it.
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1; }")
    lab.command("notebook:run-cell")
    expect(page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output")).to_contain_text("shown", timeout=30_000)
    expect(message).to_contain_text("pinned: damping = 0.2")
    expect(explorer.locator(".wb-explorer-slider-damping .widget-readout")).to_have_text("0.2")
    expect(explorer.locator(".wb-explorer-job")).to_contain_text(target)
    # Colour by damping: damping is on the plot, the legend beside it, not under the toolbar.
    explorer.locator(".wb-explorer-colour select").select_option("damping")
    expect(message).to_contain_text("27 points from 27 selected of 27 jobs")
    plot = explorer.locator(".wb-explorer-plot canvas").last
    plot.hover()  # ipympl shows its toolbar over the figure on hover
    page.wait_for_timeout(1200)
    plot.scroll_into_view_if_needed()
    lab.screenshot("lines-log-y-legend")
    assert page.locator(".jp-Notebook").count() == 1
