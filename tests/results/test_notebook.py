"""Every bundle writes its own analysis notebook; one is executed with nbclient, as CI does."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import nbformat
import pytest

from workbench.bundle import create
from workbench.errors import BundleExistsError
from workbench.notebook import bundle_notebook, render_notebook
from workbench.scan import scan as make_scan
from workbench.sources import Linspace

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _python(src: str) -> str:
    return "\n".join(line for line in src.splitlines() if not line.startswith("%"))


def test_the_notebook_loads_its_bundle_and_shows_monitor_explorer_and_plots(demo_bundle):
    nb = render_notebook(demo_bundle)
    nbformat.validate(nb)
    code = _code(nb)
    for src in code:
        ast.parse(_python(src))  # every cell is valid Python (the path has a space and a quote)
    joined = "\n".join(code)
    assert "wb.monitor(bundle)" in joined and "wb.explore(bundle)" in joined and "wb.results(bundle)" in joined
    assert "scan_plot(axes[0], df)" in joined and "panel='phase'" in joined  # the demo's resonance curves and phase
    assert repr(str(demo_bundle.path)) in code[0]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].source.startswith(f"# {demo_bundle.name}: Damped driven oscillator")


def _run_plot_cells(nb) -> dict:
    """Run the notebook's cells in this process (Agg backend), all but the widgets; returns the names they made."""
    import matplotlib.pyplot as plt

    # Widget tests before this one may have left pyplot on ipympl's backend, which needs a kernel.
    before = plt.get_backend()
    plt.switch_backend("agg")
    try:
        ns: dict = {}
        for src in _code(nb):
            if "wb.monitor(" in src or "wb.explore(" in src or "explorer.selection" in src:
                continue  # widgets need a kernel (the nbclient test runs them)
            exec(compile(_python(src), "<cell>", "exec"), ns)
        return ns
    finally:
        plt.close("all")  # the figures stay readable: ns holds them
        plt.switch_backend(before)


def test_the_demo_notebook_draws_resonance_and_phase_with_the_analytic_curves(demo_bundle, fake):
    from workbench.jobtypes.demo import steady_state

    for jid in demo_bundle.job_ids:
        p = demo_bundle.input(jid)["params"]
        amp, phase = steady_state(p["drive_freq"], p["damping"], p["force"])
        fake(demo_bundle, [jid], extra={"amplitude_exact": amp, "phase_exact": phase, "rel_error": 1e-6})
    ns = _run_plot_cells(render_notebook(demo_bundle))
    resonance, phase = ns["axes"]
    assert len(resonance.get_lines()) == 6 and len(phase.get_lines()) == 6  # 3 dampings: points and analytic lines
    assert resonance.get_yscale() == "log" and "relative error of the amplitude: 1.00e-06" in resonance.get_title()
    assert phase.get_ylabel() == "phase lag φ (rad)"
    assert ns["fig"].axes[0].get_xlabel().startswith("drive phase")  # the one-job cell: the demo's own job plot


@pytest.mark.parametrize("signal", ["acceleration", "dipole"])
def test_the_tdse_notebook_plots_a_real_small_scan(tmp_path, signal):
    import numpy as np

    from workbench.executors.local import run

    s = make_scan("tdse", intensity=[1e13, 5e13], cycles=2.0, box=60.0, absorber=30.0)
    b = create(s, tmp_path / "t")
    assert run(b, progress=False, workers=2).completed == 2
    if signal == "dipole":  # a job type version that kept no acceleration: the spectrum falls back to the dipole
        for jid in b.job_ids:
            with np.load(b.arrays_path(jid)) as z:
                kept = {k: z[k] for k in z.files if k != "acceleration"}
            np.savez(b.arrays_path(jid), **kept)
    ns = _run_plot_cells(render_notebook(b))
    (ionisation,) = ns["ax"].get_lines()
    assert ns["ax"].get_xscale() == "log" and ns["ax"].get_ylabel() == "ionisation probability"
    np.testing.assert_allclose(ionisation.get_xdata(), [1e13, 5e13])
    assert np.all(np.diff(ionisation.get_ydata()) > 0)  # more ionisation in the stronger field
    density, spectrum = ns["fig"].axes  # the one-job cell
    assert density.get_yscale() == "log" and len(density.get_lines()) == 1
    assert spectrum.get_xlabel() == "harmonic order" and len(spectrum.get_lines()) == 2  # spectrum and cutoff
    assert spectrum.get_title() == ("dipole-acceleration spectrum" if signal == "acceleration" else "dipole spectrum")


