"""The scan model: parameters' value sources combined into points, counted without making them.

A :class:`Scan` is a job type plus one value source per parameter.  Axes
(parameters with more than one value) combine as a Cartesian product in the
job type's parameter order, the first axis varying slowest; a *zip group* of
axes is paired element by element and counts as one dimension placed where
its first member stands.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ._format import format_core_time, format_duration, format_number
from .errors import ScanError, ZipError
from .jobtype import Cost, JobType, Problem
from .registry import get_job_type
from .sources import NumericValues, Source, Value, as_source, source_from_dict

__all__ = ["Scan", "Dimension", "ScanCost", "scan", "point_id", "canonical_json", "MAX_POINTS"]

#: The most points a scan may have.  Counting is free, but a bundle has one
#: file per job: past this, split the scan.
MAX_POINTS = 100_000_000

#: Exact cost sums go up to this many distinct cost-relevant combinations; beyond, a sample estimates them.
_EXACT_COST_LIMIT = 5_000
_COST_SAMPLE = 2_000
_CHECK_CORNERS_LIMIT = 4_096


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def canonical_json(point: Mapping[str, Any]) -> str:
    """A point's canonical JSON: sorted keys, no whitespace, Python's shortest float ``repr``."""
    return _CANONICAL.encode(point)


def point_id(job_type: str, point: Mapping[str, Any], *, canonical: str | None = None) -> str:
    """The identity of a point: a hash of its canonical JSON.

    The hashed text is ``{"job_type":<name>,"params":<canonical point>}``, so
    the id is the same across runs, processes and machines.  Pass
    ``canonical`` when :func:`canonical_json` of the point is already known.
    """
    params = canonical if canonical is not None else _CANONICAL.encode(point)
    text = '{"job_type":' + _CANONICAL.encode(job_type) + ',"params":' + params + "}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


class _Steps(Sequence[tuple[Any, ...]]):
    """The steps of a dimension whose columns are all long numeric axes: tuples made on demand.

    Behaves as the tuple of step tuples it stands for; :meth:`Dimension.column`
    and the checks use the columns' arrays instead of making a million tuples.
    """

    __slots__ = ("columns",)

    def __init__(self, columns: tuple[NumericValues, ...]) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns[0])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(zip(*(c[i] for c in self.columns)))
        return tuple(c[i] for c in self.columns)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*(c.tolist() for c in self.columns))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.stack([np.asarray(c, dtype=dtype) for c in self.columns], axis=1)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Steps):
            return self.columns == other.columns
        if isinstance(other, tuple):
            return len(other) == len(self) and tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))


def _steps_at(steps: Sequence[tuple[Any, ...]], indices: list[int]) -> list[tuple[Any, ...]]:
    """``[steps[i] for i in indices]``; for long numeric axes one ``take`` per column."""
    if isinstance(steps, _Steps):
        return list(zip(*(c.array.take(indices).tolist() for c in steps.columns)))
    return [steps[i] for i in indices]


def _steps_distinct(steps: _Steps) -> bool:
    """Whether every step differs, from the columns' arrays."""
    arrays = [c.array for c in steps.columns]
    for a in arrays:
        # Strictly monotone: distinct without sorting (linspace & co.).  Comparing neighbours
        # makes a 1-byte mask, not the 8-byte array of differences.
        if (a[1:] > a[:-1]).all() or (a[1:] < a[:-1]).all():
            return True
    if len(arrays) == 1:
        return bool(np.unique(arrays[0]).size == arrays[0].size)
    return bool(len(np.unique(np.stack(arrays, axis=1), axis=0)) == len(steps))


def _first_repeat(steps: Sequence[tuple[Any, ...]]) -> tuple[int, int] | None:
    """Positions of the first step that repeats an earlier one, or ``None`` when every step differs."""
    seen: dict[tuple[Any, ...], int] = {}
    for i, st in enumerate(steps):
        if st in seen:
            return seen[st], i
        seen[st] = i
    return None


