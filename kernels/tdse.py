"""One electron in one dimension: Crank–Nicolson propagation in real and imaginary time.

The checked face of :mod:`workbench.kernels._tdse` (or of its AVX2 + FMA build
``_tdse_avx2``, chosen by the CPU when the first propagator is built).
Everything here validates shapes, dtypes and the physics preconditions of the
unchecked core, then hands it arrays it may trust.  Atomic units throughout; wave functions are
normalised with the grid measure, ``sum |psi_j|^2 dx = 1``.

The discrete Hamiltonian is ``H = -1/2 D2 + diag(v) + diag(x) F(t)`` with the
three-point second difference ``D2`` and Dirichlet walls just outside the
grid; :func:`eigenstates` diagonalises exactly this matrix, so it is the
reference the propagators are tested against.

Examples
--------
>>> grid = Grid.symmetric(half_width=40.0, dx=0.1)
>>> v = soft_core(grid.x, Z=1.0, a=1.0)
>>> gs = ground_states(grid, v)
>>> round(float(gs.energies[0]), 3)
-0.67
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from types import ModuleType
from typing import NamedTuple

import numpy as np

from workbench.errors import ParameterError


@functools.cache
def _core() -> ModuleType:
    """The TDSE core for this CPU: the AVX2 + FMA build when the CPU has both, else the baseline.

    Loaded when the first :class:`CrankNicolson` is built, not at import: the
    grid, the potentials and :func:`eigenstates` need no compiled code.  The
    choice depends only on the CPU and on the build being there, so it is the
    same at every run on one machine and build, and checkpoint/restart gives
    bitwise identical results there.  A restart on a machine with (or without)
    AVX2 + FMA gets the other core, whose results differ in the last bits.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as features
    if features.get("AVX2") and features.get("FMA3"):
        try:
            from . import _tdse_avx2
        except ImportError:  # not an x86-64 build
            pass
        else:
            return _tdse_avx2
    from . import _tdse

    return _tdse


def __getattr__(name: str) -> object:
    # ``tdse._tdse`` (tests, benchmarks): the core this CPU uses, loaded on first use.
    if name == "_tdse":
        return _core()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Grid",
    "soft_core",
    "soft_core_force",
    "absorbing_potential",
    "apply_hamiltonian",
    "rayleigh_quotient",
    "eigenstates",
    "Observables",
    "CrankNicolson",
    "GroundStates",
    "ground_states",
]


def _fail(name: str, value: object, problem: str, fix: str) -> ParameterError:
    # Arrays are described ("<float64 array>"), never printed whole.
    shown = value if isinstance(value, str) and value.startswith("<") else repr(value)
    return ParameterError(f"{name} = {shown}: {problem}; {fix}.", parameter=name)


def _positive(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v <= 0:
        raise _fail(name, value, "is not a finite positive number", f"give {name} > 0")
    return v


def _count(name: str, value: object, fix: str) -> int:
    # A count of steps: a whole number >= 1 (0 would loop forever, a negative one reach numpy).
    whole = isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, (bool, np.bool_)) or not whole or value < 1:
        raise _fail(name, value, "is not a whole number >= 1", fix)
    return int(value)


def _real_potential(v: np.ndarray, fix: str, problem: str = "has an imaginary part (an absorber)") -> np.ndarray:
    # Imaginary time and the Hermitian eigenproblem take a real potential: a complex array with Im v == 0 is fine.
    if np.iscomplexobj(v):
        if np.any(v.imag != 0):
            raise _fail("potential", "<complex array>", problem, fix)
        v = v.real
    return v.astype(float)


