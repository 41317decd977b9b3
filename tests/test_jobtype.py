from __future__ import annotations

import pytest
import wbtest_jobs

import workbench as wb
from workbench.errors import JobTypeError, ParameterError
from workbench.jobtype import JobType, resolve_ref
from workbench.params import Param
from workbench.registry import get_job_type, job_types, register


def test_builtin_demo_is_found_and_consistent():
    jt = get_job_type("demo")
    assert jt.name == "demo" and "drive_freq" in jt.param_names
    assert resolve_ref(jt.ref) is jt.run
    assert "demo" in job_types()


def test_unknown_job_type_lists_known_ones():
    with pytest.raises(JobTypeError, match=r"Unknown job type 'nope'. Known job types: .*demo"):
        get_job_type("nope")


def test_unknown_parameter_names_the_known_ones():
    with pytest.raises(ParameterError, match="has no parameter 'dampin'; its parameters are: drive_freq, damping"):
        get_job_type("demo").param("dampin")


def test_register_refuses_clashes_and_lambdas():
    jt = wbtest_jobs.counting
    register(jt, replace=True)
    assert get_job_type("wbtest-counting") is jt
    other = JobType("demo", (Param("a", "float", 1.0),), run=wbtest_jobs.run_counting)
    with pytest.raises(JobTypeError, match="already exists"):
        register(other)
    lam = JobType("lam", (Param("a", "float", 1.0),), run=lambda p, c: {})
    with pytest.raises(JobTypeError, match="cannot be imported by name"):
        lam.ref  # noqa: B018


def test_declaration_checks():
    with pytest.raises(JobTypeError, match="twice"):
        JobType("t", (Param("a", "float", 1.0), Param("a", "int", 1)), run=wbtest_jobs.run_counting)
    with pytest.raises(JobTypeError, match="cost_uses names unknown"):
        JobType("t", (Param("a", "float", 1.0),), run=wbtest_jobs.run_counting, cost_uses=("b",))
    with pytest.raises(JobTypeError, match="shadow parameters"):
        JobType("t", (Param("a", "float", 1.0),), run=wbtest_jobs.run_counting, constants={"a": 1.0})


def test_top_level_names_are_lazy_and_complete():
    for name in wb.__all__:
        if name not in ("form", "monitor", "explore"):  # front ends: tested in tests/ui and tests/monitor
            assert getattr(wb, name) is not None
    assert wb.expression("1").text == "1"


def test_a_job_type_prints_its_defaults_as_numbers_people_write():
    from workbench.registry import get_job_type

    tdse = get_job_type("tdse")
    text = str(tdse)
    assert "100000000000000" not in text
    line = next(s for s in text.splitlines() if s.strip().startswith("intensity"))
    assert "1e14 W/cm²" in line and "<= 1e18 W/cm²" in line
    assert "optical cycles" in next(s for s in text.splitlines() if s.strip().startswith("cycles"))
    html = tdse._repr_html_()
    assert "<table>" in html and ">1e14<" in html
