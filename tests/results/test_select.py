"""Selections, neighbours and cuts of an N-D scan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.bundle import create
from workbench.errors import ParameterError
from workbench.jobtypes.demo import steady_state
from workbench.results import results
from workbench.scan import scan as make_scan
from workbench.select import dims_of, grid, line, neighbours, pivot, sel
from workbench.sources import Linspace


@pytest.fixture
def cube(tmp_path, fake):
    """A 3-D scan: 6 drive frequencies x 3 dampings x 2 forces, all done."""
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 6), damping=[0.05, 0.1, 0.2], force=[1.0, 2.0])
    b = create(s, tmp_path / "cube")
    fake(b, b.job_ids)
    return b


def test_conditions_read_like_the_science(cube):
    df = results(cube)
    assert dims_of(df) == [("drive_freq",), ("damping",), ("force",)]
    got = sel(df, damping=0.1, drive_freq=(0.7, 1.1))  # 0.7 and 1.1 are linspace values, not exact floats
    assert sorted(got["drive_freq"].round(6).unique()) == [0.7, 0.9, 1.1]
    assert len(got) == 3 * 2 and (got["damping"] == 0.1).all()
    assert len(sel(df, damping=[0.05, 0.2], force=2.0)) == 12
    assert len(sel(df, drive_freq=(None, 0.9))) == 3 * 6
    assert len(sel(df, drive_freq=slice(1.3, None))) == 2 * 6
    assert len(sel(df, amplitude=lambda a: a > 5)) == (df["amplitude"] > 5).sum()
    assert len(sel(df, status="completed")) == 36
    assert sel(df, damping=0.1).attrs["workbench"]["dims"] == df.attrs["workbench"]["dims"]
    assert len(sel(cube.path, force=1.0)) == 18  # a bundle path works too


def test_bad_conditions_say_what_to_do(cube):
    df = results(cube)
    with pytest.raises(ParameterError, match="no column 'dampnig'.*damping"):
        sel(df, dampnig=0.1)
    with pytest.raises(ParameterError, match="a tuple is a range"):
        sel(df, damping=(0.05, 0.1, 0.2))


def test_neighbours_along_one_axis(cube):
    df = results(cube)
    job = sel(df, drive_freq=0.9, damping=0.1, force=2.0).iloc[0]
    nb = neighbours(df, job["job_id"], "drive_freq", n=2)
    assert list(nb["offset"]) == [-2, -1, 0, 1, 2]
    np.testing.assert_allclose(nb["drive_freq"], [0.5, 0.7, 0.9, 1.1, 1.3])
    assert (nb["damping"] == 0.1).all() and (nb["force"] == 2.0).all()
    edge = neighbours(df, int(sel(df, drive_freq=0.5, damping=0.05, force=1.0)["index"].iloc[0]), "damping")
    assert list(edge["offset"]) == [0, 1] and list(edge["damping"]) == [0.05, 0.1]
    with pytest.raises(ParameterError, match="not a scanned dimension"):
        neighbours(df, job["job_id"], "periods")


def test_a_1d_cut_is_sorted_and_pinned(cube):
    df = results(cube)
    cut = line(df, "drive_freq", damping=0.2, force=1.0)
    assert len(cut) == 6 and cut["drive_freq"].is_monotonic_increasing
    expect = [steady_state(w, 0.2, 1.0)[0] for w in cut["drive_freq"]]
    np.testing.assert_allclose(cut["amplitude"], expect)
    with pytest.raises(ParameterError, match=r"force still takes 2 values here \(1.0, 2.0\); pin it"):
        line(df, "drive_freq", damping=0.2)


def test_a_2d_cut_as_a_grid_and_a_pivot(cube):
    df = results(cube)
    g = grid(df, "amplitude", ("damping", "drive_freq"), force=2.0)
    assert g.dims == ("damping", "drive_freq") and g.shape == (3, 6)
    np.testing.assert_allclose(g.coords["damping"], [0.05, 0.1, 0.2])
    for i, z in enumerate(g.coords["damping"]):
        for j, w in enumerate(g.coords["drive_freq"]):
            assert g.values[i, j] == pytest.approx(steady_state(w, z, 2.0)[0])
            assert df.set_index("job_id").loc[g.job_ids[i, j], "drive_freq"] == w
    p = pivot(df, "amplitude", index="damping", columns="drive_freq", force=2.0)
    assert isinstance(p, pd.DataFrame) and p.shape == (3, 6) and p.index.name == "damping"
    np.testing.assert_allclose(p.to_numpy(), g.values)
    row = g.sel(damping=0.1)
    assert row.dims == ("drive_freq",) and row.fixed == {"force": 2.0, "damping": 0.1}
    assert g.sel(damping=0.1, drive_freq=1.5) == pytest.approx(steady_state(1.5, 0.1, 2.0)[0])
    assert isinstance(row.to_pandas(), pd.Series)
    assert np.asarray(g).shape == (3, 6)


def test_missing_results_are_holes_in_the_grid(tmp_path, fake):
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 4), damping=[0.05, 0.1])
    b = create(s, tmp_path / "b")
    fake(b, b.job_ids[:5])
    g = grid(b, "amplitude", ("damping", "drive_freq"))
    assert np.isnan(g.values).sum() == 3 and (g.job_ids != "").all()


def test_zipped_axes_are_one_dimension(tmp_path, fake):
    s = make_scan("demo", drive_freq=[0.8, 1.0, 1.2], periods=[60, 80, 100], damping=[0.1, 0.2], zip=[("drive_freq", "periods")])
    b = create(s, tmp_path / "z")
    fake(b, b.job_ids)
    df = results(b)
    assert dims_of(df) == [("drive_freq", "periods"), ("damping",)]
    g = grid(df, "amplitude", "drive_freq", damping=0.1)
    assert g.shape == (3,) and list(g.coords["periods"]) == [60, 80, 100]
    nb = neighbours(df, df["job_id"].iloc[0], "periods")
    assert list(nb["drive_freq"]) == [0.8, 1.0]