# -- grid and potentials ----------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """A uniform grid ``x_j = x0 + j*dx``, ``j = 0 .. n-1``.

    Parameters
    ----------
    x0
        First grid point.
    dx
        Spacing (> 0).
    n
        Number of points (>= 3).
    """

    x0: float
    dx: float
    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.x0, (int, float, np.floating, np.integer)) or not math.isfinite(self.x0):
            raise _fail("x0", self.x0, "is not a finite number", "give a finite grid origin")
        object.__setattr__(self, "x0", float(self.x0))
        object.__setattr__(self, "dx", _positive("dx", self.dx))
        if isinstance(self.n, bool) or int(self.n) != self.n or self.n < 3:
            raise _fail("n", self.n, "is not a whole number >= 3", "use at least 3 grid points")
        object.__setattr__(self, "n", int(self.n))

    @classmethod
    def symmetric(cls, half_width: float, dx: float) -> Grid:
        """The grid on ``[-L, L]`` (rounded to whole steps) with a point at ``x = 0``."""
        L = _positive("half_width", half_width)
        dx = _positive("dx", dx)
        half = int(round(L / dx))
        if half < 1:
            raise _fail("half_width", half_width, f"is less than one step dx = {dx:g}", "widen the box or refine dx")
        return cls(x0=-half * dx, dx=dx, n=2 * half + 1)

    @property
    def x(self) -> np.ndarray:
        """The grid points, computed as the kernel computes them (``x0 + j*dx``)."""
        return self.x0 + np.arange(self.n) * self.dx


def soft_core(x: np.ndarray, Z: float = 1.0, a: float = 1.0) -> np.ndarray:
    """The soft-core Coulomb potential ``-Z / sqrt(x**2 + a**2)``."""
    a = _positive("a", a)
    return -float(Z) / np.sqrt(np.asarray(x, dtype=float) ** 2 + a * a)


def soft_core_force(x: np.ndarray, Z: float = 1.0, a: float = 1.0) -> np.ndarray:
    """``-dV/dx`` of :func:`soft_core`: ``-Z x / (x**2 + a**2)**1.5``."""
    a = _positive("a", a)
    x = np.asarray(x, dtype=float)
    return -float(Z) * x / (x * x + a * a) ** 1.5


def absorbing_potential(x: np.ndarray, inner: float, width: float, strength: float) -> np.ndarray:
    """A quadratic absorber ``W(x) = strength * ((|x| - inner) / width)**2`` beyond ``|x| > inner``.

    The propagators take ``v = V - 1j*W``: the norm then decays where ``W > 0``.
    A smooth (quadratic) onset reflects little of a slow electron; the
    exponent a fast one loses crossing it twice is ``4*strength*width/(3*k)``.
    """
    width = _positive("width", width)
    if not strength >= 0 or not math.isfinite(strength):
        raise _fail("strength", strength, "is not a finite number >= 0", "give strength >= 0")
    s = np.clip((np.abs(np.asarray(x, dtype=float)) - inner) / width, 0.0, None)
    return strength * s * s


# -- the discrete Hamiltonian ----------------------------------------------------


def _as_potential(grid: Grid, potential: np.ndarray, *, name: str = "potential") -> np.ndarray:
    v = np.asarray(potential)
    if v.shape != (grid.n,):
        raise _fail(name, f"<array of shape {v.shape}>", f"does not match the grid of {grid.n} points",
                    f"give one value per grid point, shape ({grid.n},)")
    if not np.issubdtype(v.dtype, np.number) or np.issubdtype(v.dtype, np.bool_):
        raise _fail(name, f"<{v.dtype} array>", "is not numeric", "give a float or complex array")
    if not np.all(np.isfinite(v)):
        raise _fail(name, "<array>", "contains NaN or infinity", "give finite values")
    return v


def _as_state(grid: Grid, psi: np.ndarray, *, name: str = "psi") -> np.ndarray:
    if not isinstance(psi, np.ndarray) or psi.dtype != np.complex128:
        what = f"<{psi.dtype} array>" if isinstance(psi, np.ndarray) else f"<{type(psi).__name__}>"
        raise _fail(name, what, "is not a complex128 numpy array (it is updated in place)",
                    "pass np.asarray(psi, dtype=np.complex128)")
    if psi.shape != (grid.n,):
        raise _fail(name, f"<array of shape {psi.shape}>", f"does not match the grid of {grid.n} points",
                    f"give shape ({grid.n},)")
    if not psi.flags.c_contiguous or not psi.flags.writeable:
        raise _fail(name, "<array>", "is not a writeable C-contiguous array", "pass a copy: psi.copy()")
    return psi


def apply_hamiltonian(grid: Grid, potential: np.ndarray, psi: np.ndarray, field: float = 0.0) -> np.ndarray:
    """``H psi`` for the discrete Hamiltonian (three-point Laplacian, Dirichlet walls)."""
    v = _as_potential(grid, potential)
    psi = np.asarray(psi)
    if psi.shape[0] != grid.n:
        raise _fail("psi", f"<array of shape {psi.shape}>", f"does not match the grid of {grid.n} points",
                    f"give shape ({grid.n},) or ({grid.n}, k)")
    h = 1.0 / grid.dx**2
    diag = h + v + (grid.x * field if field else 0.0)
    if psi.ndim == 2:
        diag = diag[:, None]
    out = diag * psi
    out[1:] -= 0.5 * h * psi[:-1]
    out[:-1] -= 0.5 * h * psi[1:]
    return out


def rayleigh_quotient(grid: Grid, potential: np.ndarray, psi: np.ndarray) -> tuple[float, float]:
    """``(E, r)``: the energy ``<psi|H|psi>/<psi|psi>`` and the residual ``||H psi - E psi|| / ||psi||``."""
    hpsi = apply_hamiltonian(grid, potential, psi)
    nrm = float(np.vdot(psi, psi).real)
    e = float(np.vdot(psi, hpsi).real) / nrm
    r = float(np.linalg.norm(hpsi - e * psi)) / math.sqrt(nrm)
    return e, r


def eigenstates(
    grid: Grid, potential: np.ndarray, *, emax: float | None = None, count: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the discrete Hamiltonian by :func:`scipy.linalg.eigh_tridiagonal`.

    Parameters
    ----------
    grid, potential
        The grid and a real potential.
    emax
        Return the states with energy below ``emax`` (e.g. ``0``: the bound states).
    count
        Or return the ``count`` lowest states.

    Returns
    -------
    energies : (k,) float64
    states : (n, k) float64, normalised so that ``sum(states**2, axis=0) * dx == 1``
    """
    from scipy.linalg import eigh_tridiagonal

    v = _real_potential(_as_potential(grid, potential), "diagonalise the real (Hermitian) part: potential.real")
    if (emax is None) == (count is None):
        raise ParameterError("eigenstates() needs exactly one of emax= or count=.")
    h = 1.0 / grid.dx**2
    d = h + v
    e = np.full(grid.n - 1, -0.5 * h)
    if count is not None:
        if int(count) != count or not 1 <= count <= grid.n:
            raise _fail("count", count, f"is not between 1 and {grid.n}", "ask for fewer states")
        w, vec = eigh_tridiagonal(d, e, select="i", select_range=(0, int(count) - 1))
    else:
        lo = float(d.min() - 2 * h - 1.0)  # below the Gershgorin bound of the spectrum
        if not emax > lo:
            return np.empty(0), np.empty((grid.n, 0))
        w, vec = eigh_tridiagonal(d, e, select="v", select_range=(lo, float(emax)))
    return w, vec / math.sqrt(grid.dx)


