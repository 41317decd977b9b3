"""The main job: a demo scan end to end on the embedded executor (``workbench demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["run_demo", "demo_scan"]


def demo_scan() -> Any:
    """Resonance curves of the damped driven oscillator: 41 drive frequencies x 3 dampings."""
    from .scan import scan
    from .sources import Linspace

    return scan("demo", drive_freq=Linspace(0.5, 1.5, 41), damping=[0.05, 0.1, 0.2])


def run_demo(path: Path, *, plot: Path, workers: int | None = None, progress: bool = True) -> Any:
    """Create the demo bundle at ``path`` (replacing an earlier demo), run it, print a summary, save a plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .bundle import create
    from .executors.local import run
    from .results import results

    s = demo_scan()
    print(f"Creating {s!r} in {path} ...")
    bundle = create(s, path, overwrite=True)
    report = run(bundle, workers=workers, progress=progress)
    print(report)
    df = results(bundle)
    done = df[df["status"] == "completed"]
    print("\nResonance peaks (numerical vs analytic steady state):")
    print(f"  {'damping':>8} {'peak at':>8} {'amplitude':>10} {'analytic':>10} {'max rel. error':>15}")
    for damping, g in done.groupby("damping"):
        peak = g.loc[g["amplitude"].idxmax()]
        print(
            f"  {damping:>8.3g} {peak['drive_freq']:>8.3f} {peak['amplitude']:>10.4f} "
            f"{peak['amplitude_exact']:>10.4f} {g['rel_error'].max():>15.2e}"
        )
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for damping, g in done.groupby("damping"):
        g = g.sort_values("drive_freq")
        (line,) = ax.plot(g["drive_freq"], g["amplitude"], "o", ms=3.5, label=f"ζ = {damping:g} (solve_ivp)")
        ax.plot(g["drive_freq"], g["amplitude_exact"], "-", lw=1, color=line.get_color())
    ax.set(xlabel="drive frequency ω / ω₀", ylabel="steady-state amplitude", yscale="log", title="Damped driven oscillator: resonance")
    ax.legend(fontsize="small")
    fig.savefig(plot, dpi=120)
    plt.close(fig)
    print(f"\nSaved the plot to {plot}; the bundle is in {bundle.path}.")
    return df
