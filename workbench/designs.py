"""Sampling designs and adaptive axes: value sources beyond grids.

A *design* draws ``n`` points over several continuous parameters jointly,
within bounds: scrambled Sobol and Halton sequences and Latin hypercubes
(:mod:`scipy.stats.qmc`), uniform random points, or the rows of a table.  In
a scan the design's parameters form one zip group, so the design is one
dimension that crosses with the other axes::

    s = wb.scan("demo", wb.sobol(n=256, seed=1, drive_freq=(0.5, 1.5), damping=(1e-3, 1, "log")))

Each parameter of the design gets a :class:`DesignColumn` source holding the
whole design (method, count, seed and bounds), so a bundle's ``info.pkl``
and ``parameters.txt`` record how to draw the same points again.  The count
is known before drawing (``n``, checked against
:data:`~workbench.sources.MAX_AXIS_VALUES`); a design without a seed takes a
random one at construction, which is then recorded like a given one.

An :class:`Adaptive` source marks a continuous parameter for
:func:`workbench.adapt`: its values in the scan are its two bounds (where
every learner starts); the adaptive loop adds points in between.

The command line and the form write these as text, read here by
:func:`source_from_call` without :func:`eval`: the call's name and keywords
are taken from the syntax tree and every argument is a value expression of
:mod:`workbench.expr`, e.g. ``adaptive(0.5, 1.5)`` or
``sobol(256, seed=1, drive_freq=(0.5, 1.5), damping=(1e-3, 1, "log"))``.
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import secrets
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from .errors import ExpressionError, ParameterError, ScanError
from .sources import MAX_AXIS_VALUES, Source, _as_number

__all__ = [
    "Bound",
    "Design",
    "DesignColumn",
    "Adaptive",
    "METHODS",
    "sobol",
    "halton",
    "latin_hypercube",
    "uniform",
    "table",
    "adaptive",
    "source_from_call",
    "design_from_text",
    "designs_of",
]

#: Sampling methods of :class:`Design` (``"table"`` holds given points).
METHODS = ("sobol", "halton", "lhs", "uniform", "table")
_SCALES = ("linear", "log")


@dataclass(frozen=True)
class Bound:
    """The range of one parameter of a design: ``lo`` to ``hi``, sampled linearly or logarithmically."""

    name: str
    lo: float
    hi: float
    scale: str = "linear"

    def __post_init__(self) -> None:
        lo, hi = _as_number(self.name, "the lower bound", self.lo), _as_number(self.name, "the upper bound", self.hi)
        if not lo < hi:
            raise ScanError(
                f"{self.name}: bounds ({self.lo!r}, {self.hi!r}) are not increasing; give (low, high) with low < high."
            )
        if self.scale not in _SCALES:
            raise ScanError(f"{self.name}: scale {self.scale!r} is unknown; use 'linear' or 'log'.")
        if self.scale == "log" and lo <= 0:
            raise ScanError(
                f"{self.name}: a log scale needs positive bounds, not ({self.lo!r}, {self.hi!r}); "
                "give a positive low bound or use the linear scale."
            )
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def scale_unit(self, u: np.ndarray) -> np.ndarray:
        """Map ``u`` in [0, 1] onto the range (the bounds included exactly)."""
        if self.scale == "log":
            a, b = math.log(self.lo), math.log(self.hi)
            out = np.exp(a + u * (b - a))
        else:
            out = self.lo + u * (self.hi - self.lo)
        return np.clip(out, self.lo, self.hi)

    def describe(self) -> str:
        log = ', "log"' if self.scale == "log" else ""
        return f"{self.name}=({self.lo!r}, {self.hi!r}{log})"


def _bound(name: str, spec: Any) -> Bound:
    """A :class:`Bound` from ``(lo, hi)`` or ``(lo, hi, "log")``."""
    if isinstance(spec, Bound):
        return spec
    if isinstance(spec, np.ndarray):
        spec = spec.tolist()
    if not isinstance(spec, Sequence) or isinstance(spec, str) or len(spec) not in (2, 3):
        raise ScanError(f"{name} = {spec!r} is not a range; give (low, high) or (low, high, 'log').")
    return Bound(name, spec[0], spec[1], *(spec[2:]))


def _qmc_rng_keyword() -> str:
    # scipy >= 1.15 takes the generator as rng=; older versions as seed=.
    from scipy.stats import qmc

    return "rng" if "rng" in inspect.signature(qmc.Sobol).parameters else "seed"


@dataclass(frozen=True)
class Design:
    """``n`` points over several continuous parameters, drawn jointly within bounds.

    Build one with :func:`sobol`, :func:`halton`, :func:`latin_hypercube`,
    :func:`uniform` or :func:`table`, and pass it to :func:`workbench.scan`.

    Parameters
    ----------
    method
        One of :data:`METHODS`.
    n
        The number of points (known before drawing).
    seed
        The seed of the scrambling or drawing (recorded in the bundle).
    bounds
        One :class:`Bound` per parameter, in order.
    rows
        For ``method="table"``: the points, one tuple of values per parameter (columns).
    """

    method: str
    n: int
    seed: int | None
    bounds: tuple[Bound, ...] = ()
    rows: tuple[tuple[float, ...], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ScanError(f"Design method {self.method!r} is unknown; use one of {', '.join(METHODS)}.")
        if not self.bounds:
            raise ScanError(f"A {self.method} design needs at least one parameter, e.g. {self.method}(n=64, x=(0, 1)).")
        names = [b.name for b in self.bounds]
        if len(set(names)) != len(names):
            raise ScanError(f"A design names a parameter twice ({names}); give each once.")
        n = self.n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) and not (isinstance(n, float) and n.is_integer()):
            raise ScanError(f"{self.method}: n = {n!r} is not a whole number; give the number of points.")
        n = int(n)
        if n < 1 or n > MAX_AXIS_VALUES:
            raise ScanError(f"{self.method}: n = {n:,} points; give from 1 to {MAX_AXIS_VALUES:,}.")
        object.__setattr__(self, "n", n)
        if self.method == "table":
            if len(self.rows) != len(self.bounds) or any(len(c) != n for c in self.rows):
                raise ScanError("A table design needs one column of n values per parameter.")
        elif self.seed is None or isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ScanError(f"{self.method}: seed = {self.seed!r} is not a whole number >= 0; give e.g. seed=1.")
        else:
            object.__setattr__(self, "seed", int(self.seed))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bounds)

    def __len__(self) -> int:
        return self.n

    @cached_property
    def points(self) -> np.ndarray:
        """The points, an ``(n, parameters)`` float array (drawn once, the same for the same seed)."""
        d = len(self.bounds)
        if self.method == "table":
            return np.asarray(self.rows, dtype=float).T.copy()
        if self.method == "uniform":
            u = np.random.default_rng(self.seed).random((self.n, d))
        else:
            from scipy.stats import qmc

            rng = {_qmc_rng_keyword(): np.random.default_rng(self.seed)}
            if self.method == "lhs":
                engine = qmc.LatinHypercube(d, **rng)
            else:
                engine = {"sobol": qmc.Sobol, "halton": qmc.Halton}[self.method](d, scramble=True, **rng)
            with warnings.catch_warnings():
                # Sobol's balance needs n a power of 2; any n is still a valid low-discrepancy sample.
                warnings.simplefilter("ignore", UserWarning)
                u = engine.random(self.n)
        return np.stack([b.scale_unit(u[:, i]) for i, b in enumerate(self.bounds)], axis=1)

    def sources(self) -> dict[str, DesignColumn]:
        """One :class:`DesignColumn` source per parameter, for a scan."""
        return {b.name: DesignColumn(self, b.name) for b in self.bounds}

    def describe(self) -> str:
        if self.method == "table":
            return f"table of {self.n:,} point(s) of {', '.join(self.names)}"
        name = {"lhs": "latin_hypercube"}.get(self.method, self.method)
        return f"{name}(n={self.n}, seed={self.seed}, " + ", ".join(b.describe() for b in self.bounds) + ")"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "method": self.method,
            "n": self.n,
            "seed": self.seed,
            "bounds": [[b.name, b.lo, b.hi, b.scale] for b in self.bounds],
        }
        if self.method == "table":
            d["rows"] = [list(c) for c in self.rows]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Design:
        return cls(
            d["method"],
            d["n"],
            d.get("seed"),
            tuple(Bound(*b) for b in d["bounds"]),
            tuple(tuple(c) for c in d.get("rows", ())),
        )


@dataclass(frozen=True)
class DesignColumn(Source):
    """The values of one parameter of a :class:`Design` (the design is one zip group of a scan)."""

    design: Design
    column: str
    kind: ClassVar[str] = "design"

    def __post_init__(self) -> None:
        if self.column not in self.design.names:
            raise ScanError(f"{self.column} is not a parameter of {self.design.describe()}.")

    def _raw(self, name: str, names: Mapping[str, float] | None) -> np.ndarray:
        return self.design.points[:, self.design.names.index(self.column)].copy()

    def values(self, param: Any, names: Mapping[str, float] | None = None) -> Sequence[Any]:
        _check_continuous(param, self.design.bounds[self.design.names.index(self.column)], self.design.describe())
        return super().values(param, names)

    def describe(self) -> str:
        return f"{self.column} of {self.design.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "design": self.design.to_dict(), "column": self.column}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DesignColumn:
        return cls(Design.from_dict(d["design"]), d["column"])


def _check_continuous(param: Any, b: Bound, what: str) -> None:
    """Refuse a design or adaptive range over a parameter that is not continuous or is out of its range."""
    if param.kind != "float":
        raise ScanError(
            f"{param.name} is a {param.kind} parameter, but {what} needs a continuous (float) one; "
            f"give {param.name} a list of values instead."
        )
    for v in (b.lo, b.hi):
        try:
            param.check(v)
        except ParameterError as e:
            raise ScanError(f"{param.name}: the bound {v!r} of {what} is outside the parameter's range: {e}") from None


@dataclass(frozen=True)
class Adaptive(Source):
    """A continuous parameter that :func:`workbench.adapt` samples where the result changes fastest.

    In a scan its values are its two bounds (the points every learner starts
    from); the adaptive loop appends the points in between to the bundle.
    ``scale="log"`` makes the learner work on the logarithm of the parameter.
    """

    lo: float
    hi: float
    scale: str = "linear"
    kind: ClassVar[str] = "adaptive"

    def __post_init__(self) -> None:
        b = Bound("adaptive", self.lo, self.hi, self.scale)  # checks the bounds before anything is written
        object.__setattr__(self, "lo", b.lo)
        object.__setattr__(self, "hi", b.hi)

    @property
    def bound(self) -> Bound:
        return Bound("adaptive", self.lo, self.hi, self.scale)

    def _raw(self, name: str, names: Mapping[str, float] | None) -> list[Any]:
        Bound(name, self.lo, self.hi, self.scale)
        return [self.lo, self.hi]

    def values(self, param: Any, names: Mapping[str, float] | None = None) -> Sequence[Any]:
        _check_continuous(param, Bound(param.name, self.lo, self.hi, self.scale), self.describe())
        return super().values(param, names)

    def describe(self) -> str:
        log = ', "log"' if self.scale == "log" else ""
        return f"adaptive({self.lo!r}, {self.hi!r}{log})"


# ---------------------------------------------------------------------------
# Constructors
# ---------------------------------------------------------------------------
def _design(method: str, n: int, seed: int | None, ranges: Mapping[str, Any]) -> Design:
    if seed is None:
        seed = secrets.randbits(32)  # recorded in the design, so the points can be drawn again
    return Design(method, n, seed, tuple(_bound(k, v) for k, v in ranges.items()))


def sobol(n: int, *, seed: int | None = None, **ranges: Any) -> Design:
    """A scrambled Sobol sequence of ``n`` points (balanced when ``n`` is a power of 2).

    Parameters
    ----------
    n
        Number of points.
    seed
        Seed of the scrambling; ``None`` takes a random one (recorded in the bundle).
    **ranges
        Per parameter ``(low, high)`` or ``(low, high, "log")``.

    Examples
    --------
    >>> d = sobol(n=8, seed=1, drive_freq=(0.5, 1.5), damping=(1e-3, 1, "log"))
    >>> d.points.shape
    (8, 2)
    """
    return _design("sobol", n, seed, ranges)


def halton(n: int, *, seed: int | None = None, **ranges: Any) -> Design:
    """A scrambled Halton sequence of ``n`` points; see :func:`sobol`."""
    return _design("halton", n, seed, ranges)


def latin_hypercube(n: int, *, seed: int | None = None, **ranges: Any) -> Design:
    """A Latin hypercube of ``n`` points (one in each of ``n`` slices of every range); see :func:`sobol`."""
    return _design("lhs", n, seed, ranges)


def uniform(n: int, *, seed: int | None = None, **ranges: Any) -> Design:
    """``n`` independent uniformly random points; see :func:`sobol`."""
    return _design("uniform", n, seed, ranges)


def table(points: Any, columns: Sequence[str] | None = None) -> Design:
    """The rows of a table as a design: a pandas DataFrame, a mapping of columns, or a CSV file's path.

    Parameters
    ----------
    points
        The table; each column named after a parameter holds that parameter's values.
    columns
        The columns to use (default: all).

    The values are copied into the design, so the bundle does not depend on the file.
    """
    import pandas as pd

    if isinstance(points, (str, os.PathLike)):
        try:
            df = pd.read_csv(points)
        except (OSError, ValueError) as e:
            raise ScanError(f"Cannot read the table of points {os.fspath(points)!r}: {e}") from e
    elif isinstance(points, pd.DataFrame):
        df = points
    elif isinstance(points, Mapping):
        df = pd.DataFrame(dict(points))
    else:
        raise ScanError(f"A table of points is a DataFrame, a dict of columns or a CSV path, not {type(points).__name__}.")
    cols = list(columns) if columns is not None else [str(c) for c in df.columns]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ScanError(f"The table has no column(s) {missing}; it has {list(map(str, df.columns))}.")
    if not cols or len(df) == 0:
        raise ScanError("The table of points is empty; give at least one row and one column.")
    data = []
    for c in cols:
        try:
            a = np.asarray(df[c], dtype=float)
        except (TypeError, ValueError):
            raise ScanError(f"Column {c!r} of the table holds values that are not numbers; give numbers.") from None
        if not np.isfinite(a).all():
            row = int(np.flatnonzero(~np.isfinite(a))[0])
            raise ScanError(f"Column {c!r} of the table has {a[row]!r} in row {row + 1}; give finite numbers.")
        data.append(a)
    bounds = tuple(
        Bound(c, float(a.min()), float(a.max()) if a.max() > a.min() else float(a.min()) + 1.0) for c, a in zip(cols, data)
    )
    return Design("table", len(df), None, bounds, tuple(tuple(a.tolist()) for a in data))


def adaptive(lo: float, hi: float, scale: str = "linear") -> Adaptive:
    """Mark a continuous parameter for :func:`workbench.adapt`, between ``lo`` and ``hi``.

    Examples
    --------
    >>> import workbench as wb
    >>> s = wb.scan("demo", drive_freq=wb.adaptive(0.5, 1.5), damping=[0.01, 0.05])
    """
    return Adaptive(lo, hi, scale)


def designs_of(sources: Mapping[str, Source]) -> list[Design]:
    """The distinct designs behind the :class:`DesignColumn` sources of a scan, in order."""
    out: list[Design] = []
    for s in sources.values():
        if isinstance(s, DesignColumn) and s.design not in out:
            out.append(s.design)
    return out


# ---------------------------------------------------------------------------
# Text (command line, form): calls read from the syntax tree, arguments by workbench.expr
# ---------------------------------------------------------------------------
_CALLS = {"sobol": "sobol", "halton": "halton", "latin_hypercube": "lhs", "lhs": "lhs", "uniform": "uniform"}


def _call_of(text: str) -> ast.Call | None:
    """The call ``name(...)`` that ``text`` is, when its name is one of ours; else ``None``."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    node = tree.body
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (node.func.id in _CALLS or node.func.id == "adaptive"):
        return node
    return None


