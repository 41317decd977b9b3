"""The ``tdse`` job type: a one-dimensional model atom ionised by a laser pulse.

One electron in the soft-core potential ``V(x) = -Z / sqrt(x**2 + a**2)``,
driven in the length gauge by a linearly polarised pulse::

    E(t) = E0 * envelope(t) * sin(omega * t + cep),   t = 0 at the envelope's peak

and propagated by Crank–Nicolson (:mod:`workbench.kernels.tdse`).  The
initial state is the ground state, found by imaginary-time propagation with
the same kernel.  A quadratic complex absorbing potential of width
``absorber`` at both ends of the box removes electrons that leave.

Atomic units (a.u.) inside; the user gives the intensity in W/cm² and the
wavelength in nm.  Every quantity below is in a.u. unless a unit is named.

Results
-------
ground_energy
    Energy of the initial state (soft-core hydrogen, Z = a = 1: -0.6698).
final_norm, absorbed
    Norm left in the box at the end, and ``1 - final_norm``.
ionization
    ``1 -`` the population of all bound (E < 0) field-free states at the
    end: absorbed plus unbound-but-still-in-the-box.  Rounding puts a floor
    of about 1e-13 under both measures (a field-free run gives ~ +-1e-13).
bound_population, ground_population, excited_population
    Populations of the bound states, of the initial state, and their difference.
e0, omega, period, up, keldysh, quiver_radius
    The pulse in atomic units (``up`` the ponderomotive energy, ``keldysh``
    = ``sqrt(Ip / 2 Up)``).
x, density
    ``|psi(x)|**2`` at the end, averaged over bins so at most 2048 values.
t, field, dipole, acceleration, norm
    Time series, decimated to at most 8192 samples by taking every k-th step
    (no filter: keep the default dt so the Nyquist frequency stays far above
    the harmonic cutoff); ``dipole = <x>``, ``acceleration = <-dV/dx> - E(t) <1>``
    (its spectrum is the high-harmonic spectrum).

Checkpointing
-------------
With ``ctx.checkpoint`` the run saves the wave function, the step and the
series so far whenever the checkpoint is due, and resumes from it; since the
kernel's arithmetic depends only on its inputs and the build, a resumed run
gives a result bitwise identical to an uninterrupted one on the same build and
CPU.  A restart on a machine with (or without) AVX2 + FMA uses the other
compiled core (see :func:`workbench.kernels.tdse._core`), whose results differ
in the last bits.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import JobError
from ..jobtype import Cost, JobContext, JobType, Problem, error, warning
from ..params import Param

__all__ = ["tdse", "run", "laser", "pulse_field", "ATOMIC_INTENSITY", "EV_NM", "HARTREE_EV"]

#: W/cm² of a field of 1 a.u. (I = E0² × this; cycle-averaged, linear polarisation).
ATOMIC_INTENSITY = 3.50944758e16
#: hc in eV·nm: a photon of energy E eV has wavelength EV_NM / E nm.
EV_NM = 1239.841984
#: eV per hartree.
HARTREE_EV = 27.211386246
#: omega (a.u.) = OMEGA_NM / wavelength (nm).
OMEGA_NM = EV_NM / HARTREE_EV

#: The Gaussian envelope has the intensity FWHM of the sin² envelope of the
#: same ``cycles`` (2/pi * arccos(2**-0.25) of its length) and is cut at
#: +-cycles periods, where the field has fallen to 3e-5 of its peak.
_SIN2_FWHM = 2.0 / math.pi * math.acos(2.0**-0.25)

#: Largest number of samples kept of each time series, and of |psi|^2.
_MAX_SAMPLES = 8192
_MAX_DENSITY = 2048
#: Steps per call of the kernel between checkpoint opportunities.
_BLOCK = 1000
#: Target exponent of the absorber for the fastest electrons (see _absorber).
_ABSORB_EXPONENT = 15.0

#: Crank–Nicolson grid-point-steps per second on the 2-core reference machine
#: (one core; 6-12 ns per point and step for N = 1e3 ... 1e6, see
#: tests/benchmarks/bench_kernels.py), and the fixed cost of a job (imports,
#: field, bound states by eigh_tridiagonal, analysis): measured on default jobs.
_POINT_STEPS_PER_SECOND = 1.3e8
_OVERHEAD_SECONDS = 0.15
#: Imaginary-time steps for the ground state at dx = 0.1 (grows like 1/dx).
_IMAG_STEPS_AT_DX01 = 350


# -- the pulse --------------------------------------------------------------------


def laser(point: Mapping[str, Any]) -> dict[str, float]:
    """Derived pulse quantities in atomic units.

    Returns ``e0`` (peak field), ``omega``, ``period``, ``up`` (ponderomotive
    energy ``e0**2 / 4 omega**2``), ``quiver_radius`` (``e0 / omega**2``),
    ``duration`` (of the pulse), ``t_start``, ``t_end`` (with ``post_cycles``)
    and ``e_fast``, the kinetic energy the fastest electrons are assumed to
    reach: ``10 Up`` (back-scattered) plus ``3 omega`` (a few ATI photons,
    which matter when ``Up`` is small).
    """
    e0 = math.sqrt(point["intensity"] / ATOMIC_INTENSITY)
    omega = OMEGA_NM / point["wavelength"]
    period = 2.0 * math.pi / omega
    length = point["cycles"] * period
    duration = length if point["envelope"] == "sin2" else 2.0 * length
    up = e0 * e0 / (4.0 * omega * omega)
    return {
        "e0": e0,
        "omega": omega,
        "period": period,
        "up": up,
        "quiver_radius": e0 / (omega * omega),
        "duration": duration,
        "t_start": -0.5 * duration,
        "t_end": 0.5 * duration + point["post_cycles"] * period,
        "e_fast": 10.0 * up + 3.0 * omega,
    }


def pulse_field(point: Mapping[str, Any], t: np.ndarray) -> np.ndarray:
    """``E(t)`` in a.u. at the times ``t`` (``t = 0`` at the envelope's peak).

    Computed point by point with :mod:`math` rather than numpy's vectorised
    ``sin``, whose SIMD paths may round differently depending on alignment:
    a resumed run must see bitwise the same field as an uninterrupted one.
    """
    lz = laser(point)
    e0, omega, cep = lz["e0"], lz["omega"], float(point["cep"])
    length = point["cycles"] * lz["period"]
    sin, cos, exp = math.sin, math.cos, math.exp
    if point["envelope"] == "sin2":
        half = 0.5 * length
        k = math.pi / length

        def env(s: float) -> float:
            return cos(k * s) ** 2 if -half <= s <= half else 0.0
    else:
        fwhm = _SIN2_FWHM * length
        g = 2.0 * math.log(2.0) / (fwhm * fwhm)

        def env(s: float) -> float:
            return exp(-g * s * s) if -length <= s <= length else 0.0

    return np.array([e0 * env(s) * sin(omega * s + cep) for s in np.asarray(t, dtype=float).tolist()])


def _grid_points(p: Mapping[str, Any]) -> int:
    # The grid run() builds; Grid needs numpy only (the compiled core loads with a propagator).
    from ..errors import ParameterError
    from ..kernels.tdse import Grid

    try:
        return Grid.symmetric(p["box"], p["dx"]).n
    except ParameterError:  # box < dx/2: run() refuses the point; the cost model stays total
        return 1


def _steps(p: Mapping[str, Any]) -> int:
    lz = laser(p)
    return max(1, int(math.ceil((lz["t_end"] - lz["t_start"]) / p["dt"] - 1e-9)))


def _absorber_strength(p: Mapping[str, Any]) -> float:
    """Peak of the quadratic absorber: the fastest electron (momentum k) loses
    ``exp(-4 W0 L / 3k)`` crossing it twice; aim for ``exp(-15)``.  Slower
    electrons are absorbed more; a stronger absorber would reflect the
    slowest ones more (reflection grows with ``W0 / (L**2 k**3)``)."""
    k_fast = math.sqrt(2.0 * laser(p)["e_fast"])
    return 3.0 * _ABSORB_EXPONENT * k_fast / (4.0 * p["absorber"])


# -- the run ----------------------------------------------------------------------


def _signature(p: Mapping[str, Any]) -> str:
    return json.dumps({k: p[k] for k in sorted(p)}, sort_keys=True)


def _stride(n: int, limit: int) -> int:
    """Every how many of ``n`` samples to keep so that at most ``limit`` are left."""
    return max(1, math.ceil(n / limit))


def _bin_density(x: np.ndarray, rho: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    b = max(1, math.ceil(x.shape[0] / limit))
    m = (x.shape[0] // b) * b
    # Averages over whole bins keep the integral: sum(density) * b * dx = norm.
    return x[:m].reshape(-1, b).mean(axis=1), rho[:m].reshape(-1, b).mean(axis=1)


def run(point: Mapping[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Propagate one pulse and measure what it did to the atom."""
    from ..kernels.tdse import (
        CrankNicolson,
        Grid,
        Observables,
        absorbing_potential,
        eigenstates,
        ground_states,
        soft_core,
        soft_core_force,
    )

    p = dict(point)
    lz = laser(p)
    grid = Grid.symmetric(p["box"], p["dx"])
    x, dx = grid.x, grid.dx
    v = soft_core(x, p["Z"], p["a"])
    force = soft_core_force(x, p["Z"], p["a"])
    dt = p["dt"]
    nsteps = _steps(p)
    t_start = lz["t_start"]
    t_end_of_step = t_start + dt * np.arange(1, nsteps + 1)
    field_mid = pulse_field(p, t_start + dt * (np.arange(nsteps) + 0.5))
    signature = _signature(p)

    ckpt = ctx.checkpoint
    state = ckpt.load() if ckpt is not None else None
    if state is not None:
        if str(state.get("signature", "")) != signature:
            raise JobError(
                f"The checkpoint {ckpt.path} was written for other parameters than this job's; "
                "delete it to start the job afresh."
            )
        psi0 = state["psi0"]
        ground_energy = float(state["ground_energy"])
        imag_steps = int(state["imag_steps"])
        psi = np.ascontiguousarray(state["psi"], dtype=np.complex128)
        step = int(state["step"])
        norm, dipole, fexp = (np.ascontiguousarray(state[k], dtype=float) for k in ("norm", "dipole", "force"))
        ctx.log(f"tdse: resumed from the checkpoint at step {step} of {nsteps}")
    else:
        t0 = time.perf_counter()
        gs = ground_states(grid, v, 1)
        if not gs.converged:
            raise JobError(
                f"The ground state did not converge (residual {gs.residuals[0]:.2g} after {gs.steps[0]} "
                f"imaginary-time steps); check Z = {p['Z']}, a = {p['a']} and dx = {p['dx']}."
            )
        psi0 = gs.states[:, 0]
        ground_energy = float(gs.energies[0])
        imag_steps = int(gs.steps[0])
        psi = psi0.astype(np.complex128)
        step = 0
        norm, dipole, fexp = np.zeros(nsteps), np.zeros(nsteps), np.zeros(nsteps)
        ctx.log(
            f"tdse: {grid.n} grid points, {nsteps} steps; ground state E = {ground_energy:.6f} a.u. "
            f"after {imag_steps} imaginary-time steps ({time.perf_counter() - t0:.2f} s)"
        )

    if p["absorber"] > 0:
        w = absorbing_potential(x, p["box"] - p["absorber"], p["absorber"], _absorber_strength(p))
        prop = CrankNicolson(grid, v - 1j * w, dt)
    else:
        prop = CrankNicolson(grid, v, dt)

    every = getattr(ckpt, "every_steps", None) if ckpt is not None else None
    while step < nsteps:
        stop = min(step + _BLOCK, nsteps)
        if every:
            # Land on the checkpoint's step multiples so due() can fire.
            stop = min(stop, (step // every + 1) * every)
        prop.propagate(
            psi,
            field_mid[step:stop],
            force=force,
            out=Observables(norm[step:stop], dipole[step:stop], fexp[step:stop]),
        )
        step = stop
        if ckpt is not None and step < nsteps and ckpt.due(step):
            ckpt.save(
                {
                    "signature": np.asarray(signature),
                    "psi": psi,
                    "psi0": psi0,
                    "ground_energy": ground_energy,
                    "imag_steps": imag_steps,
                    "step": step,
                    "norm": norm,
                    "dipole": dipole,
                    "force": fexp,
                }
            )

    # -- analysis at the end ------------------------------------------------------
    final_norm = float(norm[-1])
    energies, phi = eigenstates(grid, v, emax=0.0)
    c = (phi.T @ psi) * dx
    bound = float(np.sum(np.abs(c) ** 2))
    # 1 - bound without the cancellation: lost norm plus the unbound part in the box.
    unbound_in_box = float(np.sum(np.abs(psi - phi @ c) ** 2) * dx)
    ground = float(abs(np.vdot(psi0, psi) * dx) ** 2)
    ip = -ground_energy

    # The series keep every stride-th of the nsteps + 1 times: the field (a Python loop) only there.
    stride = _stride(nsteps + 1, _MAX_SAMPLES)
    t = np.concatenate(([t_start], t_end_of_step))[::stride].copy()
    field_t = pulse_field(p, t)
    norm_t = np.concatenate(([float(np.vdot(psi0, psi0).real * dx)], norm))[::stride].copy()
    dip_t = np.concatenate(([float(np.sum(x * psi0 * psi0) * dx)], dipole))[::stride].copy()
    f_t = np.concatenate(([float(np.sum(force * psi0 * psi0) * dx)], fexp))[::stride].copy()
    xb, rho = _bin_density(x, np.abs(psi) ** 2, _MAX_DENSITY)

    return {
        "ground_energy": ground_energy,
        "final_norm": final_norm,
        "absorbed": 1.0 - final_norm,
        "ionization": (1.0 - final_norm) + unbound_in_box,
        "bound_population": bound,
        "ground_population": ground,
        "excited_population": bound - ground,
        "bound_states": int(energies.shape[0]),
        "e0": lz["e0"],
        "omega": lz["omega"],
        "period": lz["period"],
        "up": lz["up"],
        "keldysh": math.sqrt(ip / (2.0 * lz["up"])) if lz["up"] > 0 and ip > 0 else math.inf,
        "quiver_radius": lz["quiver_radius"],
        "grid_points": grid.n,
        "steps": nsteps,
        "imag_steps": imag_steps,
        "x": xb,
        "density": rho,
        "t": t,
        "field": field_t,
        "dipole": dip_t,
        "acceleration": f_t - field_t * norm_t,
        "norm": norm_t,
    }


# -- checks and cost ------------------------------------------------------------------


def _check_box(p: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    if p["absorber"] >= p["box"]:
        found.append(error(
            f"the absorber ({p['absorber']:g} a.u.) is as wide as the box half-width ({p['box']:g} a.u.), "
            "so it would swallow the atom; make the box larger than the absorber by at least 20 a.u.",
            "absorber", "box"))
        return found
    inner = p["box"] - p["absorber"]
    alpha = laser(p)["quiver_radius"]
    if inner < 2.0 * alpha:
        found.append(error(
            f"the free region |x| < {inner:g} a.u. (box - absorber) is smaller than twice the quiver radius "
            f"E0/ω² = {alpha:.3g} a.u.: electrons driven by the field would be absorbed before they return. "
            f"Use box >= {p['absorber'] + 4 * alpha:.4g} a.u.",
            "box", "absorber", "intensity", "wavelength"))
    elif inner < 4.0 * alpha:
        found.append(warning(
            f"the free region |x| < {inner:g} a.u. is less than 4 quiver radii (E0/ω² = {alpha:.3g} a.u.); "
            f"rescattering may be cut short. Use box >= {p['absorber'] + 4 * alpha:.4g} a.u.",
            "box", "absorber", "intensity", "wavelength"))
    if inner < 20.0:
        found.append(warning(
            f"the free region |x| < {inner:g} a.u. leaves bound states little room before the absorber; "
            "use box - absorber >= 20 a.u.", "box", "absorber"))
    if p["absorber"] == 0:
        found.append(warning(
            "absorber = 0: ionised electrons reflect off the walls at ±box and come back; "
            "give the absorber a width (e.g. 50 a.u.) unless you want a closed box.", "absorber"))
    return found


def _check_time_step(p: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    lz = laser(p)
    per_cycle = lz["period"] / p["dt"]
    if per_cycle < 20:
        found.append(error(
            f"dt = {p['dt']:g} a.u. gives only {per_cycle:.3g} steps per laser period ({lz['period']:.4g} a.u.); "
            f"use dt <= {lz['period'] / 100:.3g} a.u. (100 steps per period).", "dt", "wavelength"))
    elif per_cycle < 100:
        found.append(warning(
            f"dt = {p['dt']:g} a.u. gives {per_cycle:.3g} steps per laser period; 100 or more "
            f"(dt <= {lz['period'] / 100:.3g} a.u.) keep the field well sampled.", "dt", "wavelength"))
    # Crank–Nicolson is stable for any dt, but a component of energy E turns
    # by 2 atan(E dt/2) per step instead of E dt: a relative error (E dt)^2/12.
    phase = lz["e_fast"] * p["dt"]
    if phase > 2.0:
        found.append(error(
            f"dt = {p['dt']:g} a.u. is too coarse for the fastest electrons (E ≈ 10 Up + 3ω = {lz['e_fast']:.3g} a.u.): "
            f"E·dt = {phase:.2g} > 2, so their phase runs {100 * phase**2 / 12:.0f} % slow. "
            f"Use dt <= {0.5 / lz['e_fast']:.3g} a.u.", "dt", "intensity", "wavelength"))
    elif phase > 0.5:
        found.append(warning(
            f"E·dt = {phase:.2g} for the fastest electrons (E ≈ {lz['e_fast']:.3g} a.u.): their phase runs "
            f"{100 * phase**2 / 12:.2g} % slow; dt <= {0.5 / lz['e_fast']:.3g} a.u. keeps it below 2 %.",
            "dt", "intensity", "wavelength"))
    return found


def _check_resolution(p: Mapping[str, Any]) -> list[Problem]:
    found: list[Problem] = []
    lz = laser(p)
    k = math.sqrt(2.0 * lz["e_fast"])
    ppw = 2.0 * math.pi / k / p["dx"]
    # The three-point Laplacian gives k^2/2 (1 - (k dx)^2/12): 10 points per
    # wavelength err by 3 % in energy, 5 by 13 %.
    if ppw < 5:
        found.append(error(
            f"dx = {p['dx']:g} a.u. gives {ppw:.3g} points per de Broglie wavelength of the fastest electrons "
            f"(E ≈ 10 Up + 3ω = {lz['e_fast']:.3g} a.u., λ = {2 * math.pi / k:.3g} a.u.); use dx <= "
            f"{2 * math.pi / k / 10:.3g} a.u. (10 points).", "dx", "intensity", "wavelength"))
    elif ppw < 10:
        found.append(warning(
            f"dx = {p['dx']:g} a.u. gives {ppw:.3g} points per wavelength of the fastest electrons "
            f"(λ = {2 * math.pi / k:.3g} a.u.); 10 or more (dx <= {2 * math.pi / k / 10:.3g} a.u.) keep "
            "their energies within 3 %.", "dx", "intensity", "wavelength"))
    if p["dx"] > 0.5 * p["a"]:
        found.append(warning(
            f"dx = {p['dx']:g} a.u. is coarse for the softening a = {p['a']:g} a.u. of the core; the ground-state "
            f"energy errs by O(dx²). Use dx <= {0.5 * p['a']:g} a.u.", "dx", "a"))
    return found


def _cost(p: Mapping[str, Any]) -> Cost:
    n = _grid_points(p)
    steps = _steps(p)
    imag = _IMAG_STEPS_AT_DX01 * 0.1 / p["dx"]
    # The bound states for the final projection: about 1.7 sqrt(box) of them
    # (Z = a = 1); LAPACK's inverse iteration re-orthogonalises the clustered
    # Rydberg states, ~4e-8 s per point and pair.  Negligible below box ~ 400.
    bound = 1.7 * math.sqrt(p["box"])
    seconds = _OVERHEAD_SECONDS + n * (steps + imag) / _POINT_STEPS_PER_SECOND + 4e-8 * n * bound**2
    # psi, d0, two work rows, potentials: ~ 8 arrays of n complex; 5 series of steps; the bound states.
    memory = 80.0 + (8 * 16 * n + 5 * 8 * steps + 2 * 8 * n * bound) / 1e6
    disk = (2 * 8 * min(n, _MAX_DENSITY) + 5 * 8 * min(steps + 1, _MAX_SAMPLES)) / 1e6 + 3 * 16 * n / 1e6
    return Cost(seconds=seconds, memory_mb=memory, disk_mb=disk)


tdse = JobType(
    name="tdse",
    title="1D TDSE: soft-core atom in a laser pulse",
    description=(
        "One electron in V = -Z/sqrt(x²+a²), driven in the length gauge by E0·env(t)·sin(ωt+φ); "
        "Crank–Nicolson in Cython. Ionisation, populations, |ψ|² and the dipole acceleration."
    ),
    params=(
        Param("intensity", "float", 1e14, unit="W/cm²", min=0.0, max=1e18,
              help="Peak intensity I = E0² × 3.51e16 W/cm² (E0 in a.u.)."),
        Param("wavelength", "float", 800.0, unit="nm", min=1.0, max=1e5,
              help="Carrier wavelength; ω = 45.56/λ[nm] a.u. (800 nm: ω = 0.057, 1.55 eV)."),
        Param("cycles", "float", 4.0, unit="optical cycles", min=0.0, strict_min=True, max=1000.0,
              help="sin²: total length in optical cycles; gauss: same intensity FWHM as that sin², twice as long."),
        Param("cep", "float", 0.0, unit="rad", min=-100.0, max=100.0,
              help="Carrier-envelope phase φ in sin(ωt + φ), t = 0 at the envelope's peak."),
        Param("envelope", "choice", "sin2", choices=("sin2", "gauss"), help="Envelope of the field."),
        Param("post_cycles", "float", 0.0, unit="optical cycles", min=0.0, max=1000.0,
              help="Field-free propagation after the pulse, in optical cycles (lets electrons reach the absorber)."),
        Param("Z", "float", 1.0, unit="a.u.", min=0.0, strict_min=True, max=100.0,
              help="Nuclear charge of the soft-core potential."),
        Param("a", "float", 1.0, unit="a.u.", min=0.0, strict_min=True, max=100.0,
              help="Softening a of -Z/sqrt(x²+a²); Z = a = 1 binds by 0.6698 a.u. (18.2 eV)."),
        Param("box", "float", 150.0, unit="a.u.", min=0.0, strict_min=True, max=1e5,
              help="Half-width of the grid [-box, box], absorber included."),
        Param("dx", "float", 0.1, unit="a.u.", min=0.0, strict_min=True, max=10.0, help="Grid spacing."),
        Param("dt", "float", 0.05, unit="a.u.", min=0.0, strict_min=True, max=100.0,
              help="Time step (1 a.u. = 24.2 as)."),
        Param("absorber", "float", 50.0, unit="a.u.", min=0.0, max=1e5,
              help="Width of the absorbing layer at each end of the box (0: closed box)."),
    ),
    run=run,
    checks=(_check_box, _check_time_step, _check_resolution),
    cost=_cost,
    cost_uses=("wavelength", "cycles", "envelope", "post_cycles", "box", "dx", "dt"),
    constants={"eV_nm": EV_NM, "au_intensity": ATOMIC_INTENSITY},
    checkpointing=True,
    outputs=(
        "ionization", "absorbed", "ground_population", "bound_population", "excited_population",
        "final_norm", "ground_energy", "up", "keldysh",
    ),
)
