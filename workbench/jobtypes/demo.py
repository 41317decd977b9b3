"""The demo job type: a damped, driven harmonic oscillator integrated numerically.

    x'' + 2 ζ x' + x = F cos(ω t),   x(0) = x'(0) = 0   (natural frequency 1)

After the transient has decayed (time ~ 1/ζ) the motion is x = A cos(ω t − φ)
with the resonance curve

    A = F / sqrt((1 − ω²)² + (2 ζ ω)²),   φ = atan2(2 ζ ω, 1 − ω²).

The job integrates with :func:`scipy.integrate.solve_ivp` and measures A and
φ by projecting the last periods onto cos and sin, so a scan over ``drive_freq``
draws the resonance curve and the analytic values check the numerics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import JobError
from ..jobtype import Cost, JobContext, JobType, Problem, warning
from ..params import Param

__all__ = ["oscillator", "run", "steady_state"]

_MEASURE_PERIODS = 5
_SAMPLES_PER_PERIOD = 64


def steady_state(drive_freq: float, damping: float, force: float) -> tuple[float, float]:
    """Analytic steady-state amplitude and phase lag (radians)."""
    w, z = drive_freq, damping
    amp = force / math.hypot(1.0 - w * w, 2.0 * z * w)
    return amp, math.atan2(2.0 * z * w, 1.0 - w * w)


def run(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Integrate one oscillator and measure its steady state."""
    from scipy.integrate import solve_ivp

    w, z, f = point["drive_freq"], point["damping"], point["force"]
    period = 2.0 * math.pi / w
    t_end = point["periods"] * period

    def rhs(t: float, y: np.ndarray) -> list[float]:
        return [y[1], f * math.cos(w * t) - 2.0 * z * y[1] - y[0]]

    sol = solve_ivp(rhs, (0.0, t_end), [0.0, 0.0], method="DOP853", rtol=point["rtol"], atol=point["rtol"] * 1e-3, dense_output=True)
    if not sol.success:
        raise JobError(
            f"solve_ivp failed for drive_freq = {w}, damping = {z}, periods = {point['periods']}: {sol.message} "
            f"Loosen rtol (now {point['rtol']:g}; 1e-8 is the default) or integrate fewer periods."
        )
    # Uniform samples over whole periods make the projections exact for the steady state.
    n = _MEASURE_PERIODS * _SAMPLES_PER_PERIOD
    t = t_end - _MEASURE_PERIODS * period + np.arange(n) * (period / _SAMPLES_PER_PERIOD)
    x = sol.sol(t)[0]
    a = 2.0 * np.mean(x * np.cos(w * t))
    b = 2.0 * np.mean(x * np.sin(w * t))
    amp, phase = math.hypot(a, b), math.atan2(b, a)
    exact_amp, exact_phase = steady_state(w, z, f)
    return {
        "amplitude": amp,
        "phase": phase,
        "amplitude_exact": exact_amp,
        "phase_exact": exact_phase,
        "rel_error": abs(amp - exact_amp) / exact_amp,
        "steps": int(sol.t.size),
        # The last period of the motion, for plots of single jobs.
        "trajectory": x[-_SAMPLES_PER_PERIOD:],
    }


def _transient_check(p: Mapping[str, Any]) -> list[Problem]:
    decay = p["damping"] * p["periods"] * 2.0 * math.pi / p["drive_freq"]
    if decay < 10.0:
        return [
            warning(
                f"the transient decays as exp(-damping*t) and only exp(-{decay:.1f}) has passed after "
                f"{p['periods']} periods (damping={p['damping']}, drive_freq={p['drive_freq']}); the amplitude "
                f"will be off by about {100 * math.exp(-decay):.2g} %. Increase periods to at least "
                f"{math.ceil(10.0 * p['drive_freq'] / (2 * math.pi * p['damping']))}.",
                "periods",
                "damping",
            )
        ]
    return []


#: Seconds per unit of simulated time, measured on the 2-core reference machine
#: with DOP853 at rtol=1e-8 (about 2.4 ms per period at drive_freq=1).
_SECONDS_PER_TIME = 3.8e-4


def _cost(p: Mapping[str, Any]) -> Cost:
    t_end = p["periods"] * 2.0 * math.pi / p["drive_freq"]
    return Cost(seconds=0.02 + _SECONDS_PER_TIME * t_end, memory_mb=80.0, disk_mb=0.1)


oscillator = JobType(
    name="demo",
    title="Damped driven oscillator",
    description="Steady-state amplitude and phase of x'' + 2ζx' + x = F cos(ωt), integrated with scipy's DOP853.",
    params=(
        Param("drive_freq", "float", 1.0, unit="ω₀", min=0.0, strict_min=True, max=100.0,
              help="Drive frequency ω in units of the natural frequency."),
        Param("damping", "float", 0.1, min=0.0, strict_min=True, max=10.0,
              help="Damping ratio ζ (1 is critical damping)."),
        Param("force", "float", 1.0, min=0.0, help="Drive amplitude F."),
        Param("periods", "int", 60, min=10, max=100_000,
              help="Drive periods integrated; the last 5 are measured."),
        Param("rtol", "float", 1e-8, min=1e-13, max=1e-2, scannable=False,
              help="Relative tolerance of the integrator."),
    ),
    run=run,
    checks=(_transient_check,),
    cost=_cost,
    cost_uses=("drive_freq", "periods"),
    outputs=("amplitude", "phase", "amplitude_exact", "phase_exact", "rel_error", "steps"),
)