def _arg(text: str, node: ast.AST, names: Mapping[str, float] | None) -> Any:
    """One argument: a string literal, a tuple of arguments, or a value expression of :mod:`workbench.expr`."""
    from .expr import evaluate

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_arg(text, e, names) for e in node.elts)
    segment = ast.get_source_segment(text, node) or ""
    v = evaluate(segment, names=names)
    if isinstance(v, np.ndarray):
        raise ExpressionError(f"{segment!r} is a list; give a single number here.")
    return v


def _parse_call(text: str, names: Mapping[str, float] | None) -> tuple[str, list[Any], dict[str, Any]] | None:
    text = text.strip()
    node = _call_of(text)
    if node is None:
        return None
    args = [_arg(text, a, names) for a in node.args]
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ExpressionError(f"{text!r}: unpacking with ** is not allowed.")
        kwargs[kw.arg] = _arg(text, kw.value, names)
    return node.func.id, args, kwargs  # type: ignore[attr-defined]


def design_from_text(text: str, names: Mapping[str, float] | None = None) -> Design:
    """A design from text such as ``sobol(256, seed=1, a=(0, 1), b=(1e-3, 1, "log"))`` (never evaluated by Python)."""
    parsed = _parse_call(text, names)
    if parsed is None or parsed[0] == "adaptive":
        raise ExpressionError(
            f"{text!r} is not a design; write e.g. sobol(256, seed=1, a=(0, 1), b=(1e-3, 1, \"log\")) "
            "(or halton, latin_hypercube, uniform)."
        )
    fn, args, kwargs = parsed
    n = kwargs.pop("n", args[0] if args else None)
    if n is None or len(args) > 1:
        raise ExpressionError(f"{text!r}: give the number of points first and the ranges by name, e.g. {fn}(64, x=(0, 1)).")
    seed = kwargs.pop("seed", None)
    return _design(_CALLS[fn], n, seed, kwargs)


