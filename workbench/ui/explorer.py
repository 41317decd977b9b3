"""The results explorer: plot any column against any other, slice N-D scans, click a point to see its job.

``workbench.explore(bundle)`` shows

* x, y, colour and facet chosen from the columns, log axes (and log colour) on request;
* for scans of two or more dimensions a heatmap of a value over two of them;
* a slider for each scanned dimension not shown, pinning it to one value;
* filters: job states, and value ranges of any numeric column;
* a job panel: clicking a point (or a heatmap cell) loads that job's whole
  output (for the demo its trajectory, for a TDSE job the final density and
  the dipole spectrum; see :mod:`workbench.plots`); shift-click adds jobs to
  :attr:`Explorer.picked`;
* :attr:`Explorer.selection`: what is shown, back in Python as a DataFrame.

:class:`ExplorerModel` holds every choice and computes what to draw (no
widgets); :class:`Explorer` is a thin view over it.  Its figures are ipympl
canvases made once (not through pyplot, so never shown twice) and updated
with ``set_data``/``set_offsets``/``set_array`` and ``draw_idle``; they are
rebuilt only when the layout changes (another facet, kind or colour grouping).
"""

from __future__ import annotations

import html
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._format import format_number as _fmt
from ..errors import ParameterError
from .canvas import close_tree, label_log_axes, make_figure, new_lock

if TYPE_CHECKING:
    import pandas as pd

    from ..bundle import Bundle
    from ..state import ScanState
    from ..store import ResultStore

__all__ = ["ExplorerModel", "Explorer", "explore", "Trace", "Panel"]

#: A colour column with at most this many values is drawn as separate, labelled series.
DISCRETE_MAX = 12
#: A column with at most this many values can facet the plot (one panel per value).
FACET_MAX = 6
NONE = "(none)"
KINDS = ("points", "lines", "heatmap")
#: A log axis spanning up to this many decades labels its 2x and 5x ticks too (the plot is large enough).
_MINOR_DECADES = 2.2
#: Height of ipympl's toolbar, drawn over the top of a figure (pixels).
_TOOLBAR_PX = 34


@dataclass
class Trace:
    """One series of a panel: points (x, y) of jobs ``ids``; ``c`` the colour values when continuous."""

    label: str | None
    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    c: np.ndarray | None = None


@dataclass
class Panel:
    """One axes: its facet label, and either traces or a heatmap grid."""

    label: str | None
    traces: list[Trace] = field(default_factory=list)
    grid: Any = None  # a workbench.select.Grid for heatmaps


