"""Bundles with synthetic results (written by the job runner's own writer; no job runs)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workbench.bundle import create
from workbench.job import write_result
from workbench.jobtypes.demo import steady_state
from workbench.scan import scan as make_scan
from workbench.sources import Linspace


def write_fake(bundle: Any, job_ids: Iterable[str], *, scale: float = 1.0, extra: dict[str, Any] | None = None) -> None:
    """Demo-like results for ``job_ids``: analytic amplitude (times ``scale``), phase, steps and a trajectory."""
    outdir = bundle.path / "outputs"
    for jid in job_ids:
        job_input = bundle.input(jid)
        p = job_input["params"]
        amp, phase = steady_state(p["drive_freq"], p["damping"], p["force"])
        t = np.linspace(0.0, 2 * math.pi, 16)
        results = {
            "amplitude": scale * amp,
            "phase": phase,
            "steps": 100 + job_input["index"],
            "converged": True,
            "trajectory": scale * amp * np.cos(t - phase),
            **(extra or {}),
        }
        write_result(outdir, job_input, results, {"runtime": 0.01 * (1 + job_input["index"]), "host": "testhost"})


def age_outputs(bundle: Any, seconds: float = 60.0) -> None:
    """Make ``outputs/`` look untouched for a while, as it is when nothing runs (no racy listing)."""
    t = time.time_ns() - int(seconds * 1e9)
    os.utime(bundle.path / "outputs", ns=(t, t))


@pytest.fixture
def demo_bundle(tmp_path: Path) -> Any:
    """A 5 x 3 demo scan (drive_freq x damping), nothing run; the path has a space and a quote."""
    s = make_scan("demo", drive_freq=Linspace(0.5, 1.5, 5), damping=[0.05, 0.1, 0.2])
    return create(s, tmp_path / "scan 'one'")


@pytest.fixture
def fake() -> Callable[..., None]:
    return write_fake


@pytest.fixture
def age() -> Callable[..., None]:
    return age_outputs
