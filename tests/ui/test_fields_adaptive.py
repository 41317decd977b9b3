"""The form's source switch offers 'adaptive' (bounds) for continuous parameters."""

from __future__ import annotations

import workbench as wb
from workbench.designs import Adaptive
from workbench.ui.fields import ParamField

DEMO = wb.get_job_type("demo")


def test_a_float_parameter_can_be_made_adaptive_in_the_form():
    f = ParamField(DEMO.param("drive_freq"), DEMO)
    assert "adaptive" in f.modes and f.modes[-1] == "expr"
    f.mode.value = "adaptive"
    f.inputs["adaptive.lo"].value = "0.5"
    f.inputs["adaptive.hi"].value = "1.5"
    assert f.error is None and f.source == Adaptive(0.5, 1.5)
    assert f.values == (0.5, 1.5)
    f.inputs["adaptive.hi"].value = "0.2"
    assert f.source is None and "not increasing" in f.error
    f.close()


def test_the_form_shows_an_adaptive_source_and_int_parameters_do_not_offer_it():
    f = ParamField(DEMO.param("drive_freq"), DEMO)
    f.set_source(Adaptive(0.6, 1.4))
    assert f.mode.value == "adaptive" and f.inputs["adaptive.lo"].value == "0.6" and f.source == Adaptive(0.6, 1.4)
    periods = ParamField(DEMO.param("periods"), DEMO)
    assert "adaptive" not in periods.modes
    f.close()
    periods.close()
