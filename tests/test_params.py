from __future__ import annotations

import numpy as np
import pytest

from workbench.errors import JobTypeError, ParameterError
from workbench.params import Param


def test_float_bounds_and_coercion():
    p = Param("dx", "float", 0.1, unit="a.u.", min=0.0, strict_min=True, max=1.0)
    assert p.check(1) == 1.0 and isinstance(p.check(1), float)
    assert p.check(np.float32(0.5)) == 0.5
    with pytest.raises(ParameterError, match=r"dx = 0: is below the lower bound; use a finite number > 0 and <= 1 a.u."):
        p.check(0)
    with pytest.raises(ParameterError, match="above the upper bound"):
        p.check(1.5)
    for bad in ("0.3", True, None, float("nan"), float("inf")):
        with pytest.raises(ParameterError) as e:
            p.check(bad)
        assert e.value.parameter == "dx"
        assert repr(bad) in str(e.value)


def test_int_accepts_integral_floats_only():
    p = Param("n", "int", 3, min=1)
    assert p.check(4.0) == 4 and isinstance(p.check(4.0), int)
    assert p.check(np.int64(7)) == 7
    with pytest.raises(ParameterError, match="not a whole number"):
        p.check(2.5)
    with pytest.raises(ParameterError, match="not a number"):
        p.check(True)


def test_choice_and_bool_and_str():
    c = Param("envelope", "choice", "sin2", choices=("sin2", "gauss"))
    assert c.check("gauss") == "gauss"
    with pytest.raises(ParameterError, match="one of 'sin2', 'gauss'"):
        c.check("box")
    n = Param("order", "choice", 2, choices=(2, 4))
    assert n.check(4.0) == 4
    with pytest.raises(ParameterError):
        n.check("4")
    b = Param("flag", "bool", False)
    assert b.check(np.bool_(True)) is True
    with pytest.raises(ParameterError):
        b.check(1)
    s = Param("note", "str", "")
    with pytest.raises(ParameterError):
        s.check(3)


def test_declaration_errors():
    with pytest.raises(JobTypeError, match="not a plain identifier"):
        Param("2x", "float", 1.0)
    with pytest.raises(JobTypeError, match="kind 'double'"):
        Param("x", "double", 1.0)  # type: ignore[arg-type]
    with pytest.raises(JobTypeError, match="default of parameter 'x' is invalid"):
        Param("x", "float", -1.0, min=0.0)
    with pytest.raises(JobTypeError, match="needs a non-empty"):
        Param("c", "choice", "a")
