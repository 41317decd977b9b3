"""Every bundle can write its own analysis notebook: ``analyze.ipynb`` in the bundle.

Opened in JupyterLab it loads that bundle, shows its monitor and its
explorer, and has the job type's typical plots ready: its cells call
:func:`workbench.plots.scan_plot` and :func:`workbench.plots.job_plot`, which
draw what each job type registered (the resonance curves and phase lag of the
demo oscillator, ionisation against intensity and the density and harmonic
spectrum of one job for TDSE, the first output along the first axis and the
array outputs otherwise).  Made with nbformat;
:func:`render_notebook` computes it, :func:`bundle_notebook` writes it.

Command line: ``workbench notebook BUNDLE [--output FILE] [--overwrite]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _names
from ._atomic import atomic_open
from .errors import BundleExistsError

if TYPE_CHECKING:
    import nbformat

    from .bundle import Bundle

__all__ = ["render_notebook", "bundle_notebook"]


_SETUP = """\
%matplotlib widget
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import workbench as wb
from workbench.select import grid, line, neighbours, pivot, sel

# The bundle this notebook belongs to: where it was written, else the folder the notebook is in.
BUNDLE = Path({path!r})
if not (BUNDLE / {info!r}).is_file():
    BUNDLE = Path.cwd()
bundle = wb.open_bundle(BUNDLE)
bundle"""

_RESULTS = """\
df = wb.results(bundle)  # only result files new since the last call are read
done = df[df.status == "completed"]
print(f"{len(done):,} of {len(df):,} jobs completed")
df.head()"""

_EXPLORE = """\
explorer = wb.explore(bundle)
explorer"""

_SELECTION = """\
# What the explorer shows (after its filters and sliders), and the jobs clicked in it:
explorer.selection.head(), explorer.picked"""

_ONE_JOB = """\
from workbench.plots import job_plot
from workbench.results import job_output

if len(done):
    job = done.iloc[len(done) // 2]  # pick any job: e.g. explorer.picked.job_id.iloc[0] after a click
    out = job_output(bundle, job.job_id)  # parameters, scalar outputs and every array output
    fig = plt.figure(figsize=(9, 3.4), layout="constrained")
    job_plot(fig, out, bundle.info["job_type"])  # the job type's own plot (see workbench.plots)
    print({name: a.shape for name, a in out["arrays"].items()})"""


def _scan_plots(job_type: str) -> str:
    """The cell drawing every panel of the job type's scan plot (see :func:`workbench.plots.scan_panels`)."""
    from .plots import scan_panels

    panels = scan_panels(job_type)
    lines = ["from workbench.plots import scan_plot", ""]
    if len(panels) == 1:
        lines.append('fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")')
        targets = ["ax"]
    else:
        lines.append(f'fig, axes = plt.subplots(1, {len(panels)}, figsize=({5 * len(panels)}, 4), layout="constrained")')
        targets = [f"axes[{i}]" for i in range(len(panels))]
    lines.append(f"scan_plot({targets[0]}, df)  # the job type's own plot, else the first output along the first axis")
    lines += [f"scan_plot({t}, df, panel={p!r})" for t, p in zip(targets[1:], panels[1:])]
    return "\n".join(lines)


_EXPORT = """\
# The table (or a selection) with the scan's metadata beside it; read it back with workbench.export.read_export.
from workbench.export import export

# export(df, "results.parquet")                    # or .csv (metadata in results.csv.meta.json)
# export(sel(df, status="completed"), "done.csv")"""


def _md(text: str) -> Any:
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def _code(text: str) -> Any:
    import nbformat

    return nbformat.v4.new_code_cell(text)


def render_notebook(bundle: Bundle | str | os.PathLike[str]) -> nbformat.NotebookNode:
    """The analysis notebook of ``bundle``, computed (nothing written).

    Parameters
    ----------
    bundle
        The bundle (or its path).
    """
    import nbformat

    from .bundle import open_bundle

    b = open_bundle(bundle)
    info = b.info
    jt = info.get("job_type", "?")
    try:
        described = (b.path / _names.PARAMETERS).read_text(encoding="utf-8").rstrip()
    except OSError:
        described = ""
    shape = " × ".join(f"{k} {v}" for k, v in info.get("shape", {}).items()) or "a single point"
    intro = (
        f"# {info.get('name', b.path.name)}: {info.get('job_type_title') or jt}\n\n"
        f"A `{jt}` scan of {info.get('count', 0):,} job(s) ({shape}), created {info.get('created', '?')} on "
        f"{info.get('host', '?')}. This notebook belongs to the bundle in `{b.path}`; "
        "**Run ▸ Run All Cells** loads it, shows its progress, its explorer and the typical plots.\n\n"
        "```\n" + described + "\n```"
    )
    cells = [
        _md(intro),
        _code(_SETUP.format(path=str(b.path), info=_names.INFO)),
        _md("## Progress\n\nThe monitor follows the jobs while they run (counts, problems, live panels)."),
        _code("wb.monitor(bundle)"),
        _md("## The results table\n\nOne row per job: its parameters, every scalar output, its state, runtime, host and error."),
        _code(_RESULTS),
        _md(
            "## Explore\n\nChoose x, y, colour and facet; sliders pin the dimensions not shown; **click a point** "
            "(or a heatmap cell) to see that job's whole output below the plot."
        ),
        _code(_EXPLORE),
        _code(_SELECTION),
        _md("## Typical plots"),
    ]
    cells.append(_code(_scan_plots(jt)))
    cells.append(_md("## One job up close\n\nThe array outputs of one job, loaded on demand (nothing else is read)."))
    cells.append(_code(_ONE_JOB))
    cells += [
        _md(
            "## Slices and exports\n\n`sel(df, damping=0.1, drive_freq=(0.8, 1.2))` selects like the science reads; "
            "`grid(df, value, (dim_a, dim_b))` and `pivot(...)` cut 2-D slices; `neighbours(df, job_id, axis)` "
            "walks along one axis."
        ),
        _code(_EXPORT),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["workbench"] = {"bundle": str(b.path), "job_type": jt, "format": info.get("format")}
    nbformat.validate(nb)
    return nb


def bundle_notebook(
    bundle: Bundle | str | os.PathLike[str],
    *,
    path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the bundle's analysis notebook (default ``analyze.ipynb`` in the bundle) and return its path.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    path
        Where to write it instead.
    overwrite
        Replace an existing notebook (which may hold the user's own work: off by default).

    Raises
    ------
    BundleExistsError
        The notebook exists and ``overwrite`` is false.
    """
    import nbformat

    from .bundle import open_bundle

    b = open_bundle(bundle)
    target = Path(path) if path is not None else b.path / _names.ANALYZE_NOTEBOOK
    if target.exists() and not overwrite:
        raise BundleExistsError(
            f"{target} already exists (it may hold your own work). Open it, write elsewhere with "
            "path=... (--output on the command line), or replace it with overwrite=True (--overwrite)."
        )
    nb = render_notebook(b)
    with atomic_open(target, "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    return target
