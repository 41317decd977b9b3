from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from workbench.errors import ParameterError, ScanError
from workbench.params import Param
from workbench.sources import (
    MAX_AXIS_VALUES,
    Arange,
    Expr,
    Geomspace,
    Linspace,
    Logspace,
    NumericValues,
    Value,
    Values,
    as_source,
    source_from_dict,
    source_from_text,
    spacing,
)

F = Param("f", "float", 1.0)
I = Param("i", "int", 1)  # noqa: E741


@pytest.mark.parametrize(
    "src, expected",
    [
        (Value(2.5), [2.5]),
        (Values((1, 2, 3)), [1.0, 2.0, 3.0]),
        (Linspace(0.5, 1.5, 5), np.linspace(0.5, 1.5, 5)),
        (Logspace(12, 14, 3), [1e12, 1e13, 1e14]),
        (Geomspace(1e-3, 1, 4), np.geomspace(1e-3, 1, 4)),
        (Arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]),
        (Expr("2*np.linspace(0, 1, 3)"), [0.0, 1.0, 2.0]),
        (Expr("[0.05, 0.1, 0.2]"), [0.05, 0.1, 0.2]),
    ],
)
def test_sources_make_numpy_values(src, expected):
    vals = src.values(F)
    np.testing.assert_allclose(vals, expected, rtol=1e-15)
    assert all(type(v) is float for v in vals)
    assert source_from_dict(src.to_dict()) == src


def test_int_arange_stays_int():
    assert Arange(0, 5, 2).values(I) == (0, 2, 4)


@pytest.mark.parametrize(
    "src, match",
    [
        (Linspace(0, 1, 10**12), "would make 1,000,000,000,000 values"),
        (Linspace(0, 1, 0), "makes no values"),
        (Linspace(0, 1, 2.5), "not a whole number"),
        (Arange(0, 1e12, 1e-3), "at most 10,000,000"),
        (Arange(0, 1, 0), "step is 0"),
        (Arange(1, 0, 1), "makes no values"),
        (Geomspace(0, 1, 3), "same sign and non-zero"),
        (Logspace(0, 400, 3), "overflows a float"),
        (Values(()), "list of values is empty"),
    ],
)
def test_bad_sources_are_refused_with_the_reason(src, match):
    with pytest.raises(ScanError, match=match):
        src.values(F)


@pytest.mark.parametrize("num", [float("inf"), float("-inf"), float("nan"), np.float64("inf"), np.float64("nan")])
@pytest.mark.parametrize("cls", [Linspace, Logspace, Geomspace])
def test_a_count_that_is_not_finite_is_a_scan_error_that_names_it(cls, num):
    # int(inf) raised a bare OverflowError and int(nan) a bare ValueError: a traceback on the command line.
    with pytest.raises(ScanError, match=rf"^f: num = {re.escape(repr(num))} is not a whole number; give a whole number of values\.$"):
        cls(0.5, 1.5, num).values(F)


def test_counts_are_whole_numbers_of_any_size():
    assert len(Linspace(0, 1, 3.0).values(F)) == len(Linspace(0, 1, np.int64(3)).values(F)) == 3
    with pytest.raises(ScanError, match=r"num = True is not a whole number"):
        Linspace(0, 1, True).values(F)
    with pytest.raises(ScanError, match=r"at most 10,000,000"):
        Linspace(0, 1, 10**400).values(F)
    with pytest.raises(ScanError, match=r"^f: arange\(-1e\+308, 1e\+308, 1e-300\) would make more than 10,000,000"):
        Arange(-1e308, 1e308, 1e-300).values(F)


def test_a_bad_value_names_the_parameter_and_position():
    with pytest.raises(ParameterError, match=r"i: value 2 of 3 from \[1, 2.5, 3\] is invalid: i = 2.5: is not a whole number"):
        Values((1, 2.5, 3)).values(I)


def test_hostile_expression_is_refused_at_the_parameter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError, match=r"f: \"__import__"):
        Expr("__import__('os').system('touch canary')").values(F)
    assert not (tmp_path / "canary").exists()


def test_as_source():
    assert as_source([1, 2]) == Values((1, 2))
    assert as_source(range(3)) == as_source((0, 1, 2)) == Values((0, 1, 2))
    assert as_source(NumericValues(np.arange(3.0))) == Values((0.0, 1.0, 2.0))
    assert as_source(np.array([1.0, 2.0])) == Values((1.0, 2.0))
    assert as_source(np.float64(3.0)) == Value(3.0)
    assert as_source("text") == Value("text")
    assert MAX_AXIS_VALUES == 10_000_000
    with pytest.raises(ScanError, match="shape"):
        as_source(np.zeros((2, 2)))


def test_long_axes_are_checked_as_strictly_as_short_ones():
    vals = list(range(5000))
    assert Values(tuple(vals)).values(I) == tuple(vals)
    bounded = Param("n", "int", 1, min=0, max=4998)
    with pytest.raises(ParameterError, match="n: value 5000 of 5000 .* is above the upper bound"):
        Values(tuple(vals)).values(bounded)
    with pytest.raises(ParameterError, match="value 3 of 4999 .* is not a whole number"):
        Values((1, 2, 2.5, *range(3, 4000), 4001.0, *range(4002, 5000))).values(I)
    floats = Linspace(0.0, 1.0, 2000).values(F)
    assert all(type(v) is float for v in floats) and floats[-1] == 1.0


