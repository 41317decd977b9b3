"""Fixtures of the monitor tests: a quick job type that fails on demand, and small bundles."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.jobtype import JobContext
from workbench.scan import scan as make_scan  # wb.scan can be shadowed by the module workbench.scan

JOB_TYPE = "monitor_test"


def run_point(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Sleep ``delay`` seconds; fail for negative ``x`` unless the file ``fixed`` exists."""
    time.sleep(point["delay"])
    if point["x"] < 0 and not (point["fixed"] and os.path.exists(point["fixed"])):
        raise ValueError(f"x = {point['x']} is negative: this point is unstable")
    return {"value": 10.0 * point["x"] + point["y"], "square": point["x"] ** 2, "label": f"p{point['y']}"}


def job_type() -> Any:
    return wb.register(
        wb.JobType(
            name=JOB_TYPE,
            title="Monitor test job",
            params=(
                wb.Param("x", "float", 0.0),
                wb.Param("y", "int", 0),
                wb.Param("z", "int", 0),
                wb.Param("delay", "float", 0.0, min=0.0),
                wb.Param("fixed", "str", ""),
            ),
            run=run_point,
            outputs=("value", "square"),
        ),
        replace=True,
    )


@pytest.fixture(autouse=True)
def _no_leftover_monitors() -> Iterator[None]:
    yield
    from workbench.monitor.widget import active_monitors

    for m in active_monitors().values():
        m.close()


@pytest.fixture
def make_bundle(tmp_path: Path) -> Any:
    """``make_bundle(name, **values)``: a bundle of the test job type in ``tmp_path``."""
    job_type()

    def make(name: str = "scan", **values: Any) -> Any:
        return wb.create(make_scan(JOB_TYPE, **values), tmp_path / name)

    return make
