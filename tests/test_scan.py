from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest
import wbtest_jobs

from workbench.errors import ParameterError, ScanError
from workbench.scan import MAX_POINTS, Scan, point_id, scan
from workbench.sources import Expr, Linspace, Source, Value, Values

JT = wbtest_jobs.counting


def test_expansion_order_is_a_product_with_the_first_parameter_slowest():
    s = scan(JT, x=[1, 2, 3], mode=["a", "b"])
    assert len(s) == 6 and s.shape == (3, 2)
    got = [(p["x"], p["mode"]) for p in s.points()]
    assert got == list(itertools.product([1, 2, 3], ["a", "b"]))
    # Random access agrees with iteration, and negative indices count from the end.
    assert [s.point(i) for i in range(6)] == list(s.points())
    assert s.point(-1) == {"x": 3, "mode": "b", "fail_on": -1, "sleep": 0.0}
    with pytest.raises(IndexError):
        s.point(6)


def test_zip_pairs_axes_and_counts_as_one_dimension():
    s = scan(JT, x=[1, 2, 3], fail_on=[7, 8, 9], mode=["a", "b"], zip=[("x", "fail_on")])
    assert len(s) == 6 and s.shape == (3, 2)
    assert [d.names for d in s.axes] == [("x", "fail_on"), ("mode",)]
    assert [(p["x"], p["fail_on"], p["mode"]) for p in s.points()][:3] == [(1, 7, "a"), (1, 7, "b"), (2, 8, "a")]


def test_zip_of_unequal_lengths_names_both_axes_and_lengths():
    with pytest.raises(ScanError, match=r"Zipped axes x and fail_on have different lengths \(x: 3 values, fail_on: 2 values\)"):
        scan(JT, x=[1, 2, 3], fail_on=[7, 8], zip=[("x", "fail_on")])
    with pytest.raises(ScanError, match="more than one zip group"):
        scan(JT, x=[1, 2], fail_on=[7, 8], mode=["a", "b"], zip=[("x", "fail_on"), ("x", "mode")])


def test_huge_scans_are_counted_without_materialising_points():
    d = scan("demo", drive_freq=Linspace(0.5, 1.5, 1000), damping=Linspace(0.01, 1, 100), force=Linspace(1, 2, 100))
    assert len(d) == 10**7 and d.count == 10**7
    cost = d.cost
    # Cost uses only drive_freq and periods: 1000 evaluations stand for 10^7 jobs, exactly.
    assert cost.jobs == 10**7 and not cost.estimated
    per_freq = [d.job_type.estimate({**d.point(0), "drive_freq": f}).seconds for f in d.values("drive_freq")]
    assert cost.core_seconds == pytest.approx(sum(per_freq) * 10**4, rel=1e-12)
    assert d.point(10**7 - 1)["force"] == 2.0


def test_a_scan_with_too_many_points_is_refused_at_once():
    with pytest.raises(ScanError, match=r"1,000,000,000,000 points .* at most 100,000,000"):
        scan("demo", drive_freq=Linspace(0.5, 1.5, 10**6), damping=Linspace(0.01, 1, 10**6))
    assert MAX_POINTS == 10**8


def test_cost_is_sampled_when_the_relevant_axes_are_huge():
    s = scan(JT, x=np.arange(-10_000, 10_001))  # more combinations than are costed exactly
    exact = sum(1.0 + x % 3 for x in range(-10_000, 10_001))
    assert s.cost.estimated
    assert s.cost.core_seconds == pytest.approx(exact, rel=0.05)
    assert s.cost.max_memory_mb == 106


def test_checks_run_at_the_corners_of_the_scan():
    with pytest.raises(ScanError, match="x = 2000 is above 1000"):
        scan(JT, x=[5, 2000, 7]).raise_for_errors()
    s = scan(JT, x=[1, 13, 2])
    assert [w.message for w in s.warnings] == ["x = 13 is unlucky"]
    assert s.errors == ()


def test_repeated_values_and_non_scannable_parameters_are_refused():
    with pytest.raises(ScanError, match=r"x repeats the value 2 \(positions 2 and 3\)"):
        scan(JT, x=[1, 2, 2])
    with pytest.raises(ScanError, match="sleep cannot be scanned"):
        scan(JT, sleep=[0.0, 0.1])
    with pytest.raises(ParameterError, match="has no parameter 'y'"):
        scan(JT, y=[1])


def test_bad_values_name_the_parameter():
    with pytest.raises(ParameterError, match=r"drive_freq: value 1 of 3 from \[-1, 1, 2\] is invalid"):
        scan("demo", drive_freq=[-1, 1, 2])
    with pytest.raises(ParameterError, match=r"damping: \"np.load\('x'\)\": calling 'np.load' is not allowed"):
        scan("demo", damping=Expr("np.load('x')"))


def test_round_trip_through_dict():
    s = scan("demo", drive_freq=Linspace(0.5, 1.5, 41), damping=Values((0.05, 0.1)), zip=())
    again = Scan.from_dict(s.to_dict())
    assert again == s and list(again.points()) == list(s.points())
    changed = s.replace(damping=[0.3])
    assert len(changed) == 41 and s.values("damping") == (0.05, 0.1)
    assert changed.sources["damping"] == Values((0.3,))


