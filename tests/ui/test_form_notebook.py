"""The form notebook runs from top to bottom in a real kernel (nbclient), writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_create_a_scan.ipynb"


def test_the_create_a_scan_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "no-settings.toml"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, "the form cell displays no widget"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Scan of demo: 123 jobs\n  drive_freq [ω₀]  41 values: 0.5, 0.525, …, 1.5 (linspace)" in text
    assert "no problems" in text and "submit_job.sub" in text
    assert "No bundle yet" in text
    assert list(tmp_path.iterdir()) == [], "running the notebook wrote files (the dry run must not)"