# -- propagation -------------------------------------------------------------------


class Observables(NamedTuple):
    """Per-step expectation values after each step (unnormalised: they include the lost norm)."""

    norm: np.ndarray
    """``<psi|psi>``."""
    dipole: np.ndarray
    """``<psi|x|psi>``."""
    force: np.ndarray
    """``<psi|f|psi>`` for the ``force`` array given (``-dV/dx``: the acceleration without the field)."""


class CrankNicolson:
    """A Crank–Nicolson propagator on a uniform grid, in real or imaginary time.

    One step solves ``(1 + cH) psi' = (1 - cH) psi`` with ``c = 1j*dt/2``
    (real time) or ``c = dt/2`` (imaginary time, ``dt`` being the step in
    ``tau``), ``H`` taken at the middle of the step.  Real-time steps are
    unitary for a real potential; the error is ``O(dt**2)`` per unit time.

    Parameters
    ----------
    grid
        The grid.
    potential
        ``v`` on the grid: real, or complex with ``Im v <= 0`` (absorbing).
    dt
        The time step (> 0).
    imaginary
        Propagate in imaginary time; ``potential`` must then be real and
        ``> -2/dt`` so that every pivot of the elimination is positive.
    """

    def __init__(self, grid: Grid, potential: np.ndarray, dt: float, *, imaginary: bool = False) -> None:
        if not isinstance(grid, Grid):
            raise ParameterError(f"grid = {grid!r}: is not a Grid; build one with Grid.symmetric(half_width, dx).")
        self.grid = grid
        self.dt = _positive("dt", dt)
        self.imaginary = bool(imaginary)
        v = _as_potential(grid, potential)
        if self.imaginary:
            v = _real_potential(v, "pass the real potential (no absorber) for ground states",
                                "has an imaginary part, which imaginary time cannot use")
            if v.min() <= -2.0 / self.dt:
                raise _fail("dt", dt, f"makes 1 + dt/2 H indefinite (min potential {v.min():.6g} <= -2/dt)",
                            f"use dt < {2.0 / -v.min():.3g} or shift the potential up")
            c: complex = 0.5 * self.dt
        else:
            if np.iscomplexobj(v) and np.any(v.imag > 0):
                raise _fail("potential", "<complex array>", "has Im v > 0 somewhere, a source of norm",
                            "use v = V - 1j*W with W >= 0")
            c = 0.5j * self.dt
        alpha = -c / (2.0 * grid.dx**2)
        # The core works with the system divided by its off-diagonal alpha;
        # precompute the field-free diagonal once.
        self._d0 = np.ascontiguousarray((1.0 + c * (1.0 / grid.dx**2 + v)) / alpha, dtype=np.complex128)
        self._beta = complex(2.0 / alpha)
        self._core = _core()
        self._work = np.empty(self._core.work_length(grid.n), dtype=np.complex128)
        self._zeros = np.zeros(grid.n)

    def propagate(
        self,
        psi: np.ndarray,
        field: np.ndarray | None = None,
        *,
        steps: int | None = None,
        force: np.ndarray | None = None,
        out: Observables | None = None,
    ) -> Observables:
        """Advance ``psi`` in place.

        Parameters
        ----------
        psi
            complex128, C-contiguous, one value per grid point; overwritten.
        field
            The field ``F`` at the middle of each step (one step per value).
            ``None``: field-free, ``steps`` steps.
        steps
            Number of steps when ``field`` is None.
        force
            Real array whose expectation is recorded (default zeros).
        out
            Arrays to write the observables into (each at least as long as
            the number of steps); fresh arrays by default.

        Returns
        -------
        Observables
            ``norm``, ``dipole``, ``force`` after each step, including the
            factor ``dx``.
        """
        g = self.grid
        psi = _as_state(g, psi)
        if field is None:
            if steps is None or isinstance(steps, bool) or int(steps) != steps or steps < 0:
                raise _fail("steps", steps, "is not a whole number >= 0", "give steps=, or a field array")
            fld = np.zeros(int(steps))
        else:
            fld = np.ascontiguousarray(field, dtype=float)
            if fld.ndim != 1:
                raise _fail("field", f"<array of shape {fld.shape}>", "is not one-dimensional",
                            "give one field value per step")
            if steps is not None and steps != fld.shape[0]:
                raise _fail("steps", steps, f"disagrees with len(field) = {fld.shape[0]}", "give one or the other")
            if not np.all(np.isfinite(fld)):
                raise _fail("field", "<array>", "contains NaN or infinity", "give finite field values")
        if force is None:
            f = self._zeros
        else:
            f = np.ascontiguousarray(force, dtype=float)
            if f.shape != (g.n,) or not np.all(np.isfinite(f)):
                raise _fail("force", f"<array of shape {f.shape}>", f"is not {g.n} finite values",
                            "give one real value per grid point")
        nsteps = fld.shape[0]
        if out is None:
            out = Observables(np.empty(nsteps), np.empty(nsteps), np.empty(nsteps))
        else:
            for name, arr in zip(Observables._fields, out):
                if (not isinstance(arr, np.ndarray) or arr.dtype != np.float64 or arr.ndim != 1
                        or arr.shape[0] < nsteps or not arr.flags.c_contiguous or not arr.flags.writeable):
                    raise _fail(f"out.{name}", "<array>", f"is not a writeable contiguous float64 array of "
                                f">= {nsteps} values", "pass Observables of np.empty(steps) arrays")
                if np.shares_memory(arr, psi):
                    raise _fail(f"out.{name}", "<array>", "overlaps psi", "pass separate arrays")
        if nsteps:
            self._core.cn_steps(psi, self._d0, self._work, self._beta, g.x0, g.dx, fld, f,
                                out.norm, out.dipole, out.force)
        dx = g.dx
        # The core sums without the measure; one pass here keeps it out of the loop.
        for arr in out:
            arr[:nsteps] *= dx
        return Observables(out.norm[:nsteps], out.dipole[:nsteps], out.force[:nsteps])


