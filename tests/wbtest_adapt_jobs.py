"""Fast job types with known answers for the adaptive-scan tests (importable by name, so workers find them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.jobtype import JobContext, JobType
from workbench.params import Param


def run_lorentz(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """A Lorentzian of half width ``width`` at ``center``; raises for x in (fail_from, fail_to)."""
    x, w, c = point["x"], point["width"], point["center"]
    if point["fail_from"] < x < point["fail_to"]:
        raise ValueError(f"x = {x} is in the range this job was told to fail in")
    return {"y": w * w / ((x - c) ** 2 + w * w), "label": f"x={x:.3g}"}


lorentz = JobType(
    name="wbtest-lorentz",
    title="Lorentzian (tests)",
    params=(
        Param("x", "float", 0.0),
        Param("width", "float", 0.01, min=0.0, strict_min=True),
        Param("center", "float", 0.1),
        Param("fail_from", "float", 9.0),
        Param("fail_to", "float", 9.0),
        Param("steps", "int", 1, min=1),
    ),
    run=run_lorentz,
    outputs=("y", "label"),
)


def run_step(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """1 on one side of the line x + y/2 = 0.2, 0 on the other."""
    return {"z": 1.0 if point["x"] + 0.5 * point["y"] > 0.2 else 0.0}


step2d = JobType(
    name="wbtest-step2d",
    title="A step in 2D (tests)",
    params=(Param("x", "float", 0.0), Param("y", "float", 0.0)),
    run=run_step,
    outputs=("z",),
)
