"""The form runs a scan on an SSH host, in a real JupyterLab in headless Chromium: pick the target, Check, Create and run.

The monitor below the form follows the run to its end and pulls the results by itself (no manual sync).
Needs the browser fixtures of ``tests/labbrowser.py`` and the ``sshd`` fixture; screenshots go to the test's
artifacts folder.
"""

from __future__ import annotations

import hashlib
import sys
import time
from typing import Any

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.ssh]


def test_form_creates_and_runs_a_tdse_scan_over_ssh_and_the_monitor_below_reaches_the_end(lab: Any, sshd: Any) -> None:
    from playwright.sync_api import expect

    from workbench import runs
    from workbench.bundle import open_bundle

    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 2900})  # the form and the monitor below it in one screenshot
    config = sshd.write_ssh_config(lab.folder / "ssh_config", "wbtest")
    # A second alias of the same server whose key is not trusted yet: Check must say so, with how to trust it.
    empty = lab.folder / "known_hosts_empty"
    empty.write_text("")
    stranger = sshd.write_ssh_config(lab.folder / "stranger_config", "stranger", known_hosts=empty)
    config.write_text(config.read_text() + stranger.read_text())
    remote = lab.folder / "remote"
    # The connection options a user's ~/.ssh/config would give; the rest is typed into the form.
    source = (
        "import workbench as wb\n"
        f"f = wb.form('tdse', folder='scans', plot=False, connect={{'ssh_config': {str(config)!r}, 'allow_agent': False}},\n"
        "            values={'intensity': wb.geomspace(1e13, 1e14, 3), 'wavelength': 400.0, 'cycles': 2.0,\n"
        "                    'box': 60.0, 'absorber': 20.0, 'dx': 0.2})\n"
        "f"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nbformat.write(nb, lab.folder / "run_elsewhere.ipynb")
    lab.open((lab.folder / "run_elsewhere.ipynb").relative_to(lab.server.root).as_posix())
    lab.run_all()
    form = lab.wait_widgets(".wb-form")
    expect(form.locator(".wb-summary")).to_contain_text("3 jobs")

    # Runs on: an SSH host. Its fields appear; the host field offers the config's Host names.
    form.locator(".wb-setting-target select").select_option(label="a remote host over SSH")
    host = form.locator(".wb-setting-host input")
    expect(host).to_be_visible()
    assert page.locator("datalist option[value='wbtest']").count() >= 1  # the Combobox's offered hosts
    assert page.locator("datalist option[value='stranger']").count() >= 1
    host.fill("stranger")
    form.locator(".wb-setting-remote-dir input").fill(str(remote))
    form.locator(".wb-setting-python input").fill(sys.executable)
    create_and_run = form.locator(".wb-button-create-and-run button, button.wb-button-create-and-run").first
    expect(create_and_run).to_be_enabled()

    # Check: connects and says what is there, or why it cannot.
    check_button = form.locator(".wb-button-check button, button.wb-button-check").first
    check = form.locator(".wb-check")
    check_button.click()
    expect(check).to_contain_text("✖ stranger: cannot connect.", timeout=60_000)
    expect(check).to_contain_text(f"Unknown host key for [127.0.0.1]:{sshd.port}")
    expect(check).to_contain_text(f"ssh-keyscan -p {sshd.port} -t ed25519 127.0.0.1 >> {empty}")
    lab.screenshot("unknown-host-key", locator=form.locator(".wb-check"))
    host.fill("wbtest")
    expect(check).to_be_empty()  # a result about another host is not left standing
    check_button.click()
    expect(check).to_contain_text("✔ wbtest (", timeout=60_000)
    expect(check).to_contain_text(f"Python {sys.version.split()[0]}")
    expect(check).to_contain_text("free in")
    lab.screenshot("checked", locator=form)

    create_and_run.click()
    expect(form.locator(".wb-status")).to_contain_text("Started 3 job(s)", timeout=120_000)
    monitor = form.locator(".wb-form-monitor .wb-monitor")
    expect(monitor).to_be_visible()
    canvas = monitor.locator(".wb-monitor-panel canvas").first
    canvas.wait_for(state="visible")
    first = hashlib.sha1(canvas.screenshot()).hexdigest()
    lab.screenshot("started", locator=form)

    progress = monitor.locator(".wb-progress")
    expect(progress).to_contain_text("3 of 3 done (100 %)", timeout=120_000)
    expect(progress).to_contain_text("from wbtest:")  # the monitor synced by itself
    expect(monitor).to_contain_text("completed 3")
    deadline = time.monotonic() + 30
    while hashlib.sha1(canvas.screenshot()).hexdigest() == first:  # the panel draws the values that came home
        assert time.monotonic() < deadline, "the scan panel did not change once the results came"
        page.wait_for_timeout(300)
    page.wait_for_timeout(1500)  # the last redraw
    lab.screenshot("monitor-done", locator=monitor)
    lab.screenshot("form-and-monitor", locator=form)

    bundle = open_bundle(lab.folder / "scans" / "tdse-scan")
    rec = runs.latest(bundle)
    assert rec is not None and rec.target == "ssh" and rec.host == "wbtest"
    assert len(bundle.finished_ids()) == 3
    assert (remote / "tdse-scan" / "info.pkl").exists()
