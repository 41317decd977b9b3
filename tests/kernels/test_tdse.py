"""The Crank–Nicolson TDSE kernel against linear algebra, invariants and analytic solutions."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from workbench.errors import ParameterError
from workbench.kernels.tdse import (
    CrankNicolson,
    Grid,
    Observables,
    absorbing_potential,
    apply_hamiltonian,
    eigenstates,
    ground_states,
    soft_core,
    soft_core_force,
)


def dense_hamiltonian(grid: Grid, v: np.ndarray, field: float = 0.0) -> np.ndarray:
    h = 1.0 / grid.dx**2
    return (
        np.diag(h + v + grid.x * field)
        - 0.5 * h * np.eye(grid.n, k=1)
        - 0.5 * h * np.eye(grid.n, k=-1)
    )


# -- the step is the Crank–Nicolson step ----------------------------------------------


# 128 and up: the lane elimination of the AVX2 build (16 lanes, plus 0..15 tail rows).
@pytest.mark.parametrize("n", [3, 4, 5, 8, 101, 102, 128, 143, 1007])
@pytest.mark.parametrize("imaginary", [False, True])
def test_steps_solve_the_crank_nicolson_system(n, imaginary):
    rng = np.random.default_rng(n)
    grid = Grid(x0=-0.5 * n * 0.2, dx=0.2, n=n)
    dt = 0.07
    v = soft_core(grid.x, 1.0, 0.7)
    if imaginary:
        c, fields = dt / 2, np.zeros(3)
    else:
        v = v - 0.3j * rng.random(n)  # an absorber anywhere must still be solved exactly
        c, fields = 0.5j * dt, np.array([0.04, -0.01, 0.02])
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    expected = psi.copy()
    for f in fields:
        H = dense_hamiltonian(grid, v, f)
        expected = np.linalg.solve(np.eye(n) + c * H, (np.eye(n) - c * H) @ expected)
    force = rng.normal(size=n)
    obs = CrankNicolson(grid, v, dt, imaginary=imaginary).propagate(psi, fields, force=force)
    assert np.max(np.abs(psi - expected)) <= 1e-13 * np.max(np.abs(expected))
    rho = np.abs(expected) ** 2 * grid.dx
    assert obs.norm[-1] == pytest.approx(rho.sum(), rel=1e-13)
    assert obs.dipole[-1] == pytest.approx((grid.x * rho).sum(), rel=1e-12, abs=1e-12)
    assert obs.force[-1] == pytest.approx((force * rho).sum(), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("imaginary", [False, True])
def test_long_grids_are_solved_exactly_where_the_lanes_drop_their_spikes(imaginary):
    # 20,003 points: each of the AVX2 build's 16 lanes has 1,250 rows, and its spike decays to
    # zero within a few hundred, after which the lanes stop carrying it; the step stays exact.
    from scipy.linalg import solve_banded

    n, dx, dt = 20_003, 0.1, 0.05
    rng = np.random.default_rng(7)
    grid = Grid(x0=-0.5 * n * dx, dx=dx, n=n)
    x = grid.x
    v = soft_core(x)
    if imaginary:
        c, fields = dt / 2, np.zeros(3)
    else:
        v = v - 1j * absorbing_potential(x, 900.0, 100.0, 0.5)
        c, fields = 0.5j * dt, np.array([0.01, -0.02, 0.005])
    psi = rng.normal(size=n) + 1j * rng.normal(size=n)
    expected = psi.copy()
    off = -c / (2 * dx * dx)
    for f in fields:
        h = 1 / dx**2 + v + x * f
        ab = np.zeros((3, n), dtype=complex)
        ab[0, 1:] = off
        ab[1] = 1 + c * h
        ab[2, :-1] = off
        rhs = (1 - c * h) * expected
        rhs[1:] -= off * expected[:-1]
        rhs[:-1] -= off * expected[1:]
        expected = solve_banded((1, 1), ab, rhs)
    CrankNicolson(grid, v, dt, imaginary=imaginary).propagate(psi, fields)
    assert np.max(np.abs(psi - expected)) <= 1e-12 * np.max(np.abs(expected))


def test_results_do_not_depend_on_how_the_steps_are_split():
    # What checkpoint/restart relies on: 100 steps in one call or in pieces are the same bits,
    # for the state and for every observable the checkpoint keeps.
    grid = Grid.symmetric(300.0, 0.1)  # 6,001 points: lanes of 375 rows, with and without spikes
    x = grid.x
    prop = CrankNicolson(grid, soft_core(x) - 1j * absorbing_potential(x, 200.0, 100.0, 0.5), 0.05)
    field = 0.05 * np.sin(0.057 * 0.05 * np.arange(100))
    force = soft_core_force(x)
    psi0 = np.exp(-((x - 1.0) ** 2)).astype(np.complex128)  # off centre: <x> and <f> are not zero
    a, b = psi0.copy(), psi0.copy()
    whole = prop.propagate(a, field, force=force)
    parts = [prop.propagate(b, field[i:j], force=force) for i, j in ((0, 37), (37, 38), (38, 100))]
    assert a.tobytes() == b.tobytes()
    for name in Observables._fields:
        assert np.all(getattr(whole, name) != 0), name
        assert getattr(whole, name).tobytes() == np.concatenate([getattr(p, name) for p in parts]).tobytes(), name


@pytest.mark.parametrize("field", [0.02, 2.0])
def test_both_builds_solve_the_same_steps(field):
    # The AVX2 build eliminates in lanes; the baseline with two chains.  A strong
    # field breaks diagonal dominance at the edges, which the lanes tolerate in
    # real time (Im d >= 4 dx^2/dt); the two must agree to rounding either way.
    from workbench.kernels import _tdse, tdse

    if tdse._tdse is _tdse:
        pytest.skip("the face uses the baseline build here (a CPU without AVX2 + FMA, or not x86-64)")
    avx2 = tdse._tdse
    n = 4099
    grid = Grid(x0=-0.5 * (n - 1) * 0.1, dx=0.1, n=n)
    x = grid.x
    c, dx = 0.025j, grid.dx
    alpha = -c / (2 * dx * dx)
    v = soft_core(x) - 1j * absorbing_potential(x, 150.0, 50.0, 0.5)
    d0 = np.ascontiguousarray((1 + c * (1 / dx**2 + v)) / alpha)
    psi0 = np.exp(-0.5 * (x / 5.0) ** 2) * np.exp(1j * x)
    fields = field * np.cos(np.arange(40) * 0.1)
    force = soft_core_force(x)
    out = []
    for mod in (_tdse, avx2):
        psi = psi0.astype(np.complex128)
        obs = [np.empty(40) for _ in range(3)]
        mod.cn_steps(psi, d0, np.empty(mod.work_length(n), complex), complex(2 / alpha), grid.x0, dx,
                     fields, force, *obs)
        out.append((psi, obs))
    (p1, o1), (p2, o2) = out
    assert np.max(np.abs(p1 - p2)) <= 1e-12 * np.max(np.abs(p1))
    for a, b in zip(o1, o2):
        assert np.max(np.abs(a - b)) <= 1e-12 * np.max(np.abs(a))


# -- invariants and analytic solutions --------------------------------------------------


def test_norm_is_conserved_to_1e_10_over_10_000_steps_without_absorber():
    grid = Grid.symmetric(100.0, 0.2)
    v = soft_core(grid.x)
    psi = ground_states(grid, v).states[:, 0].astype(np.complex128)
    t = 0.05 * (np.arange(10_000) + 0.5)
    field = 0.1 * np.sin(0.057 * t) * np.sin(np.pi * t / t[-1]) ** 2  # ionises a good part
    obs = CrankNicolson(grid, v, 0.05).propagate(psi, field)
    assert np.max(np.abs(obs.norm - 1.0)) < 1e-10
    assert np.sum(np.abs(psi) ** 2) * grid.dx == pytest.approx(1.0, abs=1e-10)
    assert np.abs(obs.dipole).max() > 1.0  # the field did move the electron


def test_harmonic_oscillator_states_match_eigh_tridiagonal_and_the_analytic_levels():
    n = np.arange(4)
    errors = []
    for dx in (0.1, 0.05):
        grid = Grid.symmetric(10.0, dx)
        v = 0.5 * grid.x**2
        gs = ground_states(grid, v, 4)
        assert gs.converged
        w, vec = eigenstates(grid, v, count=4)
        # Same grid, same matrix: imaginary time must find eigh's eigenpairs.
        np.testing.assert_allclose(gs.energies, w, rtol=0, atol=1e-8)
        overlaps = np.abs(np.sum(gs.states * vec, axis=0) * dx)
        np.testing.assert_allclose(overlaps, 1.0, atol=1e-9)
        np.testing.assert_allclose(gs.states.T @ gs.states * dx, np.eye(4), atol=1e-12)
        # The three-point Laplacian lowers E_n by dx²<p⁴>/24 = dx²(2n²+2n+1)/32 + O(dx⁴).
        err = gs.energies - (n + 0.5)
        np.testing.assert_allclose(err, -(dx**2) * (2 * n * n + 2 * n + 1) / 32, rtol=0.02)
        errors.append(err)
    # Second order: halving dx divides the error by 4.
    np.testing.assert_allclose(errors[0] / errors[1], 4.0, rtol=0.01)


def test_ground_states_that_run_out_of_steps_say_so():
    grid = Grid.symmetric(40.0, 0.1)
    v = soft_core(grid.x)
    gs = ground_states(grid, v, 2, max_steps=50, block=25)
    assert not gs.converged
    assert list(gs.steps) == [50, 50] and np.all(gs.residuals > 1e-9)
    # Not converged, but orthonormal states, the lowest above the true ground energy (a Rayleigh quotient).
    np.testing.assert_allclose(gs.states.T @ gs.states * grid.dx, np.eye(2), atol=1e-12)
    assert gs.energies[0] > eigenstates(grid, v, count=1)[0][0]
    assert ground_states(grid, v, 2).converged


def test_soft_core_hydrogen_ground_state_is_the_published_minus_0_6698():
    # Javanainen, Eberly & Su, Phys. Rev. A 38, 3430 (1988): E0 = -0.6698 a.u. for Z = a = 1.
    grid = Grid.symmetric(60.0, 0.1)
    v = soft_core(grid.x, Z=1.0, a=1.0)
    gs = ground_states(grid, v, 2)
    assert gs.converged
    assert gs.energies[0] == pytest.approx(-0.6698, abs=1e-3)
    assert gs.energies[1] == pytest.approx(-0.2750, abs=1e-3)
    # The ground state is even, the first excited state odd.
    psi0, psi1 = gs.states[:, 0], gs.states[:, 1]
    assert np.allclose(psi0, psi0[::-1], atol=1e-9)
    assert np.allclose(psi1, -psi1[::-1], atol=1e-9)


def free_packet(k0: float, dx: float, dt: float, t_end: float, sigma0: float = 1.0) -> tuple[float, float, float]:
    grid = Grid.symmetric(40.0, dx)
    x = grid.x
    psi = np.exp(-(x**2) / (4 * sigma0**2) + 1j * k0 * x)
    psi /= math.sqrt(np.sum(np.abs(psi) ** 2) * grid.dx)
    obs = CrankNicolson(grid, np.zeros(grid.n), dt).propagate(psi, steps=int(round(t_end / dt)))
    rho = np.abs(psi) ** 2 * grid.dx
    mean = float(np.sum(x * rho))
    assert obs.dipole[-1] == pytest.approx(mean, rel=1e-12, abs=1e-14)
    return mean, math.sqrt(np.sum((x - mean) ** 2 * rho)), float(obs.norm[-1])


def test_free_gaussian_packet_spreads_as_the_analytic_sigma_of_t():
    sigma0, t_end = 1.0, 4.0
    exact = sigma0 * math.sqrt(1 + (t_end / (2 * sigma0**2)) ** 2)  # |psi|² stays Gaussian
    errors = []
    for dx, dt in ((0.05, 0.01), (0.025, 0.005)):
        mean, sigma, norm = free_packet(0.0, dx, dt, t_end, sigma0)
        assert abs(mean) < 1e-12 and norm == pytest.approx(1.0, abs=1e-12)
        errors.append(sigma / exact - 1)
    assert abs(errors[1]) < 1e-4
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.05)  # second order in dx and dt


def test_moving_packet_travels_at_the_group_velocity_of_the_grid():
    # The three-point Laplacian has the dispersion (1 - cos k dx)/dx², so group velocity
    # sin(k dx)/dx, averaged over the packet's momenta (sigma_k = 1/2 sigma0).
    k0, dx, dt, t_end = 1.0, 0.025, 0.0025, 4.0
    mean, _, _ = free_packet(k0, dx, dt, t_end)
    sigma_k = 0.5
    v_group = math.sin(k0 * dx) / dx * math.exp(-0.5 * (sigma_k * dx) ** 2)
    assert mean == pytest.approx(v_group * t_end, rel=2e-5)
    assert mean == pytest.approx(k0 * t_end, rel=3e-4)  # and the continuum's k0 t to O(dx²)


def test_absorber_removes_an_outgoing_packet():
    grid = Grid.symmetric(150.0, 0.1)
    x = grid.x
    w = absorbing_potential(x, 100.0, 50.0, 1.0)
    assert w[np.abs(x) <= 100].max() == 0.0 and w.max() == pytest.approx(1.0)
    psi = np.exp(-((x - 50) ** 2) / 50 + 1.5j * x).astype(np.complex128)
    obs = CrankNicolson(grid, -1j * w, 0.05).propagate(psi, steps=4000)  # t = 200: out and back twice
    assert obs.norm[-1] < 1e-6 * obs.norm[0]
    assert np.all(np.diff(obs.norm) <= 1e-13 * obs.norm[0])  # never grows (beyond rounding)


def test_acceleration_follows_ehrenfest():
    # d<x>/dt² = <-dV/dx> - F(t) <1>: the recorded dipole and force agree.
    grid = Grid.symmetric(60.0, 0.1)
    v = soft_core(grid.x)
    psi = ground_states(grid, v).states[:, 0].astype(np.complex128)
    dt = 0.01
    t = dt * (np.arange(3000) + 0.5)
    field = 0.05 * np.sin(0.3 * t)
    obs = CrankNicolson(grid, v, dt).propagate(psi, field, force=soft_core_force(grid.x))
    d2 = (obs.dipole[2:] - 2 * obs.dipole[1:-1] + obs.dipole[:-2]) / dt**2
    accel = obs.force[1:-1] - 0.05 * np.sin(0.3 * dt * np.arange(2, 3000)) * obs.norm[1:-1]
    assert np.max(np.abs(d2 - accel)) < 2e-3 * np.max(np.abs(accel))


def test_apply_hamiltonian_is_the_dense_matrix():
    grid = Grid(0.0, 0.3, 7)
    v = np.linspace(-1, 1, 7)
    psi = np.arange(7.0) + 1j
    np.testing.assert_allclose(apply_hamiltonian(grid, v, psi, 0.2), dense_hamiltonian(grid, v, 0.2) @ psi)


# -- the checked face refuses what the core cannot take -------------------------------------


@pytest.fixture
def prop() -> CrankNicolson:
    grid = Grid.symmetric(5.0, 0.5)
    return CrankNicolson(grid, soft_core(grid.x), 0.1)


def test_grid_refuses_nonsense():
    with pytest.raises(ParameterError, match=r"dx = 0.0: is not a finite positive number; give dx > 0"):
        Grid(0.0, 0.0, 10)
    with pytest.raises(ParameterError, match=r"n = 2: .*use at least 3 grid points"):
        Grid(0.0, 0.1, 2)
    with pytest.raises(ParameterError, match=r"half_width = 0.01: is less than one step"):
        Grid.symmetric(0.01, 0.1)
    assert Grid.symmetric(1.0, 0.1).n == 21 and Grid.symmetric(1.0, 0.1).x[10] == 0.0


def test_state_must_be_a_writeable_complex128_array_of_the_grid(prop):
    n = prop.grid.n
    with pytest.raises(ParameterError, match=r"psi = <float64 array>: is not a complex128 numpy array.*dtype=np.complex128"):
        prop.propagate(np.ones(n), steps=1)
    with pytest.raises(ParameterError, match=rf"psi = <array of shape \(4,\)>: does not match the grid of {n} points"):
        prop.propagate(np.ones(4, complex), steps=1)
    ro = np.ones(n, complex)
    ro.flags.writeable = False
    with pytest.raises(ParameterError, match="not a writeable C-contiguous array"):
        prop.propagate(ro, steps=1)
    with pytest.raises(ParameterError, match="not a writeable C-contiguous array"):
        prop.propagate(np.ones(2 * n, complex)[::2], steps=1)


def test_field_steps_and_outputs_are_checked(prop):
    psi = np.ones(prop.grid.n, complex)
    with pytest.raises(ParameterError, match=r"steps = None: .*give steps=, or a field array"):
        prop.propagate(psi)
    with pytest.raises(ParameterError, match=r"field = <array of shape \(2, 2\)>: is not one-dimensional"):
        prop.propagate(psi, np.zeros((2, 2)))
    with pytest.raises(ParameterError, match="field = <array>: contains NaN"):
        prop.propagate(psi, np.array([0.0, np.nan]))
    with pytest.raises(ParameterError, match=r"steps = 3: disagrees with len\(field\) = 2"):
        prop.propagate(psi, np.zeros(2), steps=3)
    with pytest.raises(ParameterError, match=r"force = <array of shape \(3,\)>"):
        prop.propagate(psi, steps=1, force=np.zeros(3))
    short = Observables(np.empty(1), np.empty(1), np.empty(1))
    with pytest.raises(ParameterError, match=r"out.norm = <array>: is not a writeable contiguous float64 array of >= 2"):
        prop.propagate(psi, steps=2, out=short)
    assert prop.propagate(psi, steps=0).norm.shape == (0,)


def test_potentials_that_break_the_preconditions_are_refused():
    grid = Grid.symmetric(5.0, 0.5)
    with pytest.raises(ParameterError, match=r"potential = <array of shape \(3,\)>: does not match the grid of 21"):
        CrankNicolson(grid, np.zeros(3), 0.1)
    with pytest.raises(ParameterError, match="has Im v > 0 somewhere, a source of norm; use v = V - 1j\\*W"):
        CrankNicolson(grid, np.full(grid.n, 0.1j), 0.1)
    with pytest.raises(ParameterError, match="imaginary time cannot use"):
        CrankNicolson(grid, np.full(grid.n, -0.1j), 0.1, imaginary=True)
    with pytest.raises(ParameterError, match=r"dt = 1.0: makes 1 \+ dt/2 H indefinite .* use dt < 0.667"):
        CrankNicolson(grid, np.full(grid.n, -3.0), 1.0, imaginary=True)
    with pytest.raises(ParameterError, match="contains NaN or infinity"):
        CrankNicolson(grid, np.full(grid.n, np.inf), 0.1)
    with pytest.raises(ParameterError, match=r"dt = -0.1: is not a finite positive number"):
        CrankNicolson(grid, np.zeros(grid.n), -0.1)
    with pytest.raises(ParameterError, match="has an imaginary part"):
        ground_states(grid, np.full(grid.n, -0.1j))
    with pytest.raises(ParameterError, match="exactly one of emax= or count="):
        eigenstates(grid, np.zeros(grid.n))
    with pytest.raises(ParameterError, match=r"has an imaginary part \(an absorber\); diagonalise the real"):
        eigenstates(grid, np.full(grid.n, -0.1j), count=1)
    # A complex array without an imaginary part is a real potential.
    real, cplx = soft_core(grid.x), soft_core(grid.x).astype(complex)
    np.testing.assert_array_equal(eigenstates(grid, cplx, count=2)[0], eigenstates(grid, real, count=2)[0])
    np.testing.assert_array_equal(ground_states(grid, cplx).energies, ground_states(grid, real).energies)


@pytest.mark.parametrize("name", ["block", "max_steps"])
@pytest.mark.parametrize("value", [-1, 0, True, 2.5, float("inf"), float("nan"), "25"])
def test_ground_states_refuse_step_counts_that_are_not_whole_numbers_from_1(name, value):
    # block = 0 used to loop for ever, block = -1 to reach numpy's "negative dimensions".
    grid = Grid.symmetric(5.0, 0.5)
    with pytest.raises(ParameterError, match=rf"^{name} = {re.escape(repr(value))}: is not a whole number >= 1; give "):
        ground_states(grid, soft_core(grid.x), **{name: value})


def test_whole_floats_are_step_counts():
    grid = Grid.symmetric(5.0, 0.5)
    v = soft_core(grid.x)
    a, b = ground_states(grid, v, block=25.0, max_steps=1000.0), ground_states(grid, v, block=25, max_steps=1000)
    assert a.energies.tobytes() == b.energies.tobytes() and list(a.steps) == list(b.steps)


def test_the_face_loads_no_compiled_core_until_a_propagator_is_built():
    # Grids, potentials, eigenstates and the job type's cost need numpy only.
    code = """
import sys
from workbench.kernels import tdse
from workbench.jobtypes.tdse import tdse as jt
compiled = lambda: sorted(m for m in sys.modules if m.startswith("workbench.kernels._"))
grid = tdse.Grid.symmetric(10.0, 0.1)
tdse.eigenstates(grid, tdse.soft_core(grid.x), count=1)
jt.estimate(jt.defaults())
assert compiled() == [], compiled()
tdse.CrankNicolson(grid, tdse.soft_core(grid.x), 0.1)
assert tdse._tdse is tdse._core() and tdse._core.__name__ == "_core"
assert tdse._tdse.__name__ in compiled(), compiled()
print(tdse._tdse.__name__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in ("workbench.kernels._tdse", "workbench.kernels._tdse_avx2")
    import workbench.kernels.tdse as face

    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        face.nothing  # noqa: B018