# -- ground and excited states by imaginary time --------------------------------------


@dataclass(frozen=True)
class GroundStates:
    """The result of :func:`ground_states`.

    Attributes
    ----------
    energies
        ``(k,)`` Rayleigh quotients, lowest first.
    states
        ``(n, k)`` real, normalised, mutually orthogonal states.
    residuals
        ``||H psi - E psi||`` of each state.
    steps
        Imaginary-time steps spent on each state.
    converged
        Whether every residual reached the tolerance.
    """

    energies: np.ndarray
    states: np.ndarray
    residuals: np.ndarray
    steps: np.ndarray
    converged: bool


def _orthonormalise(psi: np.ndarray, lower: list[np.ndarray], dx: float) -> None:
    # Twice is enough (Kahan/Parlett): one classical pass leaves O(eps * growth).
    for _ in range(2):
        for phi in lower:
            psi -= (np.vdot(phi, psi) * dx) * phi
    psi /= math.sqrt(float(np.vdot(psi, psi).real) * dx)


def ground_states(
    grid: Grid,
    potential: np.ndarray,
    nstates: int = 1,
    *,
    tol: float = 1e-9,
    max_steps: int = 200_000,
    block: int = 25,
) -> GroundStates:
    """The lowest ``nstates`` eigenstates by imaginary-time Crank–Nicolson propagation.

    Each state is propagated in imaginary time with the same kernel as the
    real-time propagation, kept orthogonal to the states below it, until the
    residual ``||H psi - E psi||`` falls below ``tol``.

    The step is chosen so that the lowest state dominates every other one:
    with the potential shifted to ``v - min(v) >= 0``, the propagator's
    eigenvalue ``(1 - e tau/2)/(1 + e tau/2)`` for the state's shifted energy
    ``e`` must exceed its magnitude at the top of the spectrum ``E_top ~
    2/dx**2 + max v - min v``, i.e. ``tau**2 e E_top < 4``; we take
    ``tau = 1/sqrt(e0 E_top)`` with ``e0`` the energy of the start state
    (an upper bound of ``e``).

    Parameters
    ----------
    grid, potential
        The grid and a real potential (no absorber).
    nstates
        How many states, lowest first.
    tol
        Residual at which a state counts as converged.
    max_steps
        Give up on a state after this many steps (``converged`` is then False);
        a whole number >= 1.
    block
        Steps between re-orthogonalisation and convergence checks (>= 1).
    """
    v = _real_potential(_as_potential(grid, potential), "pass the real potential for ground states")
    if isinstance(nstates, bool) or int(nstates) != nstates or not 1 <= nstates < grid.n:
        raise _fail("nstates", nstates, f"is not between 1 and {grid.n - 1}", "ask for fewer states")
    tol = _positive("tol", tol)
    max_steps = _count("max_steps", max_steps, "give the most imaginary-time steps per state, e.g. 200000")
    block = _count("block", block, "give the steps between convergence checks, e.g. 25")
    x = grid.x
    dx = grid.dx
    shift = float(v.min())
    vs = v - shift
    e_top = 2.0 / dx**2 + float(vs.max())
    # Start states with the right symmetry about the potential minimum.
    centre = float(x[int(np.argmin(v))])
    width = max(1.0, 10 * dx)
    states: list[np.ndarray] = []
    energies, residuals, used = [], [], []
    converged = True
    for k in range(int(nstates)):
        psi = (((x - centre) / width) ** k * np.exp(-0.5 * ((x - centre) / width) ** 2)).astype(np.complex128)
        _orthonormalise(psi, states, dx)
        e0, r = rayleigh_quotient(grid, vs, psi)
        tau = 1.0 / math.sqrt(max(e0, 1e-3 / e_top) * e_top)
        prop = CrankNicolson(grid, vs, tau, imaginary=True)
        out = Observables(np.empty(block), np.empty(block), np.empty(block))
        n = 0
        while r > tol and n < max_steps:
            prop.propagate(psi, steps=block, out=out)
            n += block
            _orthonormalise(psi, states, dx)
            _, r = rayleigh_quotient(grid, vs, psi)
        converged &= r <= tol
        psi = psi.real.copy()  # the exact eigenvectors of a real symmetric H are real
        _orthonormalise(psi, states, dx)
        e, r = rayleigh_quotient(grid, v, psi)
        states.append(psi)
        energies.append(e)
        residuals.append(r)
        used.append(n)
    return GroundStates(
        energies=np.array(energies),
        states=np.stack(states, axis=1),
        residuals=np.array(residuals),
        steps=np.array(used),
        converged=bool(converged),
    )