def test_writing_refuses_to_replace_the_users_notebook(demo_bundle, capsys):
    from workbench.cli import main

    path = bundle_notebook(demo_bundle)
    assert path == demo_bundle.path / "analyze.ipynb"
    path.write_text(path.read_text().replace("Progress", "My own notes"))
    with pytest.raises(BundleExistsError, match="overwrite=True"):
        bundle_notebook(demo_bundle)
    assert main(["notebook", str(demo_bundle.path)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert "My own notes" in path.read_text()
    assert main(["notebook", str(demo_bundle.path), "--overwrite"]) == 0
    assert "jupyter lab" in capsys.readouterr().out and "My own notes" not in path.read_text()
    other = bundle_notebook(demo_bundle, path=demo_bundle.path.parent / "copy.ipynb")
    nbformat.validate(nbformat.read(other, as_version=4))


def _execute(nb, cwd: Path) -> None:
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors


def _outputs(nb) -> str:
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            out.append(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")))
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {}):
                out.append("<widget>")
    return "\n".join(out)


@pytest.mark.slow
def test_a_generated_notebook_runs_with_nbclient(tmp_path):
    from nbclient import NotebookClient  # noqa: F401

    from workbench.executors.local import run

    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 4), damping=[0.05, 0.2])
    b = create(s, tmp_path / "demo scan")
    report = run(b, progress=False)
    assert report.completed == 8
    path = bundle_notebook(b)
    nb = nbformat.read(path, as_version=4)
    _execute(nb, tmp_path)  # not the bundle's folder: the notebook finds its bundle by the path written in it
    text = _outputs(nb)
    assert "8 of 8 jobs completed" in text
    assert text.count("<widget>") >= 4  # monitor, explorer, two figures
    # Moved elsewhere, it opens the bundle it sits in.
    moved = tmp_path / "moved"
    shutil.move(str(b.path), moved)
    nb = nbformat.read(moved / "analyze.ipynb", as_version=4)
    nb.cells = nb.cells[:2]
    _execute(nb, moved)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["03_explore_results.ipynb", "04_declare_a_job_type.ipynb", "05_tdse_intensity_scan.ipynb"])
def test_the_example_notebooks_run(tmp_path, name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    _execute(nb, tmp_path)


@pytest.mark.slow
def test_the_tdse_notebook_prints_readably_and_keeps_job_output_in_the_logs(tmp_path):
    nb = nbformat.read(NOTEBOOKS / "05_tdse_intensity_scan.ipynb", as_version=4)
    _execute(nb, tmp_path)
    defaults = nb.cells[1].outputs[-1]["data"]
    assert ">1e14<" in defaults["text/html"] and "W/cm²" in defaults["text/html"]
    printed = "".join(o.get("text", "") for o in nb.cells[3].outputs)
    assert "Scan of tdse: 6 jobs" in printed and "1e12, 2.512e12, …, 1e14" in printed
    assert "6 jobs, about " in printed and "core_seconds=" not in printed
    streams = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    assert "grid points" not in streams and "imaginary-time" not in streams  # the jobs' own lines stay in their logs
    assert "100000000000000" not in _outputs(nb)
    logs = list((tmp_path / "scans" / "tdse-intensity" / "logs").glob("*.out"))
    assert len(logs) == 6 and "grid points" in logs[0].read_text()
