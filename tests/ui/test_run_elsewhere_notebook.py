"""The run-elsewhere notebook runs top to bottom (nbclient) against the test sshd: form, Check, create and run, monitor."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "06_run_elsewhere.ipynb"


@pytest.mark.ssh
@pytest.mark.slow
def test_the_run_elsewhere_notebook_runs_a_tdse_scan_on_the_ssh_host(
    sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from workbench import runs
    from workbench.bundle import open_bundle

    # What the notebook asks its reader to set, pointing at the test server (the kernel inherits it).
    config = sshd.write_ssh_config(tmp_path / "ssh_config", "wbdemo")
    monkeypatch.setenv("WORKBENCH_DEMO_HOST", "wbdemo")
    monkeypatch.setenv("WORKBENCH_DEMO_PYTHON", sys.executable)
    monkeypatch.setenv("WORKBENCH_DEMO_REMOTE_DIR", str(tmp_path / "remote"))
    monkeypatch.setenv("WORKBENCH_SSH_CONFIG", str(config))
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "no-settings.toml"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()

    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0].get("traceback") if errors else None

    def text(marker: str) -> str:
        cell = next(c for c in code if marker in c.source)
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")

    assert "runs on wbdemo" in text("HOST = os.environ")
    assert "Scan of tdse: 3 jobs" in text("set_source") and "no problems" in text("set_source")
    assert "'host': 'wbdemo'" in text("set_source")
    check = text("f.check()")
    assert check.startswith("✔ wbdemo (") and f"Python {sys.version.split()[0]}" in check and "free in" in check
    assert text("await f.monitor.until_done").strip() == "3 of 3 done (100 %)"
    run_cell = next(c for c in code if "f.create_and_run()" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in run_cell.outputs)

    bundle = open_bundle(work / "scans" / "tdse-scan")
    rec = runs.latest(bundle)
    assert rec is not None and rec.target == "ssh" and rec.host == "wbdemo"
    assert (tmp_path / "remote" / "tdse-scan" / "info.pkl").exists()  # it ran there ...
    assert len(bundle.finished_ids()) == 3  # ... and the results came home
    table = next(c for c in code if "wb.results(f.bundle)" in c.source).outputs[0]["data"]["text/plain"]
    assert table.count("completed") == 3
