"""The scan form in a real JupyterLab, in headless Chromium: type, see the count and the messages, create a bundle.

Needs the browser fixtures of ``tests/labbrowser.py``; screenshots go to the test's artifacts folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_create_a_scan.ipynb"




def test_form_notebook_types_checks_and_creates(lab: Any) -> None:
    from playwright.sync_api import expect

    from workbench.bundle import open_bundle
    from workbench.sources import Linspace

    lab.open(lab.copy_notebook(NOTEBOOK))
    lab.run_all()
    page = lab.page
    form = lab.wait_widgets(".wb-form")
    field = form.locator(".wb-field-drive_freq")
    summary = form.locator(".wb-summary")
    create = form.locator(".wb-button-create button, button.wb-button-create").first
    expect(summary).to_contain_text("1 job")
    form.scroll_into_view_if_needed()
    lab.screenshot("form", locator=form)

    # A linspace typed into drive_freq: the job count follows.
    field.locator(".wb-mode select").select_option(label="linspace")
    # The kernel starts the new mode from the current value; type once that has arrived.
    expect(field.locator(".wb-input-linspace-start input")).to_have_value("1.0")
    for key, text in (("start", "0.5"), ("stop", "1.5"), ("num", "11")):
        field.locator(f".wb-input-linspace-{key} input").fill(text)
    expect(field.locator(".wb-message")).to_contain_text("11 values: 0.5, 0.6, …, 1.5")
    expect(summary).to_contain_text("11 jobs")
    expect(form.locator(".wb-preview-table tr").nth(2)).to_contain_text("0.6")  # the table follows the last change
    lab.screenshot("linspace", locator=form)

    # An invalid value: the message at the field, the buttons disabled with the reason.
    field.locator(".wb-input-linspace-start input").fill("-1")
    expect(field.locator(".wb-message")).to_contain_text("below the lower bound")
    expect(create).to_be_disabled()
    expect(form.locator(".wb-reason")).to_contain_text("Fix drive_freq")
    lab.screenshot("invalid", locator=form)

    field.locator(".wb-input-linspace-start input").fill("0.5")
    expect(summary).to_contain_text("11 jobs")
    expect(create).to_be_enabled()
    create.click()
    expect(form.locator(".wb-status")).to_contain_text("Created", timeout=30_000)
    lab.screenshot("created", locator=form)

    bundle = open_bundle(lab.folder / "scans" / "demo-scan")
    assert bundle.count == 11
    assert bundle.scan.sources["drive_freq"] == Linspace(0.5, 1.5, 11)
    expect(create).to_be_disabled()  # the name is taken now
    assert page.locator(".jp-Notebook").count() == 1
