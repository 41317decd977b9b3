"""The monitor notebook runs top to bottom (nbclient): start a scan, watch it, look at a failure, resubmit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02_monitor_a_scan.ipynb"


@pytest.mark.slow
def test_monitor_notebook_runs(tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb_path = tmp_path / NOTEBOOK.name
    shutil.copyfile(NOTEBOOK, nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()

    def text(cell: dict) -> str:
        return "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")

    code = [c for c in nb.cells if c.cell_type == "code"]
    start = next(c for c in code if "wb.monitor(" in c.source)
    widgets = [o for o in start.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 1 and all(o["output_type"] == "display_data" for o in start.outputs)  # shown once
    waited = next(c for c in code if "await m.until_done()" in c.source)
    assert text(waited).startswith("75 of 75 done (100 %), 8 failed")
    assert text(waited).count("FloatingPointError: step size underflow") == 4
    log = next(c for c in code if "m.job_log(" in c.source)
    assert "Traceback (most recent call last)" in text(log) and "JOB_TERMINATED" in text(log)
    table = next(c for c in code if "wb.results(bundle)" in c.source)
    assert "step size underflow" in table.outputs[0]["data"]["text/plain"]
    assert text(code[-1]).strip() == "75 of 75 done (100 %)"
    assert not any(o["output_type"] == "error" for c in code for o in c.outputs)
    assert (tmp_path / "scans" / "monitor-demo" / "info.pkl").exists()
