"""The typical plots of each job type, as plain matplotlib (no widgets, no pyplot).

* :func:`job_plot` draws everything one job produced into a figure: for the
  ``demo`` oscillator its last period of motion, for ``tdse`` the final
  electron density and the high-harmonic (dipole acceleration) spectrum, for
  any other job type each array output.
* :func:`scan_plot` draws the scan's characteristic curve into an axes: the
  resonance curves of ``demo``, ionisation against intensity for ``tdse``,
  else the first output along the first scanned dimension.

The explorer's job panel and the bundle notebooks use them; a job type may
add its own with :func:`register_job_plot` and :func:`register_scan_plot`
(a scan plot may have extra panels: the demo's phase lag, see :func:`scan_panels`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._format import format_number

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["job_plot", "scan_plot", "scan_panels", "register_job_plot", "register_scan_plot", "harmonic_spectrum"]

JobPlot = Callable[["Figure", Mapping[str, Any]], None]

_JOB_PLOTS: dict[str, JobPlot] = {}


def register_job_plot(job_type: str, fn: JobPlot) -> JobPlot:
    """Use ``fn(figure, output)`` to draw one job of ``job_type`` (``output`` as from :func:`workbench.results.job_output`)."""
    _JOB_PLOTS[job_type] = fn
    return fn


def _title(fig: Figure, out: Mapping[str, Any]) -> None:
    params = out.get("params") or {}
    varying = out.get("varying") or list(params)[:3]
    text = ", ".join(f"{k} = {format_number(params[k])}" for k in varying if k in params)
    fig.suptitle(f"job {out.get('index', '')} ({out.get('job_id', '')})" + (f": {text}" if text else ""), fontsize=9)


def job_plot(fig: Figure, out: Mapping[str, Any], job_type: str | None = None) -> None:
    """Draw one job's output into ``fig`` (cleared first).

    Parameters
    ----------
    fig
        The figure (e.g. the explorer's job panel).
    out
        What :func:`workbench.results.job_output` returns (``params``, ``scalars``, ``arrays``, ``error``).
    job_type
        Picks the job type's own plot; others get one panel per array output.
    """
    fig.clear()
    if out.get("error") and not out.get("arrays"):
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.02, 0.98, _wrap(str(out["error"])), va="top", ha="left", fontsize=8, family="monospace", transform=ax.transAxes)
        _title(fig, out)
        return
    fn = _JOB_PLOTS.get(job_type or "", _generic_job_plot)
    fn(fig, out)
    _title(fig, out)


def _wrap(text: str, width: int = 90) -> str:
    import textwrap

    return "\n".join(textwrap.fill(line, width) or "" for line in text.splitlines()[-12:])


def _generic_job_plot(fig: Figure, out: Mapping[str, Any]) -> None:
    arrays = {k: np.asarray(v) for k, v in (out.get("arrays") or {}).items()}
    if not arrays:
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "this job has no array outputs", ha="center", va="center", transform=ax.transAxes)
        return
    axis_names = [k for k in ("x", "t", "time", "grid", "freq", "frequency") if k in arrays and arrays[k].ndim == 1]
    shown = [k for k in arrays if k not in axis_names and arrays[k].ndim in (1, 2) and arrays[k].size > 1][:4] or list(arrays)[:1]
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    for ax, name in zip(axes, shown):
        a = arrays[name]
        if a.ndim == 2:
            im = ax.imshow(np.abs(a) if np.iscomplexobj(a) else a, aspect="auto", origin="lower")
            fig.colorbar(im, ax=ax)
        else:
            xname = next((k for k in axis_names if arrays[k].shape == a.shape), None)
            xs = arrays[xname] if xname else np.arange(a.size)
            ax.plot(xs, np.abs(a) if np.iscomplexobj(a) else a, lw=1)
            ax.set_xlabel(xname or "index")
        ax.set_title(name, fontsize=9)


def _demo_job_plot(fig: Figure, out: Mapping[str, Any]) -> None:
    traj = np.asarray(out["arrays"].get("trajectory", []))
    s = out.get("scalars") or {}
    ax = fig.add_subplot()
    phase = np.linspace(0.0, 2 * np.pi, traj.size, endpoint=False)
    ax.plot(phase, traj, lw=1.5, label="x(t), last drive period")
    if "amplitude_exact" in s and "phase_exact" in s:
        # Steady state x = A cos(ωt − φ); the samples start a whole number of periods into the drive.
        ax.plot(phase, s["amplitude_exact"] * np.cos(phase - s["phase_exact"]), "k:", lw=1, label="analytic steady state")
    ax.set(xlabel="drive phase ωt (mod 2π)", ylabel="x")
    if "amplitude" in s:
        ax.set_title(f"amplitude {s['amplitude']:.5g}, phase {s.get('phase', float('nan')):.4g} rad", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")


def harmonic_spectrum(t: np.ndarray, signal: np.ndarray, omega: float) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic orders and the power spectrum ``|FFT|²`` of ``signal`` (Hann window), for a laser of frequency ``omega``."""
    t = np.asarray(t, dtype=float)
    sig = np.asarray(signal, dtype=float)
    if t.size < 2:
        return np.zeros(0), np.zeros(0)
    spectrum = np.abs(np.fft.rfft(sig * np.hanning(t.size))) ** 2
    order = np.fft.rfftfreq(t.size, t[1] - t[0]) * 2 * np.pi / omega
    return order, spectrum


def _tdse_job_plot(fig: Figure, out: Mapping[str, Any]) -> None:
    a = out["arrays"]
    s = out.get("scalars") or {}
    ax_rho, ax_hhg = fig.subplots(1, 2)
    if "x" in a and "density" in a:
        ax_rho.semilogy(a["x"], np.maximum(a["density"], 1e-300), lw=1)
        ax_rho.set(xlabel="x (a.u.)", ylabel="|ψ(x)|² at the end", ylim=(1e-14, 2))
    ax_rho.set_title(f"ionisation {s.get('ionization', float('nan')):.3g}", fontsize=9)
    sig = a.get("acceleration", a.get("dipole"))
    if "t" in a and sig is not None and s.get("omega"):
        order, spec = harmonic_spectrum(a["t"], sig, s["omega"])
        ax_hhg.semilogy(order, np.maximum(spec, 1e-300), lw=1)
        top = spec.max() if spec.size else 1.0
        ax_hhg.set(xlim=(0, 40), ylim=(1e-12 * top, 10 * top), xlabel="harmonic order", ylabel="|a(ω)|²")
        if "ground_energy" in s and "up" in s:
            cutoff = (-s["ground_energy"] + 3.17 * s["up"]) / s["omega"]
            ax_hhg.axvline(cutoff, ls=":", color="k", label=f"Ip + 3.17 Up: order {cutoff:.0f}")
            ax_hhg.legend(fontsize=7)
        ax_hhg.set_title("dipole-acceleration spectrum" if "acceleration" in a else "dipole spectrum", fontsize=9)


register_job_plot("demo", _demo_job_plot)
register_job_plot("tdse", _tdse_job_plot)


# ---------------------------------------------------------------------------
# Scan plots
# ---------------------------------------------------------------------------
ScanPlot = Callable[["Axes", "pd.DataFrame"], None]

#: job type -> panel name ("" is the main one) -> (function, columns it needs).
_SCAN_PLOTS: dict[str, dict[str, tuple[ScanPlot, frozenset[str]]]] = {}


def register_scan_plot(job_type: str, fn: ScanPlot, *, needs: Iterable[str] = (), panel: str = "") -> ScanPlot:
    """Use ``fn(ax, done)`` to draw the scan of ``job_type`` (``done``: the completed rows of a results table).

    Parameters
    ----------
    job_type
        The job type's name.
    fn
        Draws into ``ax``.
    needs
        Columns ``done`` must have; without them :func:`scan_plot` draws the generic plot.
    panel
        ``""`` for the job type's main plot; another name adds a panel drawn
        with ``scan_plot(ax, df, panel=name)`` (the bundle notebook shows every panel).
    """
    _SCAN_PLOTS.setdefault(job_type, {})[panel] = (fn, frozenset(needs))
    return fn


def scan_panels(job_type: str | None) -> list[str]:
    """The panels of a job type's scan plot: ``""`` (the main one, always) then those registered."""
    return ["", *(p for p in _SCAN_PLOTS.get(job_type or "", {}) if p)]


def scan_plot(ax: Axes, df: pd.DataFrame, job_type: str | None = None, *, panel: str = "") -> None:
    """The scan's characteristic curve(s) from a results table, into ``ax``.

    Parameters
    ----------
    ax
        The axes.
    df
        A results table (:func:`workbench.results.results`); only completed rows are drawn.
    job_type
        Default: the table's (``df.attrs["workbench"]``).  A job type without a
        plot of its own (see :func:`register_scan_plot`), or a table without
        the columns it needs, gets the first output along the first scanned
        dimension.
    panel
        One of :func:`scan_panels`; ``""`` is the main plot.
    """
    job_type = job_type or df.attrs.get("workbench", {}).get("job_type")
    done = df[df["status"] == "completed"] if "status" in df.columns else df
    fn, needs = _SCAN_PLOTS.get(job_type or "", {}).get(panel, (_generic_scan_plot, frozenset()))
    if not needs <= set(done.columns):
        fn = _generic_scan_plot
    fn(ax, done)


def _generic_scan_plot(ax: Axes, done: pd.DataFrame) -> None:
    meta = done.attrs.get("workbench", {})
    dims = [d[0] for d in meta.get("dims", [])]
    outs = [c for c in meta.get("outputs", []) if c in done.columns and done[c].dtype.kind in "biuf"]
    if not dims or not outs:
        ax.text(0.5, 0.5, "nothing to plot yet", ha="center", va="center", transform=ax.transAxes)
        return
    x, y = dims[0], outs[0]
    groups = done.groupby(dims[1]) if len(dims) > 1 else [(None, done)]
    for key, g in groups:
        g = g.sort_values(x)
        ax.plot(g[x], g[y], "o-", ms=3, label=None if key is None else f"{dims[1]} = {key:g}" if isinstance(key, float) else f"{dims[1]} = {key}")
    ax.set(xlabel=x, ylabel=y)
    if len(dims) > 1:
        ax.legend(fontsize=7)


def _by_damping(ax: Axes, done: pd.DataFrame, y: str) -> None:
    """Points ``y`` and, when the table has them, lines ``y_exact`` against the drive, one colour per damping."""
    groups = done.groupby("damping") if "damping" in done.columns else [(None, done)]
    for damping, g in groups:
        g = g.sort_values("drive_freq")
        (line,) = ax.plot(g["drive_freq"], g[y], "o", ms=3, label=None if damping is None else f"ζ = {damping:g}")
        if f"{y}_exact" in g:
            ax.plot(g["drive_freq"], g[f"{y}_exact"], "-", lw=1, color=line.get_color())


def _demo_scan_plot(ax: Axes, done: pd.DataFrame) -> None:
    _by_damping(ax, done, "amplitude")
    title = "resonance curves (lines: analytic)"
    if "rel_error" in done.columns and len(done):
        title += f"\nlargest relative error of the amplitude: {done['rel_error'].max():.2e}"
    ax.set(xlabel="drive frequency ω / ω₀", ylabel="steady-state amplitude", yscale="log", title=title)
    if "damping" in done.columns:
        ax.legend(fontsize=7)


def _demo_phase_plot(ax: Axes, done: pd.DataFrame) -> None:
    _by_damping(ax, done, "phase")
    ax.set(xlabel="drive frequency ω / ω₀", ylabel="phase lag φ (rad)", title="phase (lines: analytic)")


def _tdse_scan_plot(ax: Axes, done: pd.DataFrame) -> None:
    others = [c for c in ("wavelength", "cycles", "cep") if c in done.columns and done[c].nunique() > 1]
    groups = done.groupby(others) if others else [((), done)]
    for key, g in groups:
        g = g.sort_values("intensity")
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{n} = {v:g}" for n, v in zip(others, key)) or None
        ax.loglog(g["intensity"], g["ionization"], "o-", ms=3, label=label)
    ax.set(xlabel="peak intensity (W/cm²)", ylabel="ionisation probability", title="ionisation against intensity")
    if others:
        ax.legend(fontsize=7)


# The built-in job types' plots live here, not in workbench.jobtypes, so that the job types need no matplotlib.
register_scan_plot("demo", _demo_scan_plot, needs=("drive_freq", "amplitude"))
register_scan_plot("demo", _demo_phase_plot, needs=("drive_freq", "phase"), panel="phase")
register_scan_plot("tdse", _tdse_scan_plot, needs=("intensity", "ionization"))