def test_scan_normalises_what_it_is_given():
    # scan(), replace() and from_dict() hand plain values and any iterables of groups to Scan as they are.
    s = scan("demo", drive_freq=[0.5, 1.0], damping=np.array([0.1, 0.2]), zip=iter([["drive_freq", "damping"]]))
    assert s.zip == (("drive_freq", "damping"),) and s.sources["damping"] == Values((0.1, 0.2))
    assert all(isinstance(src, Source) for src in s.sources.values())
    again = Scan.from_dict(json.loads(json.dumps(s.to_dict())))  # groups come back as lists
    assert again.zip == s.zip and again == s
    other = s.replace(zip=[], force=2.0)
    assert other.zip == () and other.sources["force"] == Value(2.0) and len(other) == 4


# Golden ids: a change here changes every bundle's job ids. Never update them lightly.
GOLDEN = [
    ("demo", {"drive_freq": 1.0, "damping": 0.1, "force": 1.0, "periods": 60, "rtol": 1e-08}, "e3c3b81fa718c0e7"),
    ("wbtest-counting", {"x": 3, "mode": "b", "fail_on": -1, "sleep": 0.0}, "59fe7f8f18135557"),
    ("tdse", {"intensity": 1e14, "wavelength": 800.0, "note": 'é "q"'}, "166e79e3b07efcdd"),
]


@pytest.mark.parametrize("job_type, point, expected", GOLDEN)
def test_point_ids_are_golden(job_type, point, expected):
    assert point_id(job_type, point) == expected
    # Key order does not matter; the value of every key does.
    assert point_id(job_type, dict(reversed(list(point.items())))) == expected
    first = next(iter(point))
    assert point_id(job_type, {**point, first: "other"}) != expected


def test_point_ids_are_the_same_in_another_process():
    code = (
        "from workbench.scan import point_id;"
        "print(point_id('demo', {'drive_freq': 1.0, 'damping': 0.1, 'force': 1.0, 'periods': 60, 'rtol': 1e-08}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == GOLDEN[0][2]
    assert GOLDEN[0][2] == hashlib.sha256(
        b'{"job_type":"demo","params":{"damping":0.1,"drive_freq":1.0,"force":1.0,"periods":60,"rtol":1e-08}}'
    ).hexdigest()[:16]


def test_a_long_axis_gives_the_same_points_and_ids_as_plain_numbers():
    """Long axes are kept as arrays inside the scan; the points, ids and checks do not change."""
    s = scan(JT, x=np.arange(-1500, 1500), mode=["a", "b"])
    xs = range(-1500, 1500)
    expected = [{**JT.defaults(), "x": x, "mode": m} for x in xs for m in ("a", "b")]
    got = list(s.points())
    assert got == expected and all(type(p["x"]) is int for p in got[:5])
    assert [s.point_id(p) for p in got[:3]] == [point_id(JT.name, p) for p in expected[:3]]
    assert s.point(2 * 1500 + 1) == {**JT.defaults(), "x": 0, "mode": "b"}
    assert s.dimensions[0].values[3] == (-1497,) and s.dimensions[0].values[:2] == ((-1500,), (-1499,))
    # The corners come from the array's extremes: 13 is not at a corner, -1500 and 1499 are.
    assert [e.message for e in s.errors] == ["x = 1499 is above 1000, where this job type is not valid"]


def test_a_repeat_in_a_long_axis_is_found_and_named():
    vals = list(range(-10_000, 10_001))
    vals[15_000] = vals[17]
    with pytest.raises(ScanError, match=r"x repeats the value -9983 \(positions 18 and 15001\)"):
        scan(JT, x=vals)
    with pytest.raises(ScanError, match=r"x and fail_on repeats the value \(0, 2\) \(positions 1 and 1501\)"):
        scan(JT, x=[*range(1500), *range(1500)], fail_on=[*([2] * 1500), *([2] * 1500)], zip=[("x", "fail_on")])


def test_zipped_long_axes_pair_element_by_element():
    s = scan(JT, x=np.arange(0, 2000), fail_on=np.arange(2000, 0, -1), zip=[("x", "fail_on")])
    assert len(s) == 2000 and s.shape == (2000,)
    assert s.point(5)["x"] == 5 and s.point(5)["fail_on"] == 1995
    assert s.dimensions[0].column("fail_on")[0] == 2000


def test_a_scan_and_its_cost_print_as_people_read_them():
    from workbench.sources import Geomspace

    s = scan("tdse", intensity=Geomspace(1e12, 1e14, 6), cycles=4)
    text = str(s)
    assert text.splitlines()[0] == "Scan of tdse: 6 jobs"
    assert "intensity [W/cm²]  6 values: 1e12, 2.512e12, …, 1e14 (geomspace)" in text
    assert "cycles = 4" in text and "100000000000000" not in text
    assert "<table>" in s._repr_html_() and "1e14" in s._repr_html_()
    cost = s.cost
    shown = str(cost)
    assert shown.startswith("6 jobs, about ") and "core-seconds" in shown and "per job up to" in shown
    assert "0.000" not in shown and "core_seconds=" not in shown
    assert "e+" not in repr(cost) and len(repr(cost)) < 120
    assert "per job" in cost._repr_html_()