class ExplorerModel:
    """Every choice of the explorer, and what they select; no widgets.

    Parameters
    ----------
    df
        A results table (:func:`workbench.results`), its ``attrs`` naming the scan's dimensions.
    x, y, color, facet
        Column names (``None`` for no colour / no facet); defaults suit the scan's shape.
    kind
        ``"points"``, ``"lines"`` or ``"heatmap"``.
    """

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        x: str | None = None,
        y: str | None = None,
        color: str | None = None,
        facet: str | None = None,
        kind: str | None = None,
        logx: bool = False,
        logy: bool = False,
        logc: bool = False,
    ) -> None:
        self.logx, self.logy, self.logc = logx, logy, logc
        self.pins: dict[str, Any] = {}
        self.status: set[str] | None = None
        self.ranges: dict[str, tuple[float | None, float | None]] = {}
        self.set_frame(df)
        dx, dy, dc, dk = self._defaults()
        self.kind = "points"
        self.x, self.y, self.color, self.facet = dx, dy, dc, None
        self.set(x=x or dx, y=y or dy, color=color if color is not None else dc, facet=facet, kind=kind or dk)

    # -- the data ---------------------------------------------------------------
    def set_frame(self, df: pd.DataFrame) -> None:
        """Use a new results table (e.g. after more jobs finished); choices are kept where they still apply."""
        from ..select import dims_of

        self.df = df
        meta = df.attrs.get("workbench", {})
        self.dims: list[tuple[str, ...]] = dims_of(df)
        self.job_type: str | None = meta.get("job_type")
        self.bundle: str | None = meta.get("bundle")
        dim_names = [n for d in self.dims for n in d]
        outputs = [c for c in meta.get("outputs", []) if c in df.columns]
        params = [c for c in meta.get("params", []) if c in df.columns and c not in dim_names]
        rest = [c for c in df.columns if c not in ("index", "job_id", "error", *dim_names, *outputs, *params)]
        #: Columns offered for x, y and colour: scanned parameters, outputs, then the rest.
        self.columns: list[str] = [*dim_names, *outputs, *(c for c in ("runtime", "status", "host", "index") if c in rest), *params]
        self.numeric = [c for c in self.columns if df[c].dtype.kind in "biuf" or str(df[c].dtype) in ("boolean", "Int64")]
        # The outputs the job type names first (its headline results), then the rest.
        first = [c for c in declared_outputs(self.job_type) if c in outputs]
        self.outputs = list(dict.fromkeys(c for c in [*first, *outputs] if c in self.numeric))
        for d in self.dims:
            if d[0] not in self.pins or not self._on_axis(d[0], self.pins[d[0]]):
                self.pins[d[0]] = self.values(d[0])[0]

    def _defaults(self) -> tuple[str | None, str | None, str | None, str]:
        dims = sorted(self.dims, key=lambda d: -len(self.values(d[0])))
        out = self.outputs[0] if self.outputs else None
        if not dims:
            nums = self.outputs or self.numeric
            return (nums[0] if nums else None), (nums[1] if len(nums) > 1 else None), None, "points"
        if len(dims) == 1:
            return dims[0][0], out, None, "lines"
        if len(dims) == 2:
            return dims[0][0], dims[1][0], out, "heatmap"
        return dims[0][0], out, dims[-1][0], "lines"

    def values(self, column: str) -> list[Any]:
        """The distinct values of ``column``, sorted."""
        return sorted(self.df[column].dropna().unique().tolist())

    def _at(self, name: str, value: Any) -> pd.DataFrame:
        """The rows where ``name`` is ``value`` (floats within the selection helpers' tolerance)."""
        from ..select import sel

        return sel(self.df, {name: value})

    def _on_axis(self, name: str, value: Any) -> bool:
        return len(self._at(name, value)) > 0

    def dim_of(self, column: str | None) -> tuple[str, ...] | None:
        for d in self.dims:
            if column in d:
                return d
        return None

    # -- choices ----------------------------------------------------------------
    def set(self, **choices: Any) -> None:
        """Change choices (``x, y, color, facet, kind, logx, logy, logc``); names are checked."""
        for key, value in choices.items():
            if key in ("x", "y", "color", "facet"):
                if value in (None, NONE, ""):
                    value = None
                elif value not in self.df.columns:
                    raise ParameterError(
                        f"{key}={value!r} is not a column of the results; choose one of: {', '.join(self.columns)}.",
                        parameter=key,
                    )
            elif key == "kind":
                if value not in KINDS:
                    raise ParameterError(f"kind={value!r}; choose one of {', '.join(KINDS)}.", parameter="kind")
            elif key not in ("logx", "logy", "logc"):
                raise ParameterError(f"The explorer has no choice {key!r}.", parameter=key)
            setattr(self, key, value)

    def pin(self, name: str, value: Any) -> None:
        """Show only jobs with scanned parameter ``name`` (of a dimension not on an axis) at ``value``."""
        d = self.dim_of(name)
        if d is None:
            raise ParameterError(f"{name!r} is not a scanned dimension; the scanned ones are {self.dims}.", parameter=name)
        at = self._at(name, value)
        if not len(at):
            raise ParameterError(f"{name} never takes the value {value!r}; it takes {self.values(name)}.", parameter=name)
        if name != d[0]:  # a zip partner: pin the group by its first member
            name, value = d[0], at[d[0]].iloc[0]
        self.pins[name] = value

    def filter(self, column: str, low: float | None = None, high: float | None = None) -> None:
        """Keep jobs with ``low <= column <= high`` (``None``: open); both ``None`` removes the filter."""
        if column not in self.df.columns:
            raise ParameterError(f"There is no column {column!r} to filter on.", parameter=column)
        if low is None and high is None:
            self.ranges.pop(column, None)
        else:
            self.ranges[column] = (low, high)

    @property
    def shown_dims(self) -> list[tuple[str, ...]]:
        used = [self.x, self.color, self.facet, self.y]
        return [d for d in self.dims if any(c in d for c in used if c)]

    @property
    def hidden_dims(self) -> list[tuple[str, ...]]:
        """Dimensions not on an axis, in colour or facet: each is pinned to one value (a slider)."""
        shown = self.shown_dims
        return [d for d in self.dims if d not in shown]

    @property
    def problem(self) -> str | None:
        """Why nothing can be drawn with the current choices, if so."""
        if self.x is None or (self.y is None and self.kind != "heatmap"):
            return "choose x and y"
        if self.kind == "heatmap":
            if self.dim_of(self.x) is None or self.dim_of(self.y) is None or self.dim_of(self.x) == self.dim_of(self.y):
                return "a heatmap needs two different scanned parameters as x and y"
            if self.heat_value is None:
                return "a heatmap needs a numeric column as its colour (the value)"
        return None

    def fixes(self) -> list[tuple[str, dict[str, Any]]]:
        """Ways out of :attr:`problem`: (what a button says, the choices it makes), e.g. two scanned parameters as x and y."""
        if self.problem is None or self.x is None:
            return []
        out: list[tuple[str, dict[str, Any]]] = []
        if self.kind == "heatmap":
            if len(self.dims) >= 2 and self.heat_value is not None:
                by_size = sorted(self.dims, key=lambda d: -len(self.values(d[0])))
                dx = self.dim_of(self.x) or by_size[0]
                dy = next((d for d in ([self.dim_of(self.y)] if self.dim_of(self.y) else []) + by_size if d and d != dx), None)
                if dy is not None:
                    out.append((f"heatmap of {dy[0]} against {dx[0]}", {"x": dx[0], "y": dy[0]}))
            if self.y is not None:
                out.append((f"points of {self.y} against {self.x}", {"kind": "points"}))
                if self.dim_of(self.x) is not None:
                    out.append((f"lines of {self.y} against {self.x}", {"kind": "lines"}))
        return out

    def pin_to(self, job_id: str, dims: Sequence[tuple[str, ...]] | None = None) -> None:
        """Pin the hidden dimensions (or ``dims``) at the values of job ``job_id``, so that the plot shows it."""
        row = self.df[self.df["job_id"] == job_id]
        if not len(row):
            return
        for d in self.hidden_dims if dims is None else dims:
            self.pins[d[0]] = row[d[0]].iloc[0]

    @property
    def heat_value(self) -> str | None:
        if self.color in self.numeric and self.dim_of(self.color) is None:
            return self.color
        return self.outputs[0] if self.outputs else None

    # -- what is selected -------------------------------------------------------
    def conditions(self) -> list[dict[str, Any]]:
        """What :meth:`visible` selects, as :func:`workbench.select.sel` conditions, every one applying.

        The filters (job states, value ranges) first, then the pins of hidden
        dimensions: separate, as a column may have both a range and a pin.
        """
        filters: dict[str, Any] = dict(self.ranges)
        if self.status is not None:
            filters["status"] = set(self.status)
        return [filters, {d[0]: self.pins[d[0]] for d in self.hidden_dims}]

    def visible(self) -> pd.DataFrame:
        """The jobs passing the filters and the pins of hidden dimensions."""
        from ..select import sel

        out = self.df
        for where in self.conditions():
            out = sel(out, where)
        return out

    def color_mode(self, visible: pd.DataFrame | None = None) -> str | None:
        """``None``, ``"discrete"`` (a series per value) or ``"continuous"`` (a colour map) for the ``visible`` jobs."""
        if self.color is None or self.kind == "heatmap":
            return None
        df = self.visible() if visible is None else visible
        col = df[self.color]
        if col.dtype.kind in "biuf" and col.nunique() > DISCRETE_MAX:
            return "continuous"
        return "discrete"

    def panels(self, visible: pd.DataFrame | None = None) -> list[Panel]:
        """What to draw from the ``visible`` jobs (default: :meth:`visible`): a panel per facet value, with traces or a heatmap grid."""
        vis = self.visible() if visible is None else visible
        if self.facet is not None:
            keys = sorted(vis[self.facet].dropna().unique().tolist())[:FACET_MAX]
            parts = [(f"{self.facet} = {_fmt(k)}", vis[vis[self.facet] == k]) for k in keys]
        else:
            parts = [(None, vis)]
        if self.problem is not None:
            return [Panel(label) for label, _ in parts]
        if self.kind == "heatmap":
            from ..select import grid

            out = []
            for label, part in parts:
                if len(part) == 0:
                    out.append(Panel(label))
                    continue
                try:
                    g = grid(part, self.heat_value, (self.y, self.x))
                except ParameterError:  # the jobs left by the filters do not span x and y: nothing to colour
                    out.append(Panel(label))
                    continue
                out.append(Panel(label, grid=g))
            return out
        mode = self.color_mode(vis)
        out = []
        for label, part in parts:
            part = part[np.isfinite(_floats(part[self.x])) & np.isfinite(_floats(part[self.y]))] if self._numeric_xy() else part
            if self.kind == "lines":
                part = part.sort_values(self.x, kind="stable")
            if mode == "discrete":
                traces = [
                    Trace(f"{self.color} = {_fmt(k)}", _col(g[self.x]), _col(g[self.y]), g["job_id"].to_numpy(dtype=object))
                    for k, g in part.groupby(self.color, sort=True, observed=True)
                ]
            else:
                c = _floats(part[self.color]) if mode == "continuous" else None
                traces = [Trace(None, _col(part[self.x]), _col(part[self.y]), part["job_id"].to_numpy(dtype=object), c)]
            out.append(Panel(label, traces))
        return out

    def _numeric_xy(self) -> bool:
        return self.x in self.numeric and self.y in self.numeric


