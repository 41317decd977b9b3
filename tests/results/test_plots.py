"""The job types' typical plots (pure matplotlib)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.plots import harmonic_spectrum, job_plot, scan_plot


def test_a_harmonic_spectrum_peaks_at_the_harmonic():
    omega = 0.057
    t = np.linspace(0, 40 * 2 * math.pi / omega, 8192)
    order, spec = harmonic_spectrum(t, np.cos(3 * omega * t) + 0.1 * np.cos(7 * omega * t), omega)
    assert abs(order[np.argmax(spec)] - 3) < 0.05
    second = order[np.argmax(np.where(order > 5, spec, 0))]
    assert abs(second - 7) < 0.05


def test_a_tdse_job_shows_its_density_and_spectrum():
    x = np.linspace(-100, 100, 401)
    t = np.linspace(0, 600, 4096)
    out = {
        "job_id": "abc",
        "index": 3,
        "params": {"intensity": 1e14},
        "scalars": {"ionization": 0.01, "omega": 0.057, "ground_energy": -0.67, "up": 0.22},
        "arrays": {"x": x, "density": np.exp(-(x**2)), "t": t, "acceleration": np.cos(3 * 0.057 * t)},
        "error": None,
    }
    fig = Figure()
    job_plot(fig, out, "tdse")
    rho, hhg = fig.axes
    np.testing.assert_allclose(rho.get_lines()[0].get_xdata(), x)
    assert rho.get_yscale() == "log" and hhg.get_xlabel() == "harmonic order"
    assert "Ip + 3.17 Up" in hhg.get_legend().get_texts()[0].get_text()
    assert "job 3 (abc)" in fig._suptitle.get_text()


def test_the_demo_job_shows_its_trajectory_over_the_analytic_motion():
    phase = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    traj = 2.0 * np.cos(phase - 0.3)
    out = {"job_id": "j", "index": 0, "params": {}, "arrays": {"trajectory": traj},
           "scalars": {"amplitude": 2.0, "phase": 0.3, "amplitude_exact": 2.0, "phase_exact": 0.3}}  # fmt: skip
    fig = Figure()
    job_plot(fig, out, "demo")
    numeric, analytic = fig.axes[0].get_lines()
    np.testing.assert_allclose(numeric.get_ydata(), traj)
    np.testing.assert_allclose(analytic.get_ydata(), traj, atol=1e-12)


def test_other_job_types_get_a_panel_per_array_and_errors_show_as_text():
    out = {"job_id": "j", "index": 1, "params": {}, "scalars": {},
           "arrays": {"t": np.arange(5.0), "signal": np.arange(5.0) ** 2, "image": np.eye(3), "c": np.array([1j, 2j])}}  # fmt: skip
    fig = Figure()
    job_plot(fig, out, "something")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["signal", "image", "c"]
    assert fig.axes[0].get_xlabel() == "t"
    fig = Figure()
    job_plot(fig, {"job_id": "j", "index": 1, "error": "ValueError: boom", "arrays": {}}, "demo")
    assert "ValueError: boom" in fig.axes[0].texts[0].get_text()


def _table(job_type, **cols):
    df = pd.DataFrame({**cols, "status": "completed"})
    df.attrs["workbench"] = {"job_type": job_type, "dims": [[k] for k in cols if k.startswith("p")], "outputs": ["out"]}
    return df


def test_scan_plots_of_each_job_type():
    fig = Figure()
    ax = fig.add_subplot()
    scan_plot(ax, _table("demo", drive_freq=[0.5, 1.0, 0.5, 1.0], damping=[0.1, 0.1, 0.2, 0.2], amplitude=[1, 5, 1, 3],
                         amplitude_exact=[1, 5, 1, 3]))  # fmt: skip
    assert len(ax.get_lines()) == 4 and ax.get_yscale() == "log"
    ax = fig.add_subplot()
    scan_plot(ax, _table("tdse", intensity=[1e13, 1e14], ionization=[1e-6, 1e-3], wavelength=[800, 800]))
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 1
    ax = fig.add_subplot()
    scan_plot(ax, _table("other", p1=[1, 2, 1, 2], p2=[0, 0, 1, 1], out=[1.0, 2.0, 3.0, 4.0]))
    assert len(ax.get_lines()) == 2 and ax.get_xlabel() == "p1"


def test_scan_plots_come_from_a_registry_with_panels_and_a_generic_fallback(monkeypatch):
    from workbench import plots

    monkeypatch.setattr(plots, "_SCAN_PLOTS", {k: dict(v) for k, v in plots._SCAN_PLOTS.items()})
    assert plots.scan_panels("demo") == ["", "phase"] and plots.scan_panels("tdse") == [""]
    assert plots.scan_panels("unknown") == [""]
    drawn = []
    plots.register_scan_plot("mine", lambda ax, done: drawn.append(("main", len(done))), needs=("p1", "out"))
    plots.register_scan_plot("mine", lambda ax, done: drawn.append(("extra", len(done))), panel="extra")
    assert plots.scan_panels("mine") == ["", "extra"]
    table = _table("mine", p1=[1, 2, 1, 2], p2=[0, 0, 1, 1], out=[1.0, 2.0, 3.0, 4.0])
    table.loc[0, "status"] = "failed"
    ax = Figure().add_subplot()
    scan_plot(ax, table)
    scan_plot(ax, table, panel="extra")
    assert drawn == [("main", 3), ("extra", 3)] and not ax.get_lines()  # completed rows only, drawn by the job type
    ax = Figure().add_subplot()
    scan_plot(ax, table.drop(columns="out").assign(y=1.0), "mine")  # without the columns it needs: generic
    assert len(drawn) == 2 and ax.texts[0].get_text() == "nothing to plot yet"
    phase = Figure().add_subplot()
    scan_plot(phase, _table("demo", drive_freq=[0.5, 1.0], damping=[0.1, 0.1], phase=[0.1, 1.5], phase_exact=[0.1, 1.5]),
              panel="phase")  # fmt: skip
    assert len(phase.get_lines()) == 2 and phase.get_ylabel() == "phase lag φ (rad)"
