"""Sampling designs (Sobol, Halton, Latin hypercube, uniform, tables) and adaptive axes as value sources."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from workbench.bundle import create, open_bundle
from workbench.cli import main
from workbench.designs import Adaptive, DesignColumn, design_from_text
from workbench.errors import ParameterError, ScanError
from workbench.sources import source_from_dict, source_from_text

DEMO = wb.get_job_type("demo")


@pytest.mark.parametrize("make", [wb.sobol, wb.halton, wb.latin_hypercube, wb.uniform])
def test_designs_are_reproducible_from_their_seed_and_stay_within_bounds(make):
    d = make(n=64, seed=7, drive_freq=(0.5, 1.5), damping=(1e-3, 1.0, "log"))
    again = make(n=64, seed=7, drive_freq=(0.5, 1.5), damping=(1e-3, 1.0, "log"))
    other = make(n=64, seed=8, drive_freq=(0.5, 1.5), damping=(1e-3, 1.0, "log"))
    assert d.points.shape == (64, 2)
    assert np.array_equal(d.points, again.points)
    assert not np.array_equal(d.points, other.points)
    f, z = d.points.T
    assert f.min() >= 0.5 and f.max() <= 1.5
    assert z.min() >= 1e-3 and z.max() <= 1.0
    # log scale: about as many points in each decade
    counts = np.histogram(np.log10(z), bins=3, range=(-3, 0))[0]
    assert counts.min() >= 10


def test_latin_hypercube_puts_one_point_in_each_slice_of_every_range():
    d = wb.latin_hypercube(n=50, seed=3, a=(0, 1), b=(-5, 5))
    for col, (lo, hi) in zip(d.points.T, [(0, 1), (-5, 5)]):
        slices = np.floor((col - lo) / (hi - lo) * 50).astype(int)
        assert sorted(slices) == list(range(50))


def test_a_design_without_a_seed_draws_one_and_records_it():
    d = wb.sobol(n=8, x=(0, 1))
    assert isinstance(d.seed, int)
    assert np.array_equal(wb.sobol(n=8, seed=d.seed, x=(0, 1)).points, d.points)


def test_a_design_is_one_zip_group_crossed_with_other_axes(tmp_path):
    d = wb.sobol(n=16, seed=1, drive_freq=(0.5, 1.5), damping=(0.05, 0.2))
    s = wb.scan("demo", d, force=[1.0, 2.0])
    assert len(s) == 32
    assert s.zip == (("drive_freq", "damping"),)
    pts = list(s.points())
    assert {(p["drive_freq"], p["damping"]) for p in pts} == {tuple(r) for r in d.points.tolist()}
    b = create(s, tmp_path / "sobol")
    again = open_bundle(tmp_path / "sobol").scan
    assert again == s
    assert list(again.points()) == pts
    text = (tmp_path / "sobol" / "parameters.txt").read_text()
    assert 'sobol(n=16, seed=1, drive_freq=(0.5, 1.5), damping=(0.05, 0.2))' in text
    assert b.info["scan"]["sources"]["damping"]["design"]["seed"] == 1


def test_counts_are_known_and_too_many_points_are_refused_before_drawing():
    assert len(wb.halton(n=1000, seed=1, x=(0, 1))) == 1000
    with pytest.raises(ScanError, match="n = 100,000,000 points"):
        wb.sobol(n=10**8, seed=1, x=(0, 1))


@pytest.mark.parametrize(
    ("ranges", "match"),
    [
        ({"x": (1.0, 1.0)}, r"x: bounds \(1.0, 1.0\) are not increasing"),
        ({"x": (2.0, 1.0)}, "not increasing"),
        ({"x": (0.0, float("inf"))}, "x: the upper bound = inf is not finite"),
        ({"x": (float("nan"), 1.0)}, "not finite"),
        ({"x": (0.0, 1.0, "log")}, "a log scale needs positive bounds"),
        ({"x": (0.0, 1.0, "cubic")}, "scale 'cubic' is unknown"),
        ({"x": 3.0}, "is not a range"),
        ({}, "needs at least one parameter"),
    ],
)
def test_bad_bounds_are_refused_with_the_value_and_the_fix(ranges, match):
    with pytest.raises(ScanError, match=match):
        wb.sobol(n=4, seed=1, **ranges)


def test_a_design_over_a_parameter_that_is_not_continuous_or_out_of_range_is_refused():
    with pytest.raises(ScanError, match="periods is a int parameter.*continuous"):
        wb.scan("demo", wb.sobol(n=4, seed=1, periods=(10, 20)))
    with pytest.raises(ScanError, match="damping: the bound -1.0 .* is outside the parameter's range"):
        wb.scan("demo", wb.sobol(n=4, seed=1, damping=(-1.0, 1.0)))
    with pytest.raises(ScanError, match="given both by a design and by name"):
        wb.scan("demo", wb.sobol(n=4, seed=1, damping=(0.1, 1.0)), damping=0.2)


def test_a_table_of_points_from_a_dataframe_or_a_csv(tmp_path):
    df = pd.DataFrame({"drive_freq": [0.5, 0.9, 1.1], "damping": [0.1, 0.2, 0.05]})
    s = wb.scan("demo", wb.table(df))
    assert [(p["drive_freq"], p["damping"]) for p in s.points()] == list(zip(df.drive_freq, df.damping))
    df.to_csv(tmp_path / "pts.csv", index=False)
    s2 = wb.scan("demo", wb.table(tmp_path / "pts.csv"))
    assert list(s2.points()) == list(s.points())
    create(s2, tmp_path / "b")
    (tmp_path / "pts.csv").unlink()  # the bundle keeps the values
    assert open_bundle(tmp_path / "b").scan == s2
    with pytest.raises(ScanError, match=r"no column\(s\) \['force'\]"):
        wb.table(df, columns=["force"])
    with pytest.raises(ScanError, match="Cannot read the table"):
        wb.table(tmp_path / "missing.csv")


def test_adaptive_axes_start_at_their_bounds_and_round_trip():
    s = wb.scan("demo", drive_freq=wb.adaptive(0.5, 1.5), damping=[0.01, 0.05])
    assert s.values("drive_freq") == (0.5, 1.5)
    assert len(s) == 4
    src = s.sources["drive_freq"]
    assert source_from_dict(src.to_dict()) == src
    with pytest.raises(ScanError, match="not increasing"):
        wb.adaptive(1.5, 0.5)
    with pytest.raises(ScanError, match="periods is a int parameter"):
        wb.scan("demo", periods=wb.adaptive(10, 20))


def test_designs_and_adaptive_axes_from_text_are_read_without_eval():
    p = DEMO.param("drive_freq")
    assert source_from_text(p, "adaptive(0.5, 1.5)") == Adaptive(0.5, 1.5)
    col = source_from_text(p, "sobol(8, 0.5, 1.5, seed=2)")
    assert isinstance(col, DesignColumn) and col.design.seed == 2 and len(col.values(p)) == 8
    d = design_from_text('halton(16, seed=3, drive_freq=(0.5, 1.5), damping=(1e-3, 2*0.5, "log"))')
    assert d.method == "halton" and d.bounds[1].hi == 1.0 and d.bounds[1].scale == "log"
    with pytest.raises(ParameterError, match="not allowed"):
        source_from_text(p, "adaptive(__import__('os').getcwd(), 1)")
    with pytest.raises(ParameterError, match="drive_freq"):
        source_from_text(p, "sobol(8, 0.5)")


def test_the_command_line_creates_a_bundle_from_a_joint_design(tmp_path, capsys):
    rc = main([
        "create", "demo", str(tmp_path / "b"), "--yes",
        "--design", 'latin_hypercube(12, seed=5, drive_freq=(0.5, 1.5), damping=(0.01, 1, "log"))',
        "--set", "force=[1, 2]",
    ])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    b = open_bundle(tmp_path / "b")
    assert b.count == 24
    assert b.scan.sources["damping"].design.seed == 5