def source_from_call(name: str, text: str, names: Mapping[str, float] | None = None) -> Source | None:
    """The source for parameter ``name`` written as ``adaptive(lo, hi)`` or a one-parameter design call.

    ``sobol(64, 0.5, 1.5, seed=1)`` (or with ``"log"`` after the bounds) is a
    design over this one parameter.  Returns ``None`` when ``text`` is not such
    a call (it is then an ordinary value expression).
    """
    parsed = _parse_call(text, names)
    if parsed is None:
        return None
    fn, args, kwargs = parsed
    try:
        if fn == "adaptive":
            return Adaptive(*args, **kwargs)
        seed = kwargs.pop("seed", None)
        n = kwargs.pop("n", None)
        if n is None and args:
            n, args = args[0], args[1:]
        if kwargs or len(args) not in (2, 3) or n is None:
            raise ExpressionError(
                f"{name} = {text!r}: write {fn}(n, low, high, seed=...) for one parameter, or a joint design "
                f"with --design {fn}(n, seed=..., a=(low, high), b=(low, high))."
            )
        return _design(_CALLS[fn], n, seed, {name: tuple(args)}).sources()[name]
    except TypeError as e:
        raise ExpressionError(f"{name} = {text!r}: {e}; e.g. adaptive(0.5, 1.5) or sobol(64, 0.5, 1.5, seed=1).") from None
