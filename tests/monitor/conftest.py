"""Fixtures of the monitor tests: a quick job type that fails on demand, and small bundles."""

from __future__ import annotations

import asyncio
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
def _no_foreign_running_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hide an event loop that Playwright's sync API left marked as running in this thread.

    Once the browser fixtures started Playwright (session scope), its loop
    counts as running in the main thread for the rest of the session, though
    it only turns during Playwright calls: a monitor made in a later test would
    put its work on it, and ``asyncio.run`` would refuse to start.
    """
    loop = asyncio.events._get_running_loop()
    if loop is None or request.node.get_closest_marker("browser"):
        yield
        return
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(loop)


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
