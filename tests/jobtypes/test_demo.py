from __future__ import annotations

import math

import pytest

from workbench.errors import JobError
from workbench.jobtype import JobContext
from workbench.jobtypes.demo import oscillator, run, steady_state
from workbench.scan import scan


@pytest.mark.parametrize("w, z", [(0.5, 0.05), (1.0, 0.1), (1.3, 0.2), (3.0, 0.5)])
def test_steady_state_matches_the_analytic_resonance_curve(w, z):
    point = {**oscillator.defaults(), "drive_freq": w, "damping": z, "force": 2.0}
    r = run(point, JobContext("t"))
    amp, phase = steady_state(w, z, 2.0)
    assert r["amplitude"] == pytest.approx(amp, rel=1e-5)
    assert r["phase"] == pytest.approx(phase, abs=1e-5)
    assert r["trajectory"].shape == (64,)
    assert max(abs(r["trajectory"])) == pytest.approx(amp, rel=1e-2)


def test_analytic_limits():
    assert steady_state(1.0, 0.1, 1.0) == pytest.approx((5.0, math.pi / 2))  # A = F / (2 ζ) at resonance
    assert steady_state(1e-6, 0.1, 1.0)[0] == pytest.approx(1.0)  # static limit


def test_short_runs_warn_that_the_transient_has_not_decayed():
    s = scan("demo", damping=[0.01, 0.1], periods=20)
    assert len(s.warnings) == 1
    msg = s.warnings[0].message
    assert "damping=0.01" in msg and "Increase periods to at least 160" in msg


def test_cost_model_grows_with_simulated_time():
    fast = oscillator.estimate({**oscillator.defaults(), "drive_freq": 2.0})
    slow = oscillator.estimate({**oscillator.defaults(), "drive_freq": 0.5})
    assert slow.seconds > 3 * fast.seconds > 0


def test_a_failed_integration_is_a_job_error_with_a_fix(monkeypatch):
    import types

    import scipy.integrate

    def failing(*args, **kwargs):
        return types.SimpleNamespace(success=False, message="Required step size is less than spacing between numbers.")

    monkeypatch.setattr(scipy.integrate, "solve_ivp", failing)
    point = {**oscillator.defaults(), "rtol": 1e-13}
    with pytest.raises(JobError, match=r"^solve_ivp failed for drive_freq = 1.0, damping = 0.1, periods = 60: Required "
                       r"step size .* Loosen rtol \(now 1e-13; 1e-8 is the default\) or integrate fewer periods\.$"):
        run(point, JobContext("t"))
