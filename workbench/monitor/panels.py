"""Live matplotlib panels of the monitor: ipympl figures made once and updated in place.

Each panel owns one :class:`~matplotlib.figure.Figure` drawn on an ipympl
canvas (a widget).  The figures are made directly, never through pyplot, so
they are not registered with pyplot's figure manager and cannot be shown a
second time by ``plt.show()`` or the inline backend (what ``plt.ioff()``
guards against for pyplot figures).  An update changes artists' data
(``set_data`` / ``set_array`` / ``set_offsets``) and asks the browser for a
redraw with ``canvas.draw_idle()``; a :class:`~workbench.ui.canvas.Throttle` keeps those at ~10
per second at most.

Panels:

* :class:`ScanPanel`: a chosen output over the scan grid: a line for 1-D
  scans, a heatmap for 2-D, two chosen axes and sliders for the others
  beyond; points without a value are grey, failed/held/... points marked.
* :class:`RuntimePanel`: a histogram of job runtimes, filled incrementally.
* :class:`UserPanel`: ``fn(df, ax)`` with the results so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._format import format_number as _fmt
from ..ui.canvas import close_tree, label_log_axes, make_figure, new_lock
from .model import MARKS, RUNTIME_EDGES, GridDim, MonitorModel, take_slice

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    #: What :meth:`Monitor.add_panel <workbench.monitor.widget.Monitor.add_panel>` takes: ``fn(df, ax)``.
    UserPanelFunction = Callable[[pd.DataFrame, Axes], Any]

__all__ = ["Panel", "ScanPanel", "RuntimePanel", "UserPanel", "MARK_COLORS"]

#: Colours of the marks drawn over points (keys of :data:`~workbench.monitor.model.MARKS`).
MARK_COLORS = {
    "failed": "#d62728",
    "held": "#ff7f0e",
    "interrupted": "#9467bd",
    "removed": "#555555",
    "bad output": "#8c564b",
}
_PENDING = "#c8c8c8"


# ---------------------------------------------------------------------------
# Panels
# ---------------------------------------------------------------------------
class Panel:
    """A figure (and optional controls) redrawn from a :class:`MonitorModel`.

    Subclasses implement :meth:`update`, which changes artists from the model;
    :meth:`redraw` calls it and asks the canvas for a redraw.
    """

    title = ""

    def __init__(self, model: MonitorModel, figsize: tuple[float, float], *, layout: str | None = None) -> None:
        self.model = model
        #: Held while the panel's artists change: ipympl may render from another thread.
        self.lock = new_lock()
        # Fixed margins by default: a constrained layout is recomputed at every draw, which here costs
        # about as much as drawing the panel.
        self.figure, self.canvas = make_figure(
            figsize, lock=self.lock, layout=layout, resizable=False, toolbar_position="right"
        )
        self.dirty = True
        self.draws = 0
        #: How long the last rendering took (when the browser asked for the picture).
        self.draw_seconds = 0.0
        render = self.canvas.draw

        def timed_render(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return render(*args, **kwargs)
            finally:
                self.draw_seconds = time.perf_counter() - t0

        self.canvas.draw = timed_render  # type: ignore[method-assign]
        self.controls: list[Any] = []
        self._widget: Any = None
        #: Called when a control of the panel changed (the monitor schedules a throttled redraw).
        self.on_change: Callable[[], None] | None = None

    @property
    def widget(self) -> Any:
        """The panel's widget: its controls above its canvas (and a legend below, if any)."""
        if self._widget is None:
            import ipywidgets as w

            below = [self.legend] if getattr(self, "legend", None) is not None else []
            self._widget = w.VBox([*self.controls, self.canvas, *below], layout=w.Layout(margin="0 12px 8px 0"))
            self._widget.add_class("wb-monitor-panel")
        return self._widget

    def update(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def refresh_options(self) -> None:
        """Offer what appeared since (e.g. new outputs); nothing to offer by default."""

    def redraw(self) -> None:
        """Bring the artists up to date and ask for a redraw (if anything changed)."""
        if not self.dirty:
            return
        self.dirty = False
        with self.lock:
            self.update()
        self.draws += 1
        self.canvas.draw_idle()

    def close(self) -> None:
        """Close the panel's widgets (controls, canvas, toolbar)."""
        close_tree([*self.controls, getattr(self, "legend", None), self.canvas, self._widget])


def _index_formatter(dim: GridDim) -> Any:
    from matplotlib.ticker import FuncFormatter

    def fmt(v: float, pos: Any = None) -> str:
        k = int(round(v))
        if abs(v - k) > 1e-6 or not 0 <= k < len(dim):
            return ""
        return _fmt(dim.values[k])

    return FuncFormatter(fmt)


class ScanPanel(Panel):
    """An output over the scan grid, filling in as results arrive.

    A 1-D scan shows a line (and a scan whose points are not a grid, the
    output against the job index); a 2-D scan a heatmap; more dimensions a
    heatmap over two chosen dimensions with a slider for each other one.
    Points without a value show as gaps or grey cells; failed, held,
    interrupted and removed points are marked in the colours of
    :data:`MARK_COLORS`.
    """

    title = "scan"

    def __init__(self, model: MonitorModel, *, output: str | None = None, figsize: tuple[float, float] = (6.2, 4.0)):
        import ipywidgets as w

        super().__init__(model, figsize)
        grid = model.grid
        if grid is None or grid.ndim == 0:
            self.dims: tuple[GridDim, ...] = (GridDim(("job index",), tuple(range(model.total))),)
        else:
            self.dims = grid.dims
        self.shape = tuple(len(d) for d in self.dims)
        self.mode = "line" if len(self.dims) == 1 else "heatmap"
        self.ax = self.figure.add_subplot()
        self.figure.subplots_adjust(left=0.13, right=0.97 if self.mode == "line" else 0.86, bottom=0.13, top=0.92)

        self.output = w.Dropdown(description="output", options=self._output_options(), layout=w.Layout(width="260px"))
        if output is not None:
            self.output.options = list(dict.fromkeys([output, *self.output.options]))
            self.output.value = output
        self.output.observe(self._changed, "value")
        swatch = "<span style='display:inline-block;width:10px;height:10px;background:{};margin:0 3px 0 10px'></span>{}"
        self.legend = w.HTML(
            "<small>" + swatch.format(_PENDING, "no value yet")
            + "".join(swatch.format(c, k) for k, c in MARK_COLORS.items()) + "</small>"
        )
        self.controls = [self.output]
        self.sliders: list[Any] = []
        self.slider_labels: list[Any] = []
        if self.mode == "heatmap":
            options = [(d.label, k) for k, d in enumerate(self.dims)]
            # Show the two longest dimensions first, the longest along x (the wide side of the plot).
            y0, x0 = sorted(range(len(self.dims)), key=lambda k: (len(self.dims[k]), -k))[-2:]
            self.xdim = w.Dropdown(description="x", options=options, value=x0, layout=w.Layout(width="200px"))
            self.ydim = w.Dropdown(description="y", options=options, value=y0, layout=w.Layout(width="200px"))
            self.xdim.observe(self._axes_changed, "value")
            self.ydim.observe(self._axes_changed, "value")
            rows = []
            for k, d in enumerate(self.dims):
                s = w.IntSlider(0, 0, len(d) - 1, description=d.label, readout=False, continuous_update=True)
                lab = w.Label(_fmt(d.values[0]))
                s.observe(self._changed, "value")
                self.sliders.append(s)
                self.slider_labels.append(lab)
                rows.append(w.HBox([s, lab]))
            self._slider_rows = rows
            # A resonance peak flattens everything else on a linear scale.
            self.logc = w.Checkbox(value=False, description="log colour", indent=False, layout=w.Layout(width="100px"))
            self.logc.add_class("wb-monitor-logc")
            self.logc.observe(self._changed, "value")
            self.controls = [w.HBox([self.output, self.xdim, self.ydim, self.logc]), *rows]
            self._show_sliders()
            self._make_heatmap()
        else:
            self._make_line()

    # -- controls ----------------------------------------------------------
    def _output_options(self) -> list[str]:
        from ..ui.explorer import declared_outputs

        names = self.model.output_names
        info = self.model.bundle.info
        declared = declared_outputs(info.get("job_type"), info.get("job_type_ref"))
        ordered = [n for n in declared if n in names] + [n for n in names if n not in declared]
        return [*ordered, "runtime"]

    def refresh_options(self) -> None:
        """Offer outputs that appeared since; pick the first real output once there is one."""
        options = self._output_options()
        if list(self.output.options) == options:
            return
        current = self.output.value
        self.output.options = options  # resets the value to the first option
        self.output.value = options[0] if current in (None, "runtime") or current not in options else current
        self.dirty = True

    def _changed(self, change: Any = None) -> None:
        self.dirty = True
        if self.on_change is not None:
            self.on_change()

    def _axes_changed(self, change: Any) -> None:
        # Keep x and y different: picking the other one's dimension swaps them.
        x, y = self.xdim.value, self.ydim.value
        if x == y:
            other = change["old"]
            (self.ydim if change["owner"] is self.xdim else self.xdim).value = other
            return
        self._show_sliders()
        self._changed()

    def _show_sliders(self) -> None:
        for k, row in enumerate(self._slider_rows):
            row.layout.display = "none" if k in (self.xdim.value, self.ydim.value) else ""

    # -- artists ---------------------------------------------------------------
    def _make_line(self) -> None:
        d = self.dims[0]
        self.numeric_x = d.numeric
        self.x = np.asarray(d.values, dtype=float) if self.numeric_x else np.arange(len(d), dtype=float)
        ax = self.ax
        (self.line,) = ax.plot([], [], "o-", ms=3.5, lw=1.2, color="#1f77b4")
        # Marks sit at the bottom of the axes, in data x and axes-fraction y.
        (self.pending,) = ax.plot([], [], "|", ms=7, color=_PENDING, transform=ax.get_xaxis_transform(), label="no value yet")
        self.marked = ax.scatter([], [], marker="x", s=30, linewidths=1.5, transform=ax.get_xaxis_transform(), zorder=3)
        ax.set_xlabel(d.label)
        if not self.numeric_x:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.xaxis.set_major_formatter(_index_formatter(d))
        if len(self.x):
            lo, hi = float(np.nanmin(self.x)), float(np.nanmax(self.x))
            pad = 0.03 * (hi - lo) if hi > lo else 0.5
            ax.set_xlim(lo - pad, hi + pad)
        ax.grid(True, alpha=0.3)

    def _make_heatmap(self) -> None:
        import matplotlib as mpl

        cmap = mpl.colormaps["viridis"].with_extremes(bad=_PENDING)
        self.image = self.ax.imshow(
            np.full((2, 2), np.nan), origin="lower", aspect="auto", interpolation="nearest", cmap=cmap
        )
        self.overlay = self.ax.imshow(np.zeros((2, 2, 4)), origin="lower", aspect="auto", interpolation="nearest")
        self.colorbar = self.figure.colorbar(self.image, ax=self.ax, fraction=0.05, pad=0.03)
        lut = np.zeros((max(MARKS.values()) + 1, 4))
        for name, code in MARKS.items():
            lut[code] = mpl.colors.to_rgba(MARK_COLORS[name], 0.85)
        self._lut = lut
        self._layout_heatmap()

    def _layout_heatmap(self) -> None:
        from matplotlib.ticker import MaxNLocator

        dx, dy = self.dims[self.xdim.value], self.dims[self.ydim.value]
        nx, ny = len(dx), len(dy)
        for im in (self.image, self.overlay):
            im.set_extent((-0.5, nx - 0.5, -0.5, ny - 0.5))
        self.ax.set_xlim(-0.5, nx - 0.5)
        self.ax.set_ylim(-0.5, ny - 0.5)
        for axis, d in ((self.ax.xaxis, dx), (self.ax.yaxis, dy)):
            axis.set_major_locator(MaxNLocator(nbins=8, integer=True))
            axis.set_major_formatter(_index_formatter(d))
        self.ax.set_xlabel(dx.label)
        self.ax.set_ylabel(dy.label)
        self._layout = (self.xdim.value, self.ydim.value)

    # -- updating ------------------------------------------------------------------
    def data(self) -> np.ndarray:
        """The chosen output, per job index (NaN where there is no value)."""
        name = self.output.value
        try:
            col = self.model.column(name) if name else None
        except KeyError:
            col = None
        if col is None or col.dtype.kind != "f":
            return np.full(self.model.total, np.nan)
        return col

    def update(self) -> None:
        values = self.data()
        name = self.output.value or ""
        have = int(np.count_nonzero(np.isfinite(values)))
        title = f"{name}: {have:,} of {self.model.total:,} points"
        if self.mode == "line":
            self._update_line(values)
        else:
            title += self._update_heatmap(values)
        self.ax.set_title(title, fontsize="medium")

    def _update_line(self, values: np.ndarray) -> None:
        ok = np.isfinite(values)
        self.line.set_data(self.x, values)
        marks = self.model.marks
        hit = marks > 0
        self.pending.set_data(self.x[~ok & ~hit], np.full(int(np.count_nonzero(~ok & ~hit)), 0.02))
        xs = self.x[hit]
        self.marked.set_offsets(np.column_stack([xs, np.full(xs.size, 0.05)]) if xs.size else np.empty((0, 2)))
        if xs.size:
            names = {v: k for k, v in MARKS.items()}
            self.marked.set_color([MARK_COLORS[names[int(m)]] for m in marks[hit]])
        self.ax.set_ylabel(self.output.value or "")
        if ok.any():
            lo, hi = float(np.min(values[ok])), float(np.max(values[ok]))
            pad = 0.06 * (hi - lo) if hi > lo else (0.06 * abs(hi) or 0.5)
            self.ax.set_ylim(lo - 2.5 * pad, hi + pad)  # room below for the marks

    def _update_heatmap(self, values: np.ndarray) -> str:
        x, y = self.xdim.value, self.ydim.value
        if (x, y) != self._layout:
            self._layout_heatmap()
        fixed = {k: s.value for k, s in enumerate(self.sliders)}
        for k, (s, lab) in enumerate(zip(self.sliders, self.slider_labels)):
            lab.value = _fmt(self.dims[k].values[s.value])
        sl = take_slice(values, self.shape, x, y, fixed)
        log = bool(self.logc.value)
        if log:
            sl = np.where(sl > 0, sl, np.nan)  # no logarithm: shown as having no value, and said in the title
        self._set_norm(log)
        self.image.set_data(sl)
        finite = sl[np.isfinite(sl)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            if hi <= lo:
                hi = lo * (1 + 1e-6) if log else lo + (abs(lo) * 1e-6 or 1e-12)
            self.image.set_clim(lo, hi)
        if log:
            label_log_axes(self.colorbar.ax, minor_decades=2.2)  # "2", "5", "1e3", not "2 x 10^0"
        self.colorbar.set_label(self.output.value or "")
        marks = take_slice(self.model.marks, self.shape, x, y, fixed)
        self.overlay.set_data(self._lut[marks])
        where = [f"{self.dims[k].label} = {_fmt(self.dims[k].values[v])}" for k, v in fixed.items() if k not in (x, y)]
        return (" at " + ", ".join(where)) if where else ""

    def _set_norm(self, log: bool) -> None:
        """A logarithmic or linear colour scale for the heatmap (and its colour bar)."""
        from matplotlib.colors import LogNorm, Normalize

        if isinstance(self.image.norm, LogNorm) == log:
            return
        self.image.set_norm(LogNorm() if log else Normalize())
        self.colorbar.update_normal(self.image)


#: Runtimes spread over fewer logarithmic bins than this (half a decade) are shown on a linear axis.
ALIKE_BINS = 5
#: Bins of that linear histogram.
LINEAR_BINS = 20


class RuntimePanel(Panel):
    """A histogram of job runtimes, filled as results arrive: logarithmic bins, or even ones when runtimes are alike."""

    title = "runtime"

    def __init__(self, model: MonitorModel, *, figsize: tuple[float, float] = (4.2, 3.0)):
        super().__init__(model, figsize)
        ax = self.ax = self.figure.add_subplot()
        self.figure.subplots_adjust(left=0.16, right=0.96, bottom=0.17, top=0.89)
        self.stairs = ax.stairs(np.zeros(len(RUNTIME_EDGES) - 1), RUNTIME_EDGES, fill=True, color="#4c72b0", alpha=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("runtime [s]")
        ax.set_ylabel("jobs")
        ax.set_xlim(1e-2, 1e2)

    def update(self) -> None:
        h = self.model.hist
        n = int(h.sum())
        nz = np.flatnonzero(h)
        if not nz.size:
            self.stairs.set_data(h, RUNTIME_EDGES)
            self.ax.set_title("runtime (no results yet)", fontsize="medium")
            return
        k = int(np.searchsorted(np.cumsum(h), n / 2.0))
        median = math.sqrt(RUNTIME_EDGES[k] * RUNTIME_EDGES[k + 1])
        if nz[-1] - nz[0] < ALIKE_BINS:
            # Runtimes alike (within half a decade): log bins would show one bar; spread them on a linear axis.
            counts, edges = self._linear()
            self.stairs.set_data(counts, edges)
            self.ax.set_xscale("linear")
            pad = 0.05 * (edges[-1] - edges[0])
            self.ax.set_xlim(edges[0] - pad, edges[-1] + pad)
            self.ax.set_ylim(0, counts.max() * 1.1)
        else:
            self.stairs.set_data(h, RUNTIME_EDGES)
            self.ax.set_xscale("log")
            lo, hi = max(nz[0] - 2, 0), min(nz[-1] + 3, len(RUNTIME_EDGES) - 1)
            self.ax.set_xlim(RUNTIME_EDGES[lo], RUNTIME_EDGES[hi])
            self.ax.set_ylim(0, h.max() * 1.1)
            label_log_axes(self.ax)
        self.ax.set_title(f"runtime of {n:,} jobs (median ≈ {_fmt(median, 2)} s)", fontsize="medium")

    def _linear(self) -> tuple[np.ndarray, np.ndarray]:
        """A histogram of the runtimes on :data:`LINEAR_BINS` even bins between the shortest and the longest."""
        r = self.model.column("runtime")
        r = r[np.isfinite(r)]
        lo, hi = float(r.min()), float(r.max())
        if hi - lo < 1e-9 * max(abs(hi), 1e-9):  # all the same: one bar, a tenth of its value wide
            lo, hi = lo * 0.95, hi * 1.05 if hi > 0 else 1.0
        counts, edges = np.histogram(r, bins=LINEAR_BINS, range=(lo, hi))
        return counts, edges


class UserPanel(Panel):
    """A panel drawn by a user function ``fn(df, ax)`` from the results so far.

    ``df`` is :meth:`MonitorModel.frame` (the columns of
    :func:`workbench.results`); the axes are cleared before each call.  An
    exception is shown on the axes instead of stopping the monitor.
    """

    def __init__(self, model: MonitorModel, fn: UserPanelFunction, *, title: str | None = None, figsize: tuple[float, float] = (4.8, 3.4)):
        super().__init__(model, figsize, layout="constrained")  # whatever the user draws fits
        self.fn = fn
        self.title = title or getattr(fn, "__name__", "panel")
        self.ax = self.figure.add_subplot()
        self.error: str = ""

    def update(self) -> None:
        self.ax.clear()
        try:
            self.fn(self.model.frame(), self.ax)
            self.error = ""
        except Exception as e:  # noqa: BLE001 - a user's bug must not stop the monitor
            self.error = f"{type(e).__name__}: {e}"
            self.ax.text(0.5, 0.5, f"{self.title} failed:\n{self.error}", ha="center", va="center", wrap=True,
                         color=MARK_COLORS["failed"], transform=self.ax.transAxes, fontsize="small")
        if not self.ax.get_title():
            self.ax.set_title(self.title, fontsize="medium")
