"""An adaptive scan watched in a real JupyterLab: the loop runs on the kernel's loop, the panel follows it."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = pytest.mark.browser

CELLS = [
    "import workbench as wb\n"
    "s = wb.scan('demo', drive_freq=wb.adaptive(0.5, 1.5), damping=0.05)\n"
    "a = wb.adapt(s, 'peak', max_jobs=40, workers=2)\n"
    "m = wb.monitor(a.bundle, interval=0.5)\n"
    "m",
    "print('cells stay usable while it runs:', a.report is None)",
]


def test_the_adaptive_panel_follows_a_scan_while_cells_stay_usable(lab: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    src = tmp_path / "adaptive.ipynb"
    nbformat.write(nb, src)
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1400})
    lab.open(lab.copy_notebook(src))
    lab.run_all()
    panel = lab.wait_widgets(".wb-monitor")
    canvas = panel.locator(".wb-monitor-panel canvas").first
    canvas.wait_for(state="visible")
    expect(page.locator(".jp-OutputArea-output").filter(has_text="cells stay usable while it runs: True")).to_have_count(1)
    lab.screenshot("adaptive-started", locator=panel)
    pictures: list[str] = []
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        digest = hashlib.sha1(canvas.screenshot()).hexdigest()
        if not pictures or pictures[-1] != digest:
            pictures.append(digest)
            if len(pictures) == 3:
                lab.screenshot("adaptive-midway", locator=panel)
        if len(pictures) >= 4:
            break
        page.wait_for_timeout(500)
    assert len(pictures) >= 3, "the adaptive panel did not change while the scan grew"
    page.wait_for_timeout(1500)
    lab.screenshot("adaptive-panel", locator=panel)
