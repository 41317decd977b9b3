"""The ``tdse`` job type: defaults, physics of its results, checks, cost and checkpoint/restart."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from workbench.checkpoint import Checkpoint, CheckpointExit
from workbench.errors import JobError
from workbench.jobtype import JobContext
from workbench.jobtypes.tdse import ATOMIC_INTENSITY, OMEGA_NM, laser, pulse_field, run, tdse
from workbench.registry import get_job_type


def point(**values: object) -> dict:
    return tdse.coerce(values)


def quiet(job_id: str = "t", checkpoint: Checkpoint | None = None) -> JobContext:
    return JobContext(job_id, checkpoint=checkpoint, log=lambda line: None)


#: A short, small job for the tests that run many (2 cycles at 800 nm, 121 a.u. box).
SMALL = dict(cycles=2.0, box=60.0, absorber=30.0, intensity=2e14)


def test_registry_finds_it_and_the_defaults_are_clean():
    assert get_job_type("tdse") is tdse
    assert tdse.problems(tdse.defaults()) == []
    assert tdse.checkpointing
    assert set(tdse.cost_uses) <= set(tdse.param_names) and "intensity" not in tdse.cost_uses


def test_default_job_is_a_strong_field_ionisation_in_well_under_a_few_seconds():
    r = run(tdse.defaults(), quiet())
    assert r["ground_energy"] == pytest.approx(-0.6698, abs=1e-3)
    # 800 nm at 1e14 W/cm²: Up = 9.33e-14 I λ²[µm] eV, quiver radius E0/ω².
    assert r["up"] * 27.211386 == pytest.approx(9.33e-14 * 1e14 * 0.8**2, rel=1e-3)
    assert r["keldysh"] == pytest.approx(math.sqrt(-r["ground_energy"] / (2 * r["up"])))
    assert 1e-5 < r["ionization"] < 1e-2
    # The two measures of ionisation: what left the box is part of what is unbound.
    assert 0 < r["absorbed"] < r["ionization"]
    assert r["ionization"] + r["bound_population"] == pytest.approx(1.0, abs=1e-12)
    assert r["ground_population"] + r["excited_population"] == pytest.approx(r["bound_population"], abs=1e-15)
    assert r["final_norm"] == pytest.approx(1 - r["absorbed"], abs=1e-15)
    # Populations are projections of what is left in the box: each below the one that contains it.
    assert 0 < r["excited_population"] and 0 < r["ground_population"] <= r["bound_population"]
    assert r["bound_population"] <= r["final_norm"] + 1e-12
    assert 0 < r["absorbed"] <= 1 and 0 < r["final_norm"] <= 1 + 1e-12
    # Arrays: density integrates to the final norm; the series start at t_start with norm 1.
    assert r["x"].shape == r["density"].shape and r["x"].size <= 2048
    bin_width = r["x"][1] - r["x"][0]
    assert np.sum(r["density"]) * bin_width == pytest.approx(r["final_norm"], rel=1e-3)
    assert r["t"].shape == r["dipole"].shape == r["acceleration"].shape == r["field"].shape == r["norm"].shape
    assert r["t"][0] == pytest.approx(-2 * r["period"]) and r["norm"][0] == pytest.approx(1.0)
    assert 0.95 * r["e0"] < np.max(np.abs(r["field"])) <= r["e0"]  # cep = 0: the carrier peaks off centre


@pytest.mark.parametrize(
    "omega, cycles, photons",
    [(0.9, 10, 1), (0.45, 20, 2), (0.235, 20, 3)],  # Ip = 0.6698; 2ω and 3ω avoid resonances
)
def test_weak_field_ionisation_grows_as_intensity_to_the_number_of_photons(omega, cycles, photons):
    base = dict(wavelength=OMEGA_NM / omega, cycles=cycles, box=100.0, absorber=40.0)
    assert photons == math.ceil(0.6698 / omega)
    p1, p2 = (run(point(**base, intensity=i), quiet())["ionization"] for i in (1e11, 1e12))
    assert math.log10(p2 / p1) == pytest.approx(photons, abs=0.05)


def test_checks_name_the_problem_and_the_fix():
    def messages(**values):
        return [(p.level, p.message) for p in tdse.problems(point(**values))]

    (level, msg), = messages(absorber=150.0)
    assert level == "error" and "as wide as the box half-width (150 a.u.)" in msg
    (level, msg), *_ = messages(intensity=1e15, box=80.0)
    assert level == "error" and "twice the quiver radius E0/ω² = 52 a.u." in msg and "Use box >= 258.2" in msg
    (level, msg), *_ = messages(dt=10.0)
    assert level == "error" and "only 11 steps per laser period (110.3 a.u.); use dt <= 1.1 a.u." in msg
    (level, msg), = messages(intensity=1e15, box=300.0, dx=0.05, dt=0.1)
    assert level == "error" and "too coarse for the fastest electrons (E ≈ 10 Up + 3ω = 22.1 a.u.)" in msg
    (level, msg), = messages(intensity=1e15, box=300.0, dx=0.05, dt=0.04)
    assert level == "warning" and "phase runs 6.5 % slow; dt <= 0.0226 a.u." in msg
    (level, msg), *_ = messages(dx=0.6)
    assert level == "error" and "4.81 points per de Broglie wavelength" in msg and "use dx <= 0.289 a.u." in msg
    found = messages(dx=0.8, a=1.0)
    assert any("coarse for the softening a = 1" in m for lv, m in found if lv == "warning")
    (level, msg), = messages(absorber=0.0)
    assert level == "warning" and "reflect off the walls" in msg


def test_cost_follows_grid_points_times_steps():
    base = tdse.defaults()
    assert 0.1 < tdse.estimate(base).seconds < 5.0

    def propagation(**values):  # seconds beyond the fixed cost and the bound-state projection
        p = {**base, **values}
        return tdse.estimate(point(**values)).seconds - tdse.estimate({**p, "cycles": 1e-9, "post_cycles": 0.0}).seconds

    assert propagation(cycles=8.0) == pytest.approx(2 * propagation(), rel=1e-3)
    assert propagation(dx=0.05) == pytest.approx(2 * propagation(), rel=0.05)  # twice the points
    assert tdse.estimate(point(intensity=1e12)) == tdse.estimate(base)  # not in cost_uses
    assert tdse.estimate(point(box=2000.0)).memory_mb > tdse.estimate(base).memory_mb


def test_pulse_envelopes():
    p = point(cycles=4.0, cep=math.pi / 2)
    lz = laser(p)
    assert lz["e0"] == pytest.approx(math.sqrt(1e14 / ATOMIC_INTENSITY))
    assert lz["omega"] == pytest.approx(0.056954, rel=1e-4)
    t = np.linspace(lz["t_start"], -lz["t_start"], 4001)
    e = pulse_field(p, t)
    assert e[2000] == pytest.approx(lz["e0"])  # cos-like pulse peaks at t = 0
    assert e[0] == pytest.approx(0.0, abs=1e-15) and e[-1] == pytest.approx(0.0, abs=1e-15)
    g = point(cycles=4.0, cep=math.pi / 2, envelope="gauss")
    assert laser(g)["duration"] == pytest.approx(2 * lz["duration"])
    # Same intensity FWHM for both envelopes.
    tt = np.linspace(-lz["duration"], lz["duration"], 20001)
    for q in (p, g):
        env2 = (pulse_field(q, tt) / np.sin(laser(q)["omega"] * tt + math.pi / 2)) ** 2
        above = tt[env2 > 0.5 * lz["e0"] ** 2]
        assert above[-1] - above[0] == pytest.approx(0.3640 * lz["duration"], rel=2e-3)


def test_resumed_run_is_bitwise_identical_to_an_uninterrupted_one(tmp_path):
    p = point(**SMALL)
    whole = run(p, quiet())
    path = tmp_path / "job.ckpt.npz"
    restarts = 0
    while True:
        # Every start writes one checkpoint 700 steps on and exits 85, as under HTCondor; 700 is
        # not a multiple of the kernel's 1000-step blocks, so blocks are cut at the checkpoints.
        ckpt = Checkpoint(path, every_steps=700, exit_after_save=True)
        try:
            resumed = run(p, quiet(checkpoint=ckpt))
            break
        except CheckpointExit as e:
            assert e.code == 85 and path.exists()
            restarts += 1
    assert restarts == whole["steps"] // 700 - (whole["steps"] % 700 == 0)
    assert resumed.keys() == whole.keys()
    for k, v in whole.items():
        if isinstance(v, np.ndarray):
            assert v.tobytes() == resumed[k].tobytes(), k
        else:
            assert v == resumed[k], k


def test_a_checkpoint_of_other_parameters_is_refused(tmp_path):
    path = tmp_path / "job.ckpt.npz"
    with pytest.raises(CheckpointExit):
        run(point(**SMALL), quiet(checkpoint=Checkpoint(path, every_steps=500, exit_after_save=True)))
    with pytest.raises(JobError, match="written for other parameters than this job's; delete it"):
        run(point(**{**SMALL, "cep": 1.0}), quiet(checkpoint=Checkpoint(path, every_steps=500)))


def test_a_ground_state_that_does_not_converge_fails_the_job_with_a_fix(monkeypatch):
    from workbench.kernels import tdse as kernel

    few = functools.partial(kernel.ground_states, max_steps=25)
    monkeypatch.setattr(kernel, "ground_states", few)
    with pytest.raises(JobError, match=r"^The ground state did not converge \(residual .* after 25 imaginary-time "
                       r"steps\); check Z = 1.0, a = 1.0 and dx = 0.1\.$"):
        run(point(**SMALL), quiet())


def test_cost_counts_the_grid_run_builds():
    from workbench.jobtypes.tdse import _grid_points

    for box, dx in ((60.0, 0.1), (150.0, 0.07), (1.0, 0.3), (10.0, 3.0)):
        assert _grid_points(point(box=box, dx=dx)) == 2 * round(box / dx) + 1
    assert _grid_points(point(box=0.1, dx=0.3)) == 1  # no grid at all: run() refuses it, the cost stays total
    assert run(point(**SMALL), quiet())["grid_points"] == _grid_points(point(**SMALL))
