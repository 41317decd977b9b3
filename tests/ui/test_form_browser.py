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


def _form_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell('import workbench as wb\n\nf = wb.form("tdse", folder="scans")\nf'),
            nbformat.v4.new_code_cell('g = wb.form("scans/tdse-scan")\ng'),
        ],
        metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
    )
    nbformat.write(nb, path)


def _cut_off(locator: Any) -> bool:
    """Whether the text of an input is wider than the input (scrolled, partly hidden)."""
    return bool(locator.evaluate("el => el.scrollWidth > el.clientWidth + 1"))


def _shot(lab: Any, name: str, where: Any) -> None:
    """A screenshot of the window as the user sees it, scrolled so that ``where`` is in view."""
    where.scroll_into_view_if_needed()
    lab.screenshot(name)


def _typed(form: Any, field: Any, selector: str, text: str, expected: list[str], buttons: Any, lab: Any, shot: str) -> list[float]:
    """Type ``text`` key by key; after each key wait for the field's message, note the buttons' top edge in the form."""
    from playwright.sync_api import expect

    box = field.locator(selector)
    box.fill("")
    tops = []
    for k, message in enumerate(expected):
        box.press(text[k])
        expect(field.locator(".wb-message")).to_contain_text(message)
        bb, fb = buttons.bounding_box(), form.bounding_box()
        assert bb is not None and fb is not None
        tops.append(round(bb["y"] - fb["y"], 1))
        if k == 1:  # the invalid moment: the last preview, dimmed, in its place
            _shot(lab, shot, form.locator(".wb-preview-table"))
    return tops


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1200)], ids=["laptop", "large"])
def test_the_tdse_form_as_a_scientist_sees_it(lab: Any, size: tuple[int, int]) -> None:
    """Issue 17: numbers as 1e14, inputs that fit them, a steady page while typing, messages that say what to do."""
    from playwright.sync_api import expect

    page = lab.page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    _form_notebook(lab.folder / "tdse-form.ipynb")
    lab.open((lab.folder / "tdse-form.ipynb").relative_to(lab.server.root).as_posix())
    # Only the first cell: the second clones the bundle this test creates.
    lab.page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    lab.command("notebook:run-cell")
    form = lab.wait_widgets(".wb-form")
    summary = form.locator(".wb-summary")
    expect(summary).to_contain_text("1 job")
    # The job type by its title; the numbers as a scientist writes them; units without a doubled full stop.
    picker = form.locator(".wb-job-type select")
    assert picker.evaluate("el => el.options[el.selectedIndex].text").replace("\xa0", " ") == "1D TDSE: soft-core atom in a laser pulse (tdse)"
    intensity = form.locator(".wb-field-intensity")
    expect(intensity.locator(".wb-input-value input")).to_have_value("1e14")
    expect(summary).to_contain_text("core-seconds")
    expect(form.locator(".wb-field-cycles .wb-unit")).to_have_text("[optical cycles]")
    expect(form.locator(".wb-field-post_cycles .wb-unit")).to_have_text("[optical cycles]")
    assert "a.u.." not in form.locator(".wb-field-Z .wb-help").inner_text()
    _shot(lab, "form-top", form.locator(".wb-job-type"))

    # A scan of intensities: the geomspace inputs are prefilled as 1e14 and 2e14, wide enough to read.
    intensity.locator(".wb-mode select").select_option(label="geomspace")
    start, stop = intensity.locator(".wb-input-geomspace-start input"), intensity.locator(".wb-input-geomspace-stop input")
    expect(start).to_have_value("1e14")
    expect(stop).to_have_value("2e14")
    assert not _cut_off(start) and not _cut_off(stop)
    expect(form.locator(".wb-plot canvas").first).to_be_visible()
    _shot(lab, "geomspace-preview", form.locator(".wb-plot"))

    # Typing 1e12 key by key ("1e" is not a number): the preview keeps its place, dimmed; the buttons do not move.
    buttons = form.locator(".wb-button-create-and-run, .wb-button-create-and-run button").first
    tops = _typed(form, intensity, ".wb-input-geomspace-stop input", "1e12",
                  ["…, 1 · ratio", '"1e": invalid decimal literal', "…, 10 · ratio", "…, 1e12 · ratio"],
                  buttons, lab, "typing-1e-invalid")
    assert max(tops) - min(tops) < 1.0, f"the buttons moved while typing 1e12: {tops}"  # (it was ~200 px)
    expect(intensity.locator(".wb-message")).to_contain_text("11 values: 1e14, 6.30957e13, …, 1e12 · ratio 0.630957")
    expect(form.locator(".wb-stale")).to_have_count(0)
    page.wait_for_timeout(1000)  # the plot's last (throttled) redraw
    _shot(lab, "typed-1e12", form.locator(".wb-plot"))

    # A word where a number goes: first, what is expected.
    wavelength = form.locator(".wb-field-wavelength")
    wavelength.locator(".wb-input-value input").fill("abc")
    expect(wavelength.locator(".wb-message")).to_contain_text(
        'wavelength: "abc": not a number; type a number (e.g. 1e14), a list (e.g. [1, 2, 5]) or np.linspace(0, 1, 11)'
    )
    expect(form.locator(".wb-stale-note")).to_contain_text("The last valid preview: fix wavelength to update it.")
    _shot(lab, "word-in-a-number-field", wavelength)
    wavelength.locator(".wb-input-value input").fill("800")
    expect(summary).to_contain_text("11 jobs")

    # Created: the note beside the grey buttons says what happened and what to do next, not "already exists".
    create = form.locator(".wb-button-create button, button.wb-button-create").first
    create.click()
    expect(form.locator(".wb-status")).to_contain_text("Created", timeout=30_000)
    expect(form.locator(".wb-reason")).to_have_text(
        "Bundle tdse-scan is created. For another scan, change the bundle name (e.g. to tdse-scan-2)."
    )
    expect(create).to_be_disabled()
    _shot(lab, "created", form.locator(".wb-reason"))

    # A clone shows the bundle's numbers as 1e14 and 1e12, not cut off.
    lab.page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 1; }")
    lab.command("notebook:run-cell")
    clone = page.locator(".jp-Cell").nth(1).locator(".wb-form")
    clone.wait_for(state="visible")
    cstart = clone.locator(".wb-field-intensity .wb-input-geomspace-start input")
    cstop = clone.locator(".wb-field-intensity .wb-input-geomspace-stop input")
    expect(cstart).to_have_value("1e14")
    expect(cstop).to_have_value("1e12")
    assert not _cut_off(cstart) and not _cut_off(cstop)
    expect(clone.locator(".wb-settings-name input, .wb-setting-name input").first).to_have_value("tdse-scan-2")
    _shot(lab, "clone", cstart)