def declared_outputs(job_type: str | None, ref: str | None = None) -> tuple[str, ...]:
    """The scalar outputs a job type declares (``JobType.outputs``), if it can be found here (else none).

    ``job_type`` is looked up in the registry only: ``ref`` (a bundle's
    ``job_type_ref``) is accepted for callers but never imported, since what
    a bundle records must not choose the code that runs.  Figures use these
    outputs first: they are the job type's headline results.
    """
    from ..registry import get_job_type

    if not job_type:
        return ()
    try:
        return tuple(get_job_type(job_type).outputs)
    except Exception:  # noqa: BLE001 - a job type not installed here: results still show
        return ()


def _floats(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=float, na_value=np.nan)


def _col(s: pd.Series) -> np.ndarray:
    if s.dtype.kind in "biuf" or str(s.dtype) in ("boolean", "Int64"):
        return _floats(s)
    return s.astype(str).to_numpy(dtype=object)


def _edges(c: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted centres ``c`` (geometric midpoints on a log axis)."""
    c = np.asarray(c, dtype=float)
    if c.size == 1:
        return np.array([c[0] * 0.5, c[0] * 1.5]) if log and c[0] > 0 else np.array([c[0] - 0.5, c[0] + 0.5])
    if log and np.all(c > 0):
        mid = np.sqrt(c[1:] * c[:-1])
        return np.concatenate(([c[0] ** 2 / mid[0]], mid, [c[-1] ** 2 / mid[-1]]))
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate(([2 * c[0] - mid[0]], mid, [2 * c[-1] - mid[-1]]))


def _state_filter_class() -> type:
    """:class:`StateFilter`, made on first use: ipywidgets is imported only by those who show widgets."""
    import ipywidgets as W
    import traitlets

    class StateFilter(W.HBox):  # type: ignore[misc]
        """One checkbox per job state (not a one-row list that looks like a drop-down); ``value``: the states ticked."""

        value = traitlets.Tuple()
        options = traitlets.Tuple()

        def __init__(self, options: Sequence[str] = (), value: Sequence[str] = ()) -> None:
            super().__init__(layout=W.Layout(align_items="center", flex_flow="row wrap"))
            self.add_class("wb-explorer-jobs")
            self._label = W.Label("jobs:", layout=W.Layout(margin="0 6px 0 0"))
            self._boxes: dict[str, Any] = {}
            self._syncing = False
            self.observe(self._on_options, "options")
            self.observe(self._on_value, "value")
            self.options = tuple(options)
            self.value = tuple(value)

        @traitlets.validate("value")
        def _valid(self, proposal: Any) -> tuple[str, ...]:
            chosen = set(proposal["value"])
            return tuple(o for o in self.options if o in chosen)

        def _on_options(self, change: Any) -> None:
            old = self._boxes
            self._boxes = {}
            for state in self.options:
                box = W.Checkbox(value=state in self.value, description=state, indent=False, layout=W.Layout(width="auto", margin="0 10px 0 0"))
                box.add_class(f"wb-explorer-jobs-{state.replace(' ', '-')}")
                box.observe(self._box_changed, "value")
                self._boxes[state] = box
            self.children = (self._label, *self._boxes.values())
            close_tree(old.values())
            self.value = tuple(v for v in self.value if v in self._boxes)

        def _on_value(self, change: Any) -> None:
            self._syncing = True
            try:
                for state, box in self._boxes.items():
                    box.value = state in self.value
            finally:
                self._syncing = False

        def _box_changed(self, change: Any) -> None:
            if not self._syncing:
                self.value = tuple(s for s, b in self._boxes.items() if b.value)

        def close(self) -> None:
            for w in (self._label, *self._boxes.values()):
                w.close()  # plain widgets: nothing else to close (and no import, also at interpreter exit)
            super().close()

    return StateFilter


def StateFilter(options: Sequence[str] = (), value: Sequence[str] = ()) -> Any:  # noqa: N802 - a widget class, made lazily
    """Checkboxes of job states: ``.value`` the states ticked, ``.options`` those offered."""
    global _STATE_FILTER
    if _STATE_FILTER is None:
        _STATE_FILTER = _state_filter_class()
    return _STATE_FILTER(options, value)


_STATE_FILTER: Any = None


class Explorer:
    """The explorer widget over an :class:`ExplorerModel`.

    Build it with :func:`explore`.  Widgets are attributes (``x``, ``y``,
    ``color``, ``facet``, ``kind``, ``logx``, ``logy``, ``logc``,
    ``sliders``, ``status_filter``), so notebooks and tests can set them.

    Attributes
    ----------
    model
        The :class:`ExplorerModel`.
    figure, job_figure
        The main and the job panel's matplotlib figures.
    widget
        The whole layout (displayed when the explorer is the last thing in a cell).
    """

    def __init__(self, df: pd.DataFrame, *, bundle: Bundle | None = None, **choices: Any) -> None:
        import ipywidgets as W

        self.bundle = bundle
        self.model = ExplorerModel(df, **choices)
        # Kept open between reloads: only what is new is read again (see reload).
        self._store: ResultStore | None = None
        self._state: ScanState | None = None
        self.job_id: str | None = None
        self.picked_ids: list[str] = []
        self._ids: dict[Any, np.ndarray] = {}
        self._layout: tuple[Any, ...] | None = None
        self._artists: list[dict[str, Any]] = []
        self._updating = False
        self._pick_mouse: Any = None
        self._pick_best = math.inf
        self._picked_before: list[str] = []

        # ipympl answers the front end's draw requests in a kernel subshell thread (ipykernel 7), while
        # widget callbacks run on the main thread: a figure must not be drawn while it is being changed.
        self._lock = new_lock()
        self.figure, self.canvas = make_figure((6.4, 4.4), lock=self._lock, layout="constrained", toolbar_position="top")
        self.job_figure, self.job_canvas = make_figure(
            (6.0, 3.2), lock=self._lock, layout="constrained", toolbar_position="top"
        )
        for fig in (self.figure, self.job_figure):
            # ipympl draws its toolbar over the top of the figure: keep that strip free of axes and legends.
            fig.get_layout_engine().set(rect=(0, 0, 1, 1 - _TOOLBAR_PX / (fig.get_figheight() * fig.dpi)))
        self.canvas.mpl_connect("pick_event", self._on_pick)
        self.canvas.mpl_connect("button_press_event", self._on_press)
        self.canvas.add_class("wb-explorer-plot")
        self.job_canvas.add_class("wb-explorer-job-plot")

        m = self.model
        opts = [NONE, *m.columns]
        small = [NONE, *(c for c in m.columns if 1 < m.df[c].nunique() <= FACET_MAX)]
        lay = W.Layout(width="190px")
        self.x = W.Dropdown(options=m.columns, value=m.x, description="x", layout=lay)
        self.y = W.Dropdown(options=m.columns, value=m.y, description="y", layout=lay)
        self.color = W.Dropdown(options=opts, value=m.color or NONE, description="colour", layout=lay)
        self.facet = W.Dropdown(options=small, value=m.facet or NONE, description="facet", layout=lay)
        self.kind = W.ToggleButtons(options=list(KINDS), value=m.kind, style={"button_width": "86px"})
        self.logx = W.Checkbox(value=m.logx, description="log x", indent=False, layout=W.Layout(width="70px"))
        self.logy = W.Checkbox(value=m.logy, description="log y", indent=False, layout=W.Layout(width="70px"))
        self.logc = W.Checkbox(value=m.logc, description="log colour", indent=False, layout=W.Layout(width="95px"))
        for w in (self.x, self.y, self.color, self.facet):
            w.add_class("wb-explorer-" + w.description)
        self.kind.add_class("wb-explorer-kind")

        self.sliders: dict[str, Any] = {}
        for d in m.dims:
            vals = m.values(d[0])
            label = d[0] if len(d) == 1 else " / ".join(d)
            s = W.SelectionSlider(
                options=[(self._slider_label(d, v), v) for v in vals],
                value=m.pins[d[0]],
                description=label,
                continuous_update=False,
                style={"description_width": "initial"},
                layout=W.Layout(width="420px"),
            )
            s.add_class(f"wb-explorer-slider-{d[0]}")
            s.observe(self._on_slider(d[0]), "value")
            self.sliders[d[0]] = s
        self.slider_box = W.VBox([])

        states = self._states()
        self.status_filter = StateFilter(options=states, value=states)
        self.add_filter_button = W.Button(description="+ filter", layout=W.Layout(width="80px"))
        self.add_filter_button.on_click(lambda _: self.add_filter())
        self.filter_box = W.VBox([])
        self._filter_rows: list[tuple[Any, Any, Any]] = []  # (column, range, remove button)
        self._filter_boxes: list[Any] = []  # the row of each, as shown in filter_box
        self.reload_button = W.Button(description="reload", icon="refresh", layout=W.Layout(width="90px"))
        self.reload_button.on_click(lambda _: self.reload())
        self.message = W.HTML()
        self.message.add_class("wb-explorer-message")
        self.fix_box = W.HBox([], layout=W.Layout(flex_flow="row wrap"))
        self.fix_box.add_class("wb-explorer-fixes")
        self.job_html = W.HTML("<i>Click a point (or a heatmap cell) to see that job's output here.</i>")
        self.job_html.add_class("wb-explorer-job")

        for w in (self.x, self.y, self.color, self.facet, self.kind, self.logx, self.logy, self.logc, self.status_filter):
            w.observe(self._on_control, "value")

        self.widget = W.VBox(
            [
                W.HBox([self.x, self.y, self.color, self.facet]),
                W.HBox([self.kind, self.logx, self.logy, self.logc, self.reload_button]),
                self.slider_box,
                W.HBox([self.status_filter, W.VBox([self.add_filter_button, self.filter_box])]),
                # The plot and the job panel side by side where there is room, one above the other where not.
                W.Box(
                    [W.VBox([self.canvas, self.message, self.fix_box]), W.VBox([self.job_html, self.job_canvas])],
                    layout=W.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"),
                ),
            ]
        )
        self.widget.add_class("wb-explorer")
        self._sync_sliders()
        self.update()

    # -- display ----------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def close(self) -> None:
        """Close the explorer's widgets (and free its figures), the sliders not shown included."""
        close_tree([self.widget, self.canvas, self.job_canvas, *self.sliders.values()])
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- what the user sees in Python -----------------------------------------------
    @property
    def selection(self) -> pd.DataFrame:
        """The jobs shown: those passing the filters, at the pinned values of the hidden dimensions."""
        return self.model.visible()

    @property
    def picked(self) -> pd.DataFrame:
        """The jobs clicked (the last one, or several with shift-click), in click order."""
        df = self.model.df
        rows = df.set_index("job_id", drop=False).reindex(self.picked_ids)
        rows.index = range(len(rows))
        rows.attrs = dict(df.attrs)
        return rows

    # -- reacting -----------------------------------------------------------------
    def _slider_label(self, d: tuple[str, ...], v: Any) -> str:
        if len(d) == 1:
            return _fmt(v)
        row = self.model.df[self.model.df[d[0]] == v].iloc[0]
        return ", ".join(_fmt(row[n]) for n in d)

    def _on_slider(self, name: str) -> Callable[[Any], None]:
        def handler(change: Any) -> None:
            if not self._updating:
                self.model.pin(name, change["new"])
                self.update()

        return handler

    def _on_control(self, change: Any) -> None:
        if self._updating:
            return
        m = self.model
        hidden_before = m.hidden_dims
        m.set(
            x=self.x.value,
            y=self.y.value,
            color=self.color.value,
            facet=self.facet.value,
            kind=self.kind.value,
            logx=self.logx.value,
            logy=self.logy.value,
            logc=self.logc.value,
        )
        states = set(self.status_filter.value)
        m.status = None if states == set(self.status_filter.options) else states
        newly_hidden = [d for d in m.hidden_dims if d not in hidden_before]
        if self.job_id is not None and newly_hidden:
            # A dimension taken off an axis is pinned where the job shown in the panel is, so that job stays on the plot.
            m.pin_to(self.job_id, newly_hidden)
        self._sync_sliders()
        self.update()

    def _sync_sliders(self) -> None:
        """Show a slider per hidden dimension, each at its pin."""
        hidden = [d[0] for d in self.model.hidden_dims]
        updating, self._updating = self._updating, True
        try:
            for n in hidden:
                if self.sliders[n].value != self.model.pins[n]:
                    self.sliders[n].value = self.model.pins[n]
        finally:
            self._updating = updating
        self.slider_box.children = tuple(self.sliders[n] for n in hidden)

    def _fix(self, choices: Mapping[str, Any]) -> None:
        """Apply one of the model's fixes through the controls (which then show it)."""
        updating, self._updating = self._updating, True
        try:
            for key, value in choices.items():
                getattr(self, key).value = value
        finally:
            self._updating = updating
        self._on_control(None)

    def add_filter(self, column: str | None = None, low: float | None = None, high: float | None = None) -> None:
        """Add a value-range filter row (and apply it)."""
        import ipywidgets as W

        m = self.model
        numeric = [c for c in m.numeric if m.df[c].notna().any()]
        if not numeric:
            return
        column = column or numeric[0]
        col = W.Dropdown(options=numeric, value=column, layout=W.Layout(width="170px"))
        rng = W.FloatRangeSlider(continuous_update=False, readout_format=".4g", layout=W.Layout(width="360px"))
        drop = W.Button(description="×", layout=W.Layout(width="32px"))
        row = (col, rng, drop)
        self._filter_rows.append(row)
        self._filter_boxes.append(W.HBox([col, rng, drop]))

        def limits(name: str) -> None:
            vals = m.df[name].to_numpy(dtype=float, na_value=np.nan)
            lo, hi = float(np.nanmin(vals)), float(np.nanmax(vals))
            if hi <= lo:
                hi = lo + (abs(lo) or 1.0) * 1e-9
            with rng.hold_trait_notifications():
                rng.min, rng.max = min(lo, rng.min), max(hi, rng.max)
                rng.min, rng.max = lo, hi
                rng.step = (hi - lo) / 1000
                rng.value = (lo, hi)

        def apply(_: Any = None) -> None:
            m.ranges = {}
            for c, r, _b in self._filter_rows:
                m.filter(c.value, *r.value)
            if not self._updating:
                self.update()

        def on_column(change: Any) -> None:
            self._updating = True
            try:
                limits(change["new"])
            finally:
                self._updating = False
            apply()

        def remove(_: Any) -> None:
            k = self._filter_rows.index(row)
            del self._filter_rows[k]
            box = self._filter_boxes.pop(k)
            self.filter_box.children = tuple(self._filter_boxes)
            close_tree([box])
            apply()

        self._updating = True
        try:
            limits(column)
            if low is not None or high is not None:
                rng.value = (rng.min if low is None else max(low, rng.min), rng.max if high is None else min(high, rng.max))
        finally:
            self._updating = False
        col.observe(on_column, "value")
        rng.observe(apply, "value")
        drop.on_click(remove)
        self.filter_box.children = tuple(self._filter_boxes)
        apply()

    def _states(self) -> list[str]:
        """The job states some job is in, in the order of the status categories."""
        df = self.model.df
        if "status" not in df:
            return []
        present = set(df["status"].dropna())
        return [s for s in df["status"].cat.categories if s in present]

    def reload(self) -> None:
        """Read the results again (only new result files and events are read) and redraw."""
        if not self.model.bundle:
            return
        from ..bundle import open_bundle
        from ..results import assemble
        from ..state import ScanState
        from ..store import ResultStore

        m = self.model
        if self._store is None:
            b = self.bundle or open_bundle(m.bundle)
            self._store, self._state = ResultStore(b), ScanState(b)
        b = self._state.bundle  # type: ignore[union-attr]
        self._store.refresh()
        if b.log_path.exists():
            self._state.update(outputs=False)  # type: ignore[union-attr]  # the store has listed outputs/
        m.set_frame(assemble(b, self._store.table(), state=self._state, legacy=self._store.legacy))
        states = self._states()
        self._updating = True
        try:
            # New outputs may have appeared (the first results of a scan).
            dx, dy, _, _ = m._defaults()
            m.x, m.y = m.x or dx, m.y or dy  # e.g. the first outputs of a scan that had none
            for w, extra, value in ((self.x, [], m.x), (self.y, [], m.y), (self.color, [NONE], self.color.value)):
                w.options = [*extra, *m.columns]
                w.value = value if value in w.options else (extra[0] if extra else None)
            chosen = set(self.status_filter.value) | (set(states) - set(self.status_filter.options))
            self.status_filter.options = states
            self.status_filter.value = [s for s in states if s in chosen]
        finally:
            self._updating = False
        self.update()

    # -- drawing ------------------------------------------------------------------
    def update(self) -> None:
        """Redraw the main figure from the model (in place when the layout is unchanged)."""
        with self._lock:
            self._update()
        self.canvas.draw_idle()

    def _update(self) -> None:
        m = self.model
        vis = m.visible()  # once per update: panels, colour mode, message and mark all use it
        mode = m.color_mode(vis)
        panels = m.panels(vis)
        shown = sum(len(t.x) for p in panels for t in p.traces)
        shown += sum(int(np.isfinite(np.asarray(p.grid.values, dtype=float)).sum()) for p in panels if p.grid is not None)
        layout = (
            m.kind,
            m.x,
            m.y,
            m.color,
            m.facet,
            mode,
            m.logx,
            m.logy,
            m.logc,
            m.problem,
            tuple(p.label for p in panels),
            tuple(tuple(t.label for t in p.traces) for p in panels),
            tuple(p.grid.shape if p.grid is not None else None for p in panels),
        )
        if layout != self._layout:
            self._build(panels, mode)
            self._layout = layout
        else:
            self._fill(panels)
        self._mark(vis)
        what = f"{shown:,} points from {len(vis):,} selected of {len(m.df):,} jobs" + (
            "; pinned: " + ", ".join(f"{n} = {_fmt(m.pins[n])}" for n in (d[0] for d in m.hidden_dims)) if m.hidden_dims else ""
        )
        self._show_problem(m.problem)
        if m.problem is None:
            self.message.value = html.escape(what)

    def _show_problem(self, problem: str | None) -> None:
        """Instead of an empty chart: what is wrong with the choices, and buttons that fix it."""
        import ipywidgets as W

        self.canvas.layout.display = "none" if problem else ""
        old = self.fix_box.children
        self.fix_box.children = ()
        close_tree(old)
        if problem is None:
            return
        fixes = self.model.fixes()
        self.message.value = (
            f"<b>Nothing to draw:</b> {html.escape(problem)}." + (" Try:" if fixes else "")
        )
        buttons = []
        for label, choices in fixes:
            b = W.Button(description=label, layout=W.Layout(width="auto"), tooltip=", ".join(f"{k} = {v}" for k, v in choices.items()))
            b.on_click(lambda _, c=choices: self._fix(c))
            buttons.append(b)
        self.fix_box.children = tuple(buttons)

    def _build(self, panels: list[Panel], mode: str | None) -> None:
        m = self.model
        fig = self.figure
        fig.clear()
        self._ids = {}
        self._artists = []
        axes = fig.subplots(1, len(panels), squeeze=False, sharex=True, sharey=True)[0]
        for ax, p in zip(axes, panels):
            arts: dict[str, Any] = {"ax": ax, "traces": [], "mesh": None}
            if m.problem is not None:
                ax.set_axis_off()  # the canvas is hidden; the message and its fixes show instead
            elif p.grid is not None:
                arts["mesh"] = self._mesh(ax, p.grid)
            else:
                for k, t in enumerate(p.traces):
                    if t.c is not None:
                        from matplotlib.colors import LogNorm, Normalize

                        norm = LogNorm() if m.logc else Normalize()
                        art = ax.scatter(t.x, t.y, c=t.c, s=16, cmap="viridis", norm=norm, picker=True, pickradius=5)
                        fig.colorbar(art, ax=ax, label=m.color)
                    else:
                        style = "-" if m.kind == "lines" else "none"
                        (art,) = ax.plot(t.x, t.y, marker="o", ms=4, ls=style, lw=1, label=t.label, picker=True, pickradius=5, color=f"C{k % 10}")
                    self._ids[art] = t.ids
                    arts["traces"].append(art)
                if mode == "discrete" and p.traces:
                    # Beside the axes, not over the points (nor under the toolbar).
                    ax.legend(fontsize=7, title=None, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
                ax.set_xlabel(m.x)
                ax.set_ylabel(m.y)
            if m.problem is None:
                with warnings.catch_warnings():
                    # Log axes of data without positive values stay empty; the message says nothing new.
                    warnings.filterwarnings("ignore", "Data has no positive values", UserWarning)
                    ax.set_xscale("log" if m.logx else "linear")
                    ax.set_yscale("log" if m.logy else "linear")
                    label_log_axes(ax, minor_decades=_MINOR_DECADES)
            if p.label:
                ax.set_title(p.label, fontsize=9)
            (arts["mark"],) = ax.plot([], [], "s", ms=11, mfc="none", mec="k", mew=1.5, zorder=5)
            self._artists.append(arts)

    def _mesh(self, ax: Any, g: Any) -> Any:
        from matplotlib.colors import LogNorm, Normalize

        m = self.model
        ys, xs = g.coords[g.dims[0]], g.coords[g.dims[1]]
        vals = np.ma.masked_invalid(np.asarray(g.values, dtype=float))
        norm = LogNorm(*_clim(vals, True)) if m.logc else Normalize()
        mesh = ax.pcolormesh(_edges(xs, m.logx), _edges(ys, m.logy), vals, cmap="viridis", norm=norm, shading="flat")
        self.figure.colorbar(mesh, ax=ax, label=m.heat_value)
        ax.set_xlabel(m.x)
        ax.set_ylabel(m.y)
        mesh.wb_grid = g
        return mesh

    def _fill(self, panels: list[Panel]) -> None:
        m = self.model
        self._ids = {}
        for arts, p in zip(self._artists, panels):
            ax = arts["ax"]
            if arts["mesh"] is not None and p.grid is not None:
                vals = np.ma.masked_invalid(np.asarray(p.grid.values, dtype=float))
                arts["mesh"].set_array(vals)
                if vals.count():
                    arts["mesh"].set_clim(*_clim(vals, m.logc))
                arts["mesh"].wb_grid = p.grid
                continue
            for art, t in zip(arts["traces"], p.traces):
                if t.c is not None:
                    art.set_offsets(np.column_stack([t.x, t.y]) if len(t.x) else np.empty((0, 2)))
                    art.set_array(t.c)
                    if len(t.c) and np.isfinite(t.c).any():
                        art.set_clim(np.nanmin(t.c), np.nanmax(t.c))
                else:
                    art.set_data(t.x, t.y)
                self._ids[art] = t.ids
            ax.relim()
            ax.autoscale_view()
            label_log_axes(ax, minor_decades=_MINOR_DECADES)

    def _mark(self, visible: pd.DataFrame | None = None) -> None:
        """Outline the job whose output the job panel shows (if it is among the ``visible`` jobs)."""
        m = self.model
        for arts in self._artists:
            xy: tuple[list[Any], list[Any]] = ([], [])
            if self.job_id is not None and m.problem is None:
                row = m.df[m.df["job_id"] == self.job_id]
                if visible is None:
                    visible = m.visible()
                if len(row) and (visible["job_id"] == self.job_id).any():
                    r = row.iloc[0]
                    if arts["mesh"] is None or arts["mesh"].wb_grid is None:
                        hit = any(self.job_id in set(self._ids.get(a, ())) for a in arts["traces"])
                        if hit:
                            xy = ([r[m.x]], [r[m.y]])
                    elif self.job_id in set(arts["mesh"].wb_grid.job_ids.ravel()):
                        xy = ([r[m.x]], [r[m.y]])
            arts["mark"].set_data(*xy)

    # -- clicks ---------------------------------------------------------------------
    def _on_pick(self, event: Any) -> None:
        art = event.artist
        ids = self._ids.get(art)
        ind = np.asarray(getattr(event, "ind", ()), dtype=int)
        if ids is None or not len(ind):
            return
        me = event.mouseevent
        xy = art.get_offsets() if hasattr(art, "get_offsets") else art.get_xydata()
        screen = art.axes.transData.transform(np.asarray(xy, dtype=float)[ind])
        dist = np.hypot(screen[:, 0] - me.x, screen[:, 1] - me.y)
        k = int(np.argmin(dist))
        # One click can pick points of several series: keep only the nearest of them.
        if me is self._pick_mouse:
            if dist[k] >= self._pick_best:
                return
            self.picked_ids = list(self._picked_before)
        else:
            self._pick_mouse, self._picked_before = me, list(self.picked_ids)
        self._pick_best = float(dist[k])
        self.show_job(str(ids[int(ind[k])]), add=getattr(me, "key", None) == "shift")

    def _on_press(self, event: Any) -> None:
        for arts in self._artists:
            mesh = arts["mesh"]
            if mesh is None or event.inaxes is not arts["ax"] or event.xdata is None:
                continue
            g = mesh.wb_grid
            xs, ys = g.coords[g.dims[1]], g.coords[g.dims[0]]
            i = int(np.argmin(np.abs(_edges_index(ys, event.ydata, self.model.logy))))
            j = int(np.argmin(np.abs(_edges_index(xs, event.xdata, self.model.logx))))
            jid = g.job_ids[i, j]
            if jid:
                self.show_job(str(jid), add=getattr(event, "key", None) == "shift")

    def show_job(self, job_id: str, *, add: bool = False) -> dict[str, Any]:
        """Show one job's whole output in the job panel (as a click does); returns that output."""
        with self._lock:
            out = self._show_job(job_id, add)
        self.job_canvas.draw_idle()
        self.canvas.draw_idle()
        return out

    def _show_job(self, job_id: str, add: bool) -> dict[str, Any]:
        from .. import plots
        from ..results import job_output

        m = self.model
        if add:
            if job_id not in self.picked_ids:
                self.picked_ids.append(job_id)
        else:
            self.picked_ids = [job_id]
        self.job_id = job_id
        hidden = m.hidden_dims
        before = {d[0]: m.pins[d[0]] for d in hidden}
        m.pin_to(job_id)  # the plot shows the job the panel shows
        if any(m.pins[n] != v for n, v in before.items()):
            self._sync_sliders()
            self._update()
        bundle = self.bundle or m.bundle
        if bundle is None:
            row = m.df[m.df["job_id"] == job_id].iloc[0]
            out = {"job_id": job_id, "index": row.get("index"), "params": {}, "scalars": {}, "arrays": {}, "error": "no bundle to load it from"}
        else:
            out = job_output(bundle, job_id)
        out["varying"] = [n for d in m.dims for n in d]
        plots.job_plot(self.job_figure, out, m.job_type)
        self.job_html.value = _job_table(out, m.df)
        self._mark()
        return out


def _clim(vals: np.ma.MaskedArray, log: bool) -> tuple[float, float]:
    """Colour limits of a heatmap's values: their range, on a log scale that of the positive ones."""
    if log:
        pos = vals.compressed()[vals.compressed() > 0]
        return (float(pos.min()), float(pos.max())) if pos.size else (1e-300, 1.0)
    return float(vals.min()), float(vals.max())


def _edges_index(c: np.ndarray, value: float, log: bool) -> np.ndarray:
    c = np.asarray(c, dtype=float)
    if log and value > 0 and np.all(c > 0):
        return np.log(c) - math.log(value)
    return c - value


def _job_table(out: Mapping[str, Any], df: pd.DataFrame) -> str:
    """The job's parameters and scalar outputs as two compact tables (names over values)."""
    row = df[df["job_id"] == out["job_id"]]
    status = str(row["status"].iloc[0]) if len(row) else "?"

    def table(title: str, items: Sequence[tuple[str, Any]]) -> str:
        if not items:
            return ""
        head = "".join(f"<th style='padding:0 6px'>{html.escape(str(k))}</th>" for k, _ in items)
        vals = "".join(f"<td style='padding:0 6px'>{html.escape(_fmt(v))}</td>" for _, v in items)
        return (
            f"<div style='overflow-x:auto'><table style='font-size:90%;text-align:right'>"
            f"<tr><td><i>{title}</i></td>{head}</tr><tr><td></td>{vals}</tr></table></div>"
        )

    arrays = out.get("arrays") or {}
    shapes = ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in arrays.items())
    err = out.get("error")
    return (
        f"<div style='max-width:600px'><b>job {html.escape(str(out.get('index', '')))}</b> "
        f"<code>{html.escape(out['job_id'])}</code> ({html.escape(status)})"
        + table("parameters", list((out.get("params") or {}).items()))
        + table("outputs", list((out.get("scalars") or {}).items()))
        + (f"<div><i>arrays:</i> {html.escape(shapes)}</div>" if shapes else "")
        + (f"<pre style='white-space:pre-wrap;color:#b71c1c'>{html.escape(str(err))}</pre>" if err else "")
        + "</div>"
    )


def explore(
    data: Bundle | str | os.PathLike[str] | pd.DataFrame,
    *,
    x: str | None = None,
    y: str | None = None,
    color: str | None = None,
    facet: str | None = None,
    kind: str | None = None,
    logx: bool = False,
    logy: bool = False,
    logc: bool = False,
) -> Explorer:
    """Explore the results of a bundle (or a results table) interactively.

    Parameters
    ----------
    data
        A bundle, its path, or a results DataFrame (e.g. a selection).
    x, y, color, facet
        Initial columns (defaults suit the scan: a line plot for 1-D scans,
        a heatmap for 2-D ones, lines with colour and sliders beyond).
    kind
        ``"points"``, ``"lines"`` or ``"heatmap"``.
    logx, logy, logc
        Logarithmic x, y and colour scales.

    Returns
    -------
    Explorer
        Displays itself as the last expression of a cell; ``.selection`` and
        ``.picked`` give the shown and the clicked jobs as DataFrames.

    Examples
    --------
    >>> ex = wb.explore("scans/first", logy=True)   # doctest: +SKIP
    >>> ex                                         # doctest: +SKIP
    >>> ex.selection.describe()                    # doctest: +SKIP
    """
    import pandas as pd

    bundle = None
    if isinstance(data, pd.DataFrame):
        df = data
    else:
        from ..bundle import open_bundle
        from ..results import results

        bundle = open_bundle(data)
        df = results(bundle)
    return Explorer(df, bundle=bundle, x=x, y=y, color=color, facet=facet, kind=kind, logx=logx, logy=logy, logc=logc)

