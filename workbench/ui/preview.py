"""Previews of a scan in the form: the table of its first points and a small plot of the points sampled.

Both are views of a :class:`~workbench.scan.Scan` that never make more than a
few hundred points: the table asks :meth:`Scan.point` for the first rows, and
the plot samples each plotted axis (at most :data:`PLOT_SAMPLES` values per
axis) before forming the grid.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..scan import Scan
from .canvas import Throttle, close_tree, label_log_axes, make_figure, new_lock
from .fields import format_value

__all__ = ["points_table_html", "PointsPlot", "PLOT_SAMPLES", "REDRAW_SECONDS"]

#: The most values of one axis the plot draws (evenly sampled beyond that); a 2-D grid draws at most its
#: square.  Rendering time grows with the markers: 30 x 30 renders in about 20 ms.
PLOT_SAMPLES = 30
#: The plot redraws at most this often; changes in between are drawn once, at the end.
REDRAW_SECONDS = 0.1


def points_table_html(scan: Scan, rows: int = 5) -> str:
    """An HTML table of the first ``rows`` points: the scanned parameters, then a note on the fixed ones."""
    axes_names = [n for d in scan.axes for n in d.names]
    names = axes_names or list(scan.job_type.param_names)
    n = len(scan)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["job", *names])
    body = []
    for i in range(min(rows, n)):
        pt = scan.point(i)
        cells = "".join(f"<td>{html.escape(format_value(pt[c]))}</td>" for c in names)
        body.append(f"<tr><td>{i}</td>{cells}</tr>")
    notes = []
    if n > rows:
        notes.append(f"… {n - rows:,} more")
    if axes_names:
        fixed = scan.fixed
        if fixed:
            notes.append("every job has " + ", ".join(f"{k} = {format_value(v)}" for k, v in fixed.items()))
    note = f'<div class="wb-note">{html.escape("; ".join(notes))}</div>' if notes else ""
    return f'<table class="wb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>{note}'


def _sample(n: int, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` evenly strided values out of ``n``, the last one included."""
    if n <= limit:
        return np.arange(n)
    step = -(-(n - 1) // (limit - 1))  # ceil: regular gaps read better than evenly rounded ones
    return np.unique(np.append(np.arange(0, n, step), n - 1))




def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


class PointsPlot:
    """A small ipympl figure of the points of 1-D and 2-D scans, created once and updated in place.

    The figure is made directly from ipympl's canvas (no pyplot, so nothing is
    registered or shown twice); updates call ``set_data`` and ``draw_idle``,
    at most every :data:`REDRAW_SECONDS`.
    """

    def __init__(self, width: float = 3.6, height: float = 2.6) -> None:
        #: Held while the plot changes: ipympl may render from another thread.
        self.lock = new_lock()
        # Fixed margins: a constrained layout would double every render.
        self.figure, self.canvas = make_figure(
            (width, height), lock=self.lock, toolbar_visible=False, resizable=False, capture_scroll=False
        )
        self.figure.subplots_adjust(left=0.22, right=0.96, bottom=0.18, top=0.9)
        self.ax = self.figure.add_subplot()
        self.line: Any = None  # made by the first update, with the style the scan needs
        self._layout: tuple[Any, ...] | None = None
        # Without an event loop (plain Python) nobody could make a later draw, and nobody is watching: draw at once.
        self._throttle = Throttle(self.canvas.draw_idle, REDRAW_SECONDS, call_without_loop=True)
        self.widget = self.canvas
        self.shown = False

    def update(self, scan: Scan | None) -> bool:
        """Show the points of ``scan``; returns False (and hides nothing itself) when it is not 1-D or 2-D."""
        with self.lock:
            return self._update(scan)

    def _update(self, scan: Scan | None) -> bool:
        axes = scan.axes if scan is not None else ()
        if scan is None or len(axes) not in (1, 2):
            self.shown = False
            return False
        if len(axes) == 1 and len(axes[0].names) >= 2:
            d = axes[0]
            idx = _sample(len(d), PLOT_SAMPLES * PLOT_SAMPLES)
            xs = [d.values[i][0] for i in idx]
            ys = [d.values[i][1] for i in idx]
            xname, yname = d.names[0], d.names[1]
            style = ".-"
        elif len(axes) == 1:
            d = axes[0]
            idx = _sample(len(d), PLOT_SAMPLES * 20)
            xs = [d.values[i][0] for i in idx]
            ys = [0.0] * len(xs)
            xname, yname = d.names[0], ""
            style = "|"
        else:
            dx, dy = axes
            ix, iy = _sample(len(dx), PLOT_SAMPLES), _sample(len(dy), PLOT_SAMPLES)
            colx = [dx.values[i][0] for i in ix]
            coly = [dy.values[i][0] for i in iy]
            xcat, ycat = not _numeric(colx), not _numeric(coly)
            xs = [x for x in colx for _ in coly]
            ys = [y for _ in colx for y in coly]
            xname, yname = dx.names[0], dy.names[0]
            style = "."
        if len(axes) == 1:
            xcat, ycat = not _numeric(xs), not _numeric(ys)
        sampled = len(xs) < len(scan)
        xlog = self._log(scan, xname, xs, xcat)
        ylog = bool(yname) and self._log(scan, yname, ys, ycat)
        layout = (xname, yname, style, xcat, ycat, xlog, ylog)
        if layout != self._layout:
            self.ax.cla()
            marker = {"|": dict(marker="|", ms=12, ls=""), ".": dict(marker=".", ms=4, ls=""), ".-": dict(marker=".", ms=4, ls="-", lw=0.8)}
            (self.line,) = self.ax.plot([], [], **marker[style])
            self.ax.set_xlabel(self._label(scan, xname), fontsize=8)
            self.ax.set_ylabel(self._label(scan, yname) if yname else "", fontsize=8)
            self.ax.tick_params(which="both", labelsize=7)
        px, xticks = self._positions(xs, xcat)
        py, yticks = self._positions(ys, ycat)
        if xcat:
            self.ax.set_xticks(*xticks)
        if ycat and yname:
            self.ax.set_yticks(*yticks)
        self.line.set_data(px, py)
        self.ax.relim()
        if layout != self._layout:
            # Scales after the data: a log scale of an empty axis warns.
            self.ax.set_xscale("log" if xlog else "linear")
            self.ax.set_yscale("log" if ylog else "linear")
            if not yname:
                self.ax.set_yticks([])
            self._layout = layout
        self.ax.autoscale_view()
        label_log_axes(self.ax)
        if not yname:
            self.ax.set_ylim(-1, 1)
        self.ax.set_title(f"{len(scan):,} points" + (" (sampled)" if sampled else ""), fontsize=8)
        self.shown = True
        self.request_draw()
        return True

    def request_draw(self) -> None:
        """``draw_idle`` now, or once at the end of the current redraw interval."""
        self._throttle.request()

    @staticmethod
    def _label(scan: Scan, name: str) -> str:
        unit = scan.job_type.param(name).unit
        return f"{name} [{unit}]" if unit else name

    @staticmethod
    def _log(scan: Scan, name: str, values: Sequence[Any], categorical: bool) -> bool:
        if categorical or not name:
            return False
        return scan.sources[name].kind in ("logspace", "geomspace") and all(v > 0 for v in values)

    @staticmethod
    def _positions(values: Sequence[Any], categorical: bool) -> tuple[Sequence[Any], tuple[list[int], list[str]]]:
        if not categorical:
            return values, ([], [])
        labels: dict[Any, int] = {}
        pos = [labels.setdefault(v, len(labels)) for v in values]
        shown = list(labels)[:: max(1, len(labels) // 8)]
        return pos, ([labels[v] for v in shown], [format_value(v) for v in shown])

    def close(self) -> None:
        """Drop a pending redraw and close the canvas (and its toolbar)."""
        self._throttle.cancel()
        close_tree([self.canvas])