@dataclass(frozen=True)
class Dimension:
    """One dimension of a scan: a single axis, or a zip group of axes paired element by element."""

    names: tuple[str, ...]
    #: One tuple per step, one entry per name: a tuple of tuples, or for long numeric axes a
    #: sequence that makes them on demand (and behaves as that tuple).
    values: Sequence[tuple[Any, ...]]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def label(self) -> str:
        return self.names[0] if len(self.names) == 1 else "(" + ", ".join(self.names) + ")"

    def column(self, name: str) -> Sequence[Any]:
        """The values of ``name`` step by step (a tuple, or a :class:`~workbench.sources.NumericValues`)."""
        i = self.names.index(name)
        if isinstance(self.values, _Steps):
            return self.values.columns[i]
        return tuple(v[i] for v in self.values)


@dataclass(frozen=True)
class ScanCost:
    """What a scan costs, from the job type's cost model."""

    jobs: int
    core_seconds: float
    max_seconds: float
    max_memory_mb: float
    max_disk_mb: float
    estimated: bool  # True when a sample of points, not every point, was costed

    @property
    def core_hours(self) -> float:
        return self.core_seconds / 3600.0

    def _parts(self) -> tuple[str, str]:
        total = f"about {format_core_time(self.core_seconds)}" + (" (estimated from a sample)" if self.estimated else "")
        per_job = (
            f"up to {format_duration(self.max_seconds, digits=2)}, {format_number(self.max_memory_mb, 3)} MB memory, "
            f"{format_number(self.max_disk_mb, 3)} MB disk"
        )
        return total, per_job

    def __str__(self) -> str:
        total, per_job = self._parts()
        return f"{self.jobs:,} job{'s' if self.jobs != 1 else ''}, {total}; per job {per_job}"

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={format_number(getattr(self, k))}" for k in ("jobs", "core_seconds", "max_seconds", "max_memory_mb", "max_disk_mb")
        )
        return f"ScanCost({fields}, estimated={self.estimated})"

    def _repr_html_(self) -> str:
        total, per_job = self._parts()
        rows = (("jobs", f"{self.jobs:,}"), ("in all", total), ("per job", per_job))
        return _html_table(rows, "cost of the scan")