def test_long_numeric_axes_behave_as_the_tuple_of_python_numbers_they_stand_for():
    """A long linspace/arange/expression axis is kept as an array, but every reader sees plain numbers."""
    import pickle

    from workbench.sources import NumericValues

    expected = tuple(np.linspace(0.5, 1.5, 5001).tolist())
    for src in (Linspace(0.5, 1.5, 5001), Expr("np.linspace(0.5, 1.5, 5001)"), Values(expected)):
        vals = src.values(F)
        assert isinstance(vals, NumericValues)
        assert vals == expected and expected == tuple(vals) and hash(vals) == hash(expected)
        assert len(vals) == 5001 and type(vals[0]) is float and vals[-1] == 1.5 and vals[1:3] == expected[1:3]
        assert list(vals) == list(expected) and np.asarray(vals).dtype == float
        assert pickle.loads(pickle.dumps(vals)) == vals
        with pytest.raises(ValueError):
            vals.array[0] = 9.0  # read-only: nobody changes a scan's values behind its back
    ints = Arange(0, 3000).values(I)
    assert ints == tuple(range(3000)) and type(ints[5]) is int and np.asarray(ints).dtype == np.int64
    # Whole floats for an int parameter become ints, as for short axes.
    assert Linspace(0, 2999, 3000).values(I) == tuple(range(3000))
    assert type(Linspace(0, 2999, 3000).values(I)[7]) is int


def test_long_array_axes_name_the_first_bad_value():
    with pytest.raises(ParameterError, match=r"value 3001 of 3001 from linspace\(0.0, 1.5, 3001\) is invalid.*above"):
        Linspace(0.0, 1.5, 3001).values(Param("p", "float", 0.5, min=0.0, max=1.4995))
    with pytest.raises(ParameterError, match=r"value 2 of 2000 .* is not a whole number"):
        Linspace(0, 1, 2000).values(I)
    with pytest.raises(ParameterError, match=r"value 2000 of 2000 .* is not finite"):
        Values((*np.linspace(0, 1, 1999).tolist(), float("inf"))).values(F)


def test_values_read_back_from_a_dict_are_python_scalars_in_a_tuple():
    src = source_from_dict({"kind": "list", "items": [np.float64(0.5), 1, "a"]})
    assert src == Values((0.5, 1, "a")) and type(src.items) is tuple and type(src.items[0]) is float
    assert source_from_dict(Values((1, 2)).to_dict()) == Values((1, 2))
    with pytest.raises(ScanError, match=r"Value source 'list' cannot be built from \{\}"):
        source_from_dict({"kind": "list"})


@pytest.mark.parametrize(
    "param, text, expected",
    [
        (F, " 2.5 ", Expr("2.5")),
        (F, "linspace(0, 1, 5)", Expr("linspace(0, 1, 5)")),
        (Param("s", "str", "a"), "hello", Value("hello")),
        (Param("s", "str", "a"), "'quoted'", Expr("'quoted'")),
        (Param("c", "choice", "x", choices=("x", "y")), "y", Value("y")),
        (Param("c", "choice", "x", choices=("x", "y")), "['x', 'y']", Expr("['x', 'y']")),
        (Param("c", "choice", 1, choices=(1, 2)), "2", Expr("2")),
        (Param("b", "bool", False), "Yes", Value(True)),
        (Param("b", "bool", False), "0", Value(False)),
        (Param("b", "bool", False), "[True, False]", Expr("[True, False]")),
    ],
)
def test_source_from_text(param, text, expected):
    assert source_from_text(param, text) == expected


def test_source_from_text_needs_some_text():
    with pytest.raises(ParameterError, match=r"^f: no value given; type a value or press Enter for the default\.$"):
        source_from_text(F, "   ")


def test_source_from_text_needs_nothing_of_the_command_line():
    code = "import sys, workbench.sources; assert 'workbench.cli' not in sys.modules and 'argparse' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize(
    "values, expected",
    [
        ((0.5, 1.0, 1.5), ("step", 0.5)),
        ((3, 1, -1), ("step", -2)),
        ((1, 10, 100), ("ratio", 10.0)),
        ((0.1, 0.2, 0.3), ("step", 0.1)),  # rounding within 1e-9 of the step
        ((1, 2, 4, 8.0000001), None),
        ((-1, -2, -4), ("ratio", 2.0)),  # values of one sign
        ((-1, 2, -4), None),  # a ratio across zero is no spacing
        ((1, 2), None),
        ((True, False, True), None),
        (("a", "b", "c"), None),
        ((2**70, 2**70 + 1, 2**70 + 2), ("step", 1)),  # Python ints, exactly
        (NumericValues(np.linspace(0.5, 1.5, 1001)), ("step", 0.0010000000000000009)),
        (NumericValues(np.geomspace(1.0, 1e3, 1000)), ("ratio", float(np.geomspace(1.0, 1e3, 1000)[1]))),
        (NumericValues(np.arange(1000)), ("step", 1)),
    ],
)
def test_spacing(values, expected):
    got = spacing(values)
    assert got == expected
    if got is not None:
        assert type(got[1]) is type(expected[1])
