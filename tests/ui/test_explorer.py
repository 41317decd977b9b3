"""The explorer, headless: set the widgets' values, check what the figures draw, click points, read the selection."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from wbtest_widgets import open_widgets

from workbench.bundle import create
from workbench.errors import ParameterError
from workbench.job import write_result
from workbench.jobtypes.demo import steady_state
from workbench.results import load_arrays, results
from workbench.scan import scan as make_scan
from workbench.select import grid, sel
from workbench.sources import Linspace
from workbench.ui.explorer import Explorer, ExplorerModel, explore


def _fake(bundle: Any, job_ids: list[str]) -> None:
    for jid in job_ids:
        inp = bundle.input(jid)
        p = inp["params"]
        amp, phase = steady_state(p["drive_freq"], p["damping"], p["force"])
        t = np.linspace(0, 2 * math.pi, 64, endpoint=False)
        out = {"amplitude": amp, "phase": phase, "amplitude_exact": amp, "phase_exact": phase, "trajectory": amp * np.cos(t - phase)}
        write_result(bundle.path / "outputs", inp, out, {"runtime": 0.1, "host": "h"})


@pytest.fixture
def square(tmp_path: Path) -> Any:
    """2-D: 7 drive frequencies x 3 dampings, all done but two."""
    b = create(make_scan("demo", drive_freq=Linspace(0.5, 1.5, 7), damping=[0.05, 0.1, 0.2]), tmp_path / "square")
    _fake(b, b.job_ids[:-2])
    return b


@pytest.fixture
def cube(tmp_path: Path) -> Any:
    """3-D: 5 drive frequencies x 3 dampings x 2 forces, all done."""
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 5), damping=[0.05, 0.1, 0.2], force=[1.0, 3.0])
    b = create(s, tmp_path / "cube")
    _fake(b, b.job_ids)
    return b


def _click(ex: Explorer, x: float, y: float, ax_index: int = 0, key: str | None = None) -> None:
    """A real mouse click at data coordinates (x, y): matplotlib turns it into pick and press events."""
    from matplotlib.backend_bases import MouseButton, MouseEvent

    ex.figure.canvas.draw()
    ax = ex.figure.axes[ax_index]
    px, py = ax.transData.transform((x, y))
    MouseEvent("button_press_event", ex.figure.canvas, px, py, button=MouseButton.LEFT, key=key)._process()


def _lines(ex: Explorer, ax_index: int = 0) -> list[Any]:
    return [a for a in ex._artists[ax_index]["traces"]]


def test_defaults_follow_the_shape_of_the_scan(tmp_path: Path, square: Any, cube: Any) -> None:
    one = create(make_scan("demo", drive_freq=Linspace(0.5, 1.5, 4)), tmp_path / "one")
    _fake(one, one.job_ids)
    m = explore(one).model
    assert (m.kind, m.x, m.y, m.color) == ("lines", "drive_freq", "amplitude", None)
    m = explore(square).model
    assert (m.kind, m.x, m.y, m.color) == ("heatmap", "drive_freq", "damping", "amplitude")
    ex = explore(cube)
    m = ex.model
    assert (m.kind, m.x, m.y, m.color) == ("lines", "drive_freq", "amplitude", "force")
    assert m.hidden_dims == [("damping",)]
    assert [s.description for s in ex.slider_box.children] == ["damping"]


def test_the_heatmap_shows_the_grid_and_holes(square: Any) -> None:
    ex = explore(square)
    mesh = ex._artists[0]["mesh"]
    expect = grid(results(square), "amplitude", ("damping", "drive_freq"))
    got = np.ma.filled(mesh.get_array(), np.nan).reshape(expect.shape)
    np.testing.assert_allclose(got, expect.values, equal_nan=True)
    assert np.isnan(got).sum() == 2
    assert "19 points" in ex.message.value
    ex.logc.value = True
    from matplotlib.colors import LogNorm

    assert isinstance(ex._artists[0]["mesh"].norm, LogNorm)


def test_lines_per_colour_value_carry_the_data(square: Any) -> None:
    ex = explore(square)
    ex.kind.value = "lines"
    ex.y.value = "amplitude"
    ex.color.value = "damping"
    df = results(square)
    lines = _lines(ex)
    assert [ln.get_label() for ln in lines] == ["damping = 0.05", "damping = 0.1", "damping = 0.2"]
    for ln, z in zip(lines, (0.05, 0.1, 0.2)):
        part = sel(df, damping=z, status="completed").sort_values("drive_freq")
        np.testing.assert_allclose(ln.get_xdata(), part["drive_freq"])
        np.testing.assert_allclose(ln.get_ydata(), part["amplitude"])
        assert ln.get_linestyle() == "-"
    ex.kind.value = "points"
    assert all(ln.get_linestyle() == "None" for ln in _lines(ex))
    ex.logy.value = True
    assert ex.figure.axes[0].get_yscale() == "log"


def test_sliders_pin_hidden_dimensions_in_place(cube: Any) -> None:
    ex = explore(cube)
    df = results(cube)
    before = _lines(ex)
    draws = []
    ex.canvas.draw_idle = lambda: draws.append(1)  # type: ignore[method-assign]
    ex.sliders["damping"].value = 0.2
    after = _lines(ex)
    assert after == before, "same layout: artists are updated with set_data, not rebuilt"
    assert draws, "the canvas is asked to redraw"
    for ln, force in zip(after, (1.0, 3.0)):
        part = sel(df, damping=0.2, force=force).sort_values("drive_freq")
        np.testing.assert_allclose(ln.get_ydata(), part["amplitude"])
    assert len(ex.selection) == 10 and (ex.selection["damping"] == 0.2).all()
    assert "pinned: damping = 0.2" in ex.message.value
    # Putting damping on the colour frees it: no slider, every damping shown.
    ex.color.value = "damping"
    assert [s.description for s in ex.slider_box.children] == ["force"]
    assert len(ex.selection) == 15 and (ex.selection["force"] == 1.0).all()


def test_facets_make_one_panel_per_value(cube: Any) -> None:
    ex = explore(cube)
    ex.facet.value = "force"
    assert len(ex._artists) == 2
    assert [a["ax"].get_title() for a in ex._artists] == ["force = 1", "force = 3"]
    assert len(ex.selection) == 10  # damping pinned, both forces


def test_filters_narrow_the_selection(square: Any) -> None:
    ex = explore(square, kind="points", x="drive_freq", y="amplitude", color="damping")
    assert len(ex.selection) == 21
    ex.status_filter.value = ["completed"]
    assert len(ex.selection) == 19 and (ex.selection["status"] == "completed").all()
    ex.add_filter("amplitude", 2.0, None)
    sel_ = ex.selection
    assert len(sel_) and (sel_["amplitude"] >= 2.0).all()
    shown = sum(len(ln.get_xdata()) for ln in _lines(ex))
    assert shown == len(sel_)
    col, rng, drop = ex._filter_rows[0]
    drop.click()
    assert len(ex.selection) == 19


def test_clicking_a_point_opens_that_job(square: Any) -> None:
    ex = explore(square, kind="points", x="drive_freq", y="amplitude", color="damping")
    df = results(square)
    target = sel(df, drive_freq=1.0, damping=0.1).iloc[0]
    _click(ex, target["drive_freq"], target["amplitude"])
    assert ex.job_id == target["job_id"]
    assert list(ex.picked["job_id"]) == [target["job_id"]]
    (line, *_) = ex.job_figure.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), load_arrays(square, target["job_id"])["trajectory"])
    assert target["job_id"] in ex.job_html.value and "amplitude" in ex.job_html.value
    mark = ex._artists[0]["mark"]
    np.testing.assert_allclose(mark.get_xydata(), [[target["drive_freq"], target["amplitude"]]])
    # Shift-click adds a second job.
    other = sel(df, drive_freq=0.5, damping=0.2).iloc[0]
    _click(ex, other["drive_freq"], other["amplitude"], key="shift")
    assert list(ex.picked["job_id"]) == [target["job_id"], other["job_id"]]


def test_clicking_a_heatmap_cell_opens_its_job(square: Any) -> None:
    ex = explore(square)
    df = results(square)
    target = sel(df, drive_freq=1.0 + 1 / 6, damping=0.1).iloc[0]
    _click(ex, target["drive_freq"] + 0.02, 0.1)
    assert ex.job_id == target["job_id"]


def test_a_job_without_result_shows_why(tmp_path: Path) -> None:
    b = create(make_scan("demo", drive_freq=[0.5, 1.0]), tmp_path / "b")
    _fake(b, b.job_ids[:1])
    b.result_path(b.job_ids[1]).write_text("{ truncated")
    ex = explore(b, kind="points", y="drive_freq")
    out = ex.show_job(b.job_ids[1])
    assert "truncated or not JSON" in out["error"] and "truncated" in ex.job_html.value
    assert "bad" in ex.job_html.value


def test_reload_picks_up_new_results(square: Any) -> None:
    ex = explore(square)
    assert (ex.model.df["status"] == "completed").sum() == 19
    _fake(square, square.job_ids[-2:])
    ex.reload()
    assert (ex.model.df["status"] == "completed").sum() == 21
    mesh = ex._artists[0]["mesh"]
    expected = grid(results(square), "amplitude", ("damping", "drive_freq")).values
    assert mesh.get_array().shape == expected.shape == (3, 7) and mesh.get_array().count() == 21
    np.testing.assert_allclose(np.ma.filled(mesh.get_array(), np.nan), expected)
    assert "21 points" in ex.message.value


def test_reload_keeps_its_results_store_open(square: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    results_module = importlib.import_module("workbench.results")  # wb.results is the function
    ex = explore(square)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reload opened the bundle's results from scratch")

    monkeypatch.setattr(results_module, "results", refuse)
    ex.reload()
    store = ex._store
    _fake(square, square.job_ids[-1:])
    ex.reload()
    assert ex._store is store and (ex.model.df["status"] == "completed").sum() == 20
    ex.close()


def test_a_selection_can_be_explored_again(cube: Any) -> None:
    df = results(cube)
    ex = explore(sel(df, force=3.0))
    assert ex.model.bundle == str(cube.path)  # from the table's attrs: clicks still load jobs
    assert ex.model.dims == [("drive_freq",), ("damping",)] and ex.model.kind == "heatmap"
    assert len(ex.selection) == 15
    ex.show_job(ex.selection["job_id"].iloc[0])
    assert ex.job_figure.axes


def test_a_zip_partner_is_pinned_with_the_tolerance_of_the_selection(tmp_path: Path) -> None:
    # linspace(0, 1, 11) makes 0.30000000000000004, which the user knows as 0.3
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 11), force=Linspace(0.0, 1.0, 11), damping=[0.05, 0.1], zip=[("drive_freq", "force")])
    b = create(s, tmp_path / "zipped")
    _fake(b, b.job_ids)
    m = ExplorerModel(results(b), x="damping", y="amplitude", kind="lines")
    assert m.hidden_dims == [("drive_freq", "force")]
    m.pin("force", 0.3)
    assert m.pins["drive_freq"] == pytest.approx(0.8)
    shown = m.visible()
    assert len(shown) == 2 and np.allclose(shown["force"], 0.3)


def test_pins_and_filters_select_as_sel_does(cube: Any) -> None:
    df = results(cube)
    m = ExplorerModel(df)  # lines over drive_freq, coloured by force; damping pinned
    assert [d[0] for d in m.hidden_dims] == ["damping"]
    m.pin("damping", 0.1)
    m.status = {"completed"}
    m.filter("amplitude", 1.0, None)
    from pandas.testing import assert_frame_equal

    assert_frame_equal(m.visible(), sel(df, damping=0.1, status={"completed"}, amplitude=(1.0, None)))
    m.filter("damping", 0.15, None)  # a range on the pinned column too: both apply
    assert len(m.visible()) == 0


def test_one_update_selects_the_visible_jobs_once(square: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ex = explore(square, kind="points", x="drive_freq", y="amplitude", color="damping")
    ex.show_job(ex.selection["job_id"].iloc[0])  # a marked job: the mark checks it is visible
    calls = []
    visible = ExplorerModel.visible

    def counted(self: ExplorerModel) -> Any:
        calls.append(1)
        return visible(self)

    monkeypatch.setattr(ExplorerModel, "visible", counted)
    ex.kind.value = "lines"
    assert len(calls) == 1
    assert ex._artists[0]["mark"].get_xdata(), "the clicked job is still marked"


def test_closing_the_explorer_closes_every_widget_it_made(cube: Any) -> None:
    before = set(open_widgets())
    ex = explore(cube)
    ex.add_filter("amplitude", 1.0, None)
    ex.add_filter("phase")
    ex._filter_rows[1][2].click()  # a removed filter row is closed at once
    made = {k: v for k, v in open_widgets().items() if k not in before}
    assert ex.sliders["drive_freq"] in made.values() and ex.sliders["drive_freq"] not in ex.slider_box.children
    assert ex.canvas.toolbar in made.values() and ex.job_canvas.toolbar in made.values()
    open_now = [v for v in made.values() if v.comm is not None]
    ex.close()
    assert [v for v in open_now if v.comm is not None] == []
    assert [k for k in made if k in open_widgets()] == []


def test_bad_choices_say_which_columns_exist(square: Any) -> None:
    m = ExplorerModel(results(square))
    with pytest.raises(ParameterError, match="not a column.*drive_freq"):
        m.set(x="frequency")
    with pytest.raises(ParameterError, match="choose one of points, lines, heatmap"):
        m.set(kind="bars")
    m.set(kind="heatmap", y="amplitude")
    assert m.problem == "a heatmap needs two different scanned parameters as x and y"
    with pytest.raises(ParameterError, match="never takes the value"):
        m.pin("damping", 0.3)


def test_the_explorer_displays_as_a_widget(square: Any) -> None:
    ex = explore(square)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    ex.close()


def test_a_scan_without_results_yet_explores_once_they_come(tmp_path: Path) -> None:
    b = create(make_scan("demo", drive_freq=Linspace(0.5, 1.5, 4)), tmp_path / "empty")
    ex = explore(b)
    assert ex.model.y is None and ex.message.value == "<b>Nothing to draw:</b> choose x and y."
    _fake(b, b.job_ids)
    ex.reload()
    assert (ex.model.x, ex.model.y) == ("drive_freq", "amplitude") and ex.y.value == "amplitude"
    assert "4 points" in ex.message.value


# -- dead ends (issue 17) ---------------------------------------------------------------------
def test_a_heatmap_that_cannot_be_drawn_offers_the_fix_not_an_empty_chart(square: Any) -> None:
    ex = explore(square)
    ex.y.value = "amplitude"  # an output as y: no grid to colour
    assert ex.model.problem is not None
    assert ex.canvas.layout.display == "none"  # no empty axes with made-up ticks
    assert ex.message.value.count("a heatmap needs two different scanned parameters") == 1
    labels = [b.description for b in ex.fix_box.children]
    assert labels == ["heatmap of damping against drive_freq", "points of amplitude against drive_freq", "lines of amplitude against drive_freq"]
    ex.fix_box.children[1].click()
    assert ex.kind.value == "points" and ex.model.kind == "points" and ex.model.problem is None
    assert ex.canvas.layout.display == "" and not ex.fix_box.children
    assert ex.message.value == "7 points from 7 selected of 21 jobs; pinned: damping = 0.05"
    ex.kind.value = "heatmap"
    ex.fix_box.children[0].click()
    assert (ex.x.value, ex.y.value, ex.model.problem) == ("drive_freq", "damping", None)
    assert ex._artists[0]["mesh"] is not None


def test_hidden_dimensions_follow_the_job_shown_in_the_panel(cube: Any) -> None:
    ex = explore(cube)  # lines of amplitude against drive_freq, coloured by force; damping pinned at 0.05
    df = results(cube)
    target = sel(df, drive_freq=1.0, damping=0.2, force=3.0).iloc[0]
    ex.show_job(target["job_id"])
    # The job shown in the panel is on the plot: damping follows it, and its slider says so.
    assert ex.model.pins["damping"] == 0.2 and ex.sliders["damping"].value == 0.2
    assert target["job_id"] in set(ex.selection["job_id"])
    np.testing.assert_allclose(ex._artists[0]["mark"].get_xydata(), [[1.0, target["amplitude"]]])
    # Colour no longer by force: force becomes hidden, pinned where the job is (not at its first value).
    ex.color.value = "(none)"
    assert ex.model.pins["force"] == 3.0 and ex.sliders["force"].value == 3.0
    assert target["job_id"] in set(ex.selection["job_id"])
    assert len(ex._artists[0]["mark"].get_xydata()) == 1
    # x to damping: drive_freq is hidden now, pinned at the job's 1.0.
    ex.x.value = "damping"
    assert ex.model.pins["drive_freq"] == 1.0
    assert target["job_id"] in set(ex.selection["job_id"])


def test_the_jobs_filter_is_a_row_of_checkboxes(square: Any) -> None:
    import ipywidgets as W

    ex = explore(square)
    boxes = [c for c in ex.status_filter.children if isinstance(c, W.Checkbox)]
    states = [b.description for b in boxes]
    assert "completed" in states and len(states) == 2 and states == list(ex.status_filter.options)
    assert all(b.value for b in boxes)
    boxes[states.index("completed")].value = False
    assert "completed" not in ex.status_filter.value
    assert len(ex.selection) == 2 and (ex.selection["status"] != "completed").all()
    ex.status_filter.value = ["completed"]  # from Python too
    assert [b.value for b in boxes] == [s == "completed" for s in states] and len(ex.selection) == 19


def test_log_y_is_labelled_at_every_decade_and_inside_a_short_one(cube: Any) -> None:
    ex = explore(cube, logy=True)
    ex.figure.canvas.draw()
    ax = ex._artists[0]["ax"]
    lo, hi = ax.get_ylim()
    shown = [t.get_text() for t in [*ax.yaxis.get_majorticklabels(), *ax.yaxis.get_minorticklabels()]
             if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert len(shown) >= 4, (shown, lo, hi)  # not just the decades: 2x and 5x on this short axis
    assert not any("10^" in t or "mathdefault" in t or "e+" in t for t in shown), shown


def test_the_legend_and_axes_stay_clear_of_the_toolbar_strip(square: Any) -> None:
    from workbench.ui.explorer import _TOOLBAR_PX

    ex = explore(square, kind="lines", x="drive_freq", y="amplitude", color="damping")
    ex.figure.canvas.draw()
    renderer = ex.figure.canvas.get_renderer()
    top = ex.figure.bbox.height - _TOOLBAR_PX  # ipympl draws its toolbar over the figure's top strip
    ax = ex._artists[0]["ax"]
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= top + 0.5 and ax.get_window_extent(renderer).y1 <= top + 0.5
    assert legend.x0 >= ax.get_window_extent(renderer).x1  # beside the axes, not over the lines