@dataclass(frozen=True, eq=False)
class Scan:
    """A parameter scan of one job type.

    Build one with :func:`scan` (or :meth:`Scan.from_dict`); constructing it
    checks every value, the zip groups, the point count and the job type's
    cross-parameter checks at the corners of the scan.

    Parameters
    ----------
    job_type
        The :class:`~workbench.jobtype.JobType`.
    sources
        One :class:`~workbench.sources.Source` per parameter (missing ones take the default).
    zip
        Groups of parameter names to pair instead of cross.
    """

    job_type: JobType
    sources: Mapping[str, Source]
    zip: tuple[tuple[str, ...], ...] = ()
    _values: dict[str, tuple[Any, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        jt = self.job_type
        for name in self.sources:
            jt.param(name)  # unknown names raise with the list of known ones
        sources = {p.name: as_source(self.sources.get(p.name, Value(p.default))) for p in jt.params}
        object.__setattr__(self, "sources", sources)
        if any(s.kind == "design" for s in sources.values()):
            object.__setattr__(self, "zip", _with_design_groups(sources, self.zip))
        values: dict[str, tuple[Any, ...]] = {}
        for p in jt.params:
            vals = sources[p.name].values(p, jt.constants)
            if len(vals) > 1 and not p.scannable:
                raise ScanError(
                    f"{p.name} cannot be scanned (it takes one value), but {sources[p.name].describe()} gives "
                    f"{len(vals)}; give a single value."
                )
            values[p.name] = vals
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "zip", tuple(tuple(g) for g in self.zip))
        self._check_zip()
        dims = self.dimensions  # builds and checks uniqueness
        n = math.prod(len(d) for d in dims)
        if n > MAX_POINTS:
            shape = " x ".join(f"{d.label}={len(d)}" for d in dims if len(d) > 1)
            raise ScanError(
                f"The scan has {n:,} points ({shape}); at most {MAX_POINTS:,} are allowed. "
                "Reduce an axis or split the scan."
            )

    # -- structure -----------------------------------------------------------
    def _check_zip(self) -> None:
        seen: dict[str, int] = {}
        for gi, group in enumerate(self.zip):
            if len(group) < 2:
                raise ZipError(
                    f"Zip group {group!r} has fewer than two parameters; a zip pairs two or more axes.", group=group
                )
            for name in group:
                self.job_type.param(name)
                if name in seen:
                    raise ZipError(
                        f"{name} is in more than one zip group; put each parameter in at most one.", group=group
                    )
                seen[name] = gi
            first = group[0]
            for name in group[1:]:
                a, b = len(self._values[first]), len(self._values[name])
                if a != b:
                    raise ZipError(
                        f"Zipped axes {first} and {name} have different lengths ({first}: {a} values, "
                        f"{name}: {b} values); zipped axes must have equal lengths. Give both the same "
                        "number of values, or remove them from the zip group to cross them.",
                        group=group,
                    )

    @cached_property
    def dimensions(self) -> tuple[Dimension, ...]:
        """Every dimension in expansion order, fixed (length-1) ones included."""
        grouped = {name: g for g in self.zip for name in g}
        dims: list[Dimension] = []
        done: set[str] = set()
        for p in self.job_type.params:
            if p.name in done:
                continue
            names = grouped.get(p.name, (p.name,))
            done.update(names)
            cols = [self._values[n] for n in names]
            steps: Sequence[tuple[Any, ...]]
            if len(cols[0]) > 1 and all(isinstance(c, NumericValues) for c in cols):
                steps = _Steps(tuple(cols))  # type: ignore[arg-type]
                repeat = None if _steps_distinct(steps) else _first_repeat(steps)
            else:
                steps = tuple(zip(*cols))
                repeat = _first_repeat(steps)
            if repeat is not None:
                first, again = repeat
                dup = steps[first]
                shown = dup[0] if len(names) == 1 else dup
                raise ScanError(
                    f"{' and '.join(names)} repeats the value {shown!r} (positions {first + 1} and "
                    f"{again + 1}); every point of a scan must be distinct. Remove the repeated value."
                )
            dims.append(Dimension(names, steps))
        return tuple(dims)

    @property
    def axes(self) -> tuple[Dimension, ...]:
        """The dimensions with more than one step."""
        return tuple(d for d in self.dimensions if len(d) > 1)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(d) for d in self.axes)

    @property
    def fixed(self) -> dict[str, Any]:
        """The parameters that take a single value."""
        return {n: d.values[0][i] for d in self.dimensions if len(d) == 1 for i, n in enumerate(d.names)}

    def values(self, name: str) -> tuple[Any, ...]:
        """The values parameter ``name`` takes, in its source's order."""
        self.job_type.param(name)
        return self._values[name]

    def __len__(self) -> int:
        return math.prod(len(d) for d in self.dimensions)

    @property
    def count(self) -> int:
        """Number of points (jobs), computed from the axis lengths without making the points."""
        return len(self)

    # -- points --------------------------------------------------------------
    def _point_from_steps(self, steps: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for dim, step in zip(self.dimensions, steps):
            for n, v in zip(dim.names, step):
                out[n] = v
        return {p.name: out[p.name] for p in self.job_type.params}

    def points(self) -> Iterator[dict[str, Any]]:
        """Every point, in expansion order (first axis slowest), as ``{parameter: value}``."""
        order = [p.name for p in self.job_type.params]
        dims = self.dimensions
        # Build each point by position: much faster than a dict merge per point.
        slots = [tuple(order.index(n) for n in d.names) for d in dims]
        base: list[Any] = [None] * len(order)
        for combo in itertools.product(*(d.values for d in dims)):
            for slot, step in zip(slots, combo):
                for i, v in zip(slot, step):
                    base[i] = v
            yield dict(zip(order, base))

    def point(self, index: int) -> dict[str, Any]:
        """Point number ``index`` (0-based, expansion order) without making the others."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"Point index {index} is out of range for a scan of {n} points.")
        index %= n
        idx = np.unravel_index(index, [len(d) for d in self.dimensions])
        return self._point_from_steps([d.values[int(i)] for d, i in zip(self.dimensions, idx)])

    def point_id(self, point: Mapping[str, Any]) -> str:
        return point_id(self.job_type.name, point)

    # -- checks and cost -----------------------------------------------------
    def _corner_points(self) -> Iterator[dict[str, Any]]:
        """Points at the extremes of every dimension, where monotone checks are worst."""
        candidates: list[list[int]] = []
        for d in self.dimensions:
            idx = {0, len(d) - 1}
            for name in d.names:
                col = d.column(name)
                if isinstance(col, NumericValues) or all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in col
                ):
                    idx.add(int(np.argmin(col)))
                    idx.add(int(np.argmax(col)))
            candidates.append(sorted(idx))
        combos = math.prod(len(c) for c in candidates)
        if combos > _CHECK_CORNERS_LIMIT:
            candidates = [sorted({c[0], c[-1]}) for c in candidates]
        for combo in itertools.islice(itertools.product(*candidates), _CHECK_CORNERS_LIMIT):
            yield self._point_from_steps([d.values[i] for d, i in zip(self.dimensions, combo)])

    @cached_property
    def problems(self) -> tuple[Problem, ...]:
        """The job type's cross-parameter findings at the corners of the scan, without repeats."""
        seen: dict[tuple[str, str], Problem] = {}
        for pt in self._corner_points():
            for pr in self.job_type.problems(pt):
                seen.setdefault((pr.level, pr.message), pr)
        return tuple(seen.values())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == "warning")

    def raise_for_errors(self) -> None:
        """Raise :class:`ScanError` listing every error finding."""
        if self.errors:
            raise ScanError(
                f"The {self.job_type.name} scan is invalid:\n"
                + "\n".join(f"  - {p.message}" for p in self.errors)
            )

    @cached_property
    def cost(self) -> ScanCost:
        """The total cost from the job type's cost model.

        Only the dimensions the cost model uses (``JobType.cost_uses``) are
        walked; every combination of them stands for the same number of jobs.
        When even those are too many, a fixed-seed random sample estimates the
        total and ``estimated`` is True.
        """
        jt = self.job_type
        uses = set(jt.param_names if jt.cost_uses is None else jt.cost_uses)
        dims = self.dimensions
        rel = [i for i, d in enumerate(dims) if len(d) > 1 and uses & set(d.names)]
        n_rel = math.prod(len(dims[i]) for i in rel)
        weight = len(self) / n_rel
        point = self._point_from_steps([d.values[0] for d in dims])
        rel_dims = [dims[i] for i in rel]

        def costs(steps: Iterable[tuple[tuple[Any, ...], ...]]) -> Iterator[Cost]:
            # One point dict, updated in place: only the cost-relevant names change.
            for combo in steps:
                for d, step in zip(rel_dims, combo):
                    for n, v in zip(d.names, step):
                        point[n] = v
                yield jt.estimate(point)

        if n_rel <= _EXACT_COST_LIMIT:
            sample = list(costs(itertools.product(*(d.values for d in rel_dims))))
            estimated = False
            total = sum(c.seconds for c in sample) * weight
        else:
            rng = random.Random(0)
            picks = [[rng.randrange(len(d)) for d in rel_dims] for _ in range(_COST_SAMPLE)]
            # The sampled steps of each dimension fetched at once (a long axis: one take from its array).
            columns = [_steps_at(d.values, [p[j] for p in picks]) for j, d in enumerate(rel_dims)]
            sample = list(costs(zip(*columns)))
            estimated = True
            total = sum(c.seconds for c in sample) / len(sample) * len(self)
        return ScanCost(
            jobs=len(self),
            core_seconds=float(total),
            max_seconds=max(c.seconds for c in sample),
            max_memory_mb=max(c.memory_mb for c in sample),
            max_disk_mb=max(c.disk_mb for c in sample),
            estimated=estimated,
        )

    # -- serialisation ---------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description: job type name, every source and the zip groups."""
        return {
            "job_type": self.job_type.name,
            "sources": {n: s.to_dict() for n, s in self.sources.items()},
            "zip": [list(g) for g in self.zip],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], job_type: JobType | None = None) -> Scan:
        """Rebuild a scan from :meth:`to_dict` output (``job_type`` overrides the registry lookup)."""
        jt = job_type or get_job_type(d["job_type"])
        sources = {n: source_from_dict(s) for n, s in d.get("sources", {}).items()}
        return cls(jt, sources, d.get("zip", ()))

    def replace(self, zip: Iterable[Sequence[str]] | None = None, **sources: Any) -> Scan:
        """A copy with some sources (and optionally the zip groups) changed."""
        # Scan() turns the values into sources and the groups into tuples.
        return Scan(self.job_type, {**self.sources, **sources}, self.zip if zip is None else zip)  # type: ignore[arg-type]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scan):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        shape = " x ".join(f"{d.label}={len(d)}" for d in self.axes) or "a single point"
        return f"<Scan {self.job_type.name}: {len(self):,} jobs ({shape})>"

    def _rows(self) -> list[tuple[str, str]]:
        """(name, what it takes) per scanned dimension, then one row of the fixed values."""
        rows = []
        for d in self.axes:
            for name in d.names:
                col = d.column(name)
                unit = self.job_type.param(name).unit
                label = f"{name} [{unit}]" if unit else name
                shown = ", ".join(format_number(v) for v in col) if len(col) <= 4 else (
                    f"{format_number(col[0])}, {format_number(col[1])}, …, {format_number(col[-1])}"
                )
                kind = self.sources[name].kind
                how = f" ({kind})" if kind not in ("list", "value") else ""
                rows.append((label, f"{len(col):,} values: {shown}{how}"))
        fixed = self.fixed
        if fixed:
            rows.append(("fixed", ", ".join(f"{k} = {format_number(v)}" for k, v in fixed.items())))
        return rows

    def __str__(self) -> str:
        head = f"Scan of {self.job_type.name}: {len(self):,} job{'s' if len(self) != 1 else ''}"
        rows = self._rows()
        width = max((len(k) for k, _ in rows), default=0)
        zips = "".join(f"\n  paired: {', '.join(g)}" for g in self.zip)
        return head + "".join(f"\n  {k:<{width}}  {v}" for k, v in rows) + zips

    def _repr_html_(self) -> str:
        title = f"scan of {self.job_type.name}: {len(self):,} job{'s' if len(self) != 1 else ''}"
        return _html_table([*self._rows(), *(("paired", ", ".join(g)) for g in self.zip)], title)


def _html_table(rows: Iterable[tuple[str, str]], title: str) -> str:
    """A small two-column table (names over what they hold) for notebooks."""
    import html

    body = "".join(
        f"<tr><th style='text-align:left;padding:1px 10px 1px 0'>{html.escape(k)}</th>"
        f"<td style='text-align:left;padding:1px 0'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption style='text-align:left'><b>{html.escape(title)}</b></caption>{body}</table>"


def _with_design_groups(sources: Mapping[str, Source], groups: Iterable[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """The zip groups, with one group added per sampling design whose parameters are not grouped yet."""
    from .designs import designs_of

    out = [tuple(g) for g in groups]
    grouped = {n for g in out for n in g}
    for d in designs_of(sources):
        names = tuple(n for n in d.names if n in sources)
        if len(names) > 1 and not grouped & set(names):
            out.append(names)
    return tuple(out)


def scan(job_type: str | JobType, *designs: Any, zip: Iterable[Sequence[str]] = (), **values: Any) -> Scan:
    """Build a scan.

    Parameters
    ----------
    job_type
        A registered job type name or a :class:`~workbench.jobtype.JobType`.
    *designs
        Sampling designs over several parameters jointly (:func:`workbench.sobol`, ...);
        each is one dimension (a zip group of its parameters).
    zip
        Groups of parameter names to pair element by element, e.g. ``[("a", "b")]``.
    **values
        Per parameter: a single value, a list/array of values, or a source
        (:class:`~workbench.sources.Linspace`, ..., :class:`~workbench.sources.Expr`).
        Parameters not given take their defaults.

    Examples
    --------
    >>> import workbench as wb
    >>> s = wb.scan("demo", drive_freq=wb.linspace(0.5, 1.5, 41), damping=[0.05, 0.1, 0.2])
    >>> len(s)
    123
    """
    from .designs import Design

    for d in designs:
        if not isinstance(d, Design):
            raise ScanError(
                f"{d!r} is not a sampling design; give parameter values by name (x=[1, 2]) and designs "
                "such as wb.sobol(n=64, x=(0, 1)) before them."
            )
        twice = sorted(set(d.names) & set(values))
        if twice:
            raise ScanError(f"{twice} are given both by a design and by name; give each parameter once.")
        values.update(d.sources())
    # Scan() turns the values into sources and the groups into tuples.
    return Scan(get_job_type(job_type), values, zip)  # type: ignore[arg-type]
