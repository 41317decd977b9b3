"""Selecting results the way the science is phrased.

::

    from workbench.select import sel, neighbours, grid, pivot, line

    sel(df, cycles=8, intensity=(1e13, 1e14))      # cycles = 8 and 1e13 <= intensity <= 1e14
    sel(df, damping=[0.05, 0.2], status="completed")
    neighbours(df, job_id, "drive_freq", n=2)      # the 2 jobs on each side along drive_freq
    line(df, "drive_freq", damping=0.1)            # a 1D cut, sorted along drive_freq
    g = grid(df, "amplitude", ("damping", "drive_freq"))   # a 2D cut as a labelled array
    g.values, g.coords["drive_freq"], g.to_pandas()
    pivot(df, "amplitude", index="damping", columns="drive_freq")

Every function takes a results DataFrame (:func:`workbench.results`) or a
bundle (or its path).  Conditions compare floats with a relative tolerance
(``tol``, default 1e-9), so ``drive_freq=0.7`` finds the 0.7000000000000001 a
linspace made.  A tuple ``(lo, hi)`` is an inclusive range (``None`` leaves a
side open), a list or set is a choice of values, a callable gets the column
and returns a mask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["sel", "neighbours", "line", "grid", "pivot", "dims_of", "Grid"]

def _frame(data: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    from .results import results

    return results(data)


def _meta(df: pd.DataFrame) -> dict[str, Any]:
    return dict(df.attrs.get("workbench", {}))


def dims_of(data: Any) -> list[tuple[str, ...]]:
    """The scan dimensions of a results table: one tuple per dimension (a zip group has several names).

    Dimensions that take a single value in ``data`` (e.g. in a selection) are left out.
    """
    df = _frame(data)
    meta = _meta(df)
    if "dims" in meta:
        return [
            tuple(d) for d in meta["dims"] if all(n in df.columns for n in d) and df[d[0]].nunique(dropna=False) > 1
        ]
    from .results import dims

    params = meta.get("params") or [c for c in df.columns if c not in ("index", "job_id")]
    return dims(df, params)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise ParameterError(
            f"There is no column {name!r} in the results; the columns are: {', '.join(map(str, df.columns))}.",
            parameter=name,
        )
    return df[name]


def _is_float(s: pd.Series) -> bool:
    return s.dtype.kind == "f"


def _close(values: np.ndarray, target: float, tol: float) -> np.ndarray:
    return np.abs(values - target) <= tol * np.maximum(np.abs(target), np.abs(values))


def _mask(s: pd.Series, cond: Any, tol: float) -> np.ndarray:
    """Where column ``s`` meets ``cond`` (see the module docstring)."""
    import pandas as pd

    name = s.name
    if callable(cond):
        m = cond(s)
        return np.asarray(pd.Series(m).fillna(False), dtype=bool)
    if isinstance(cond, slice):
        if cond.step is not None:
            raise ParameterError(f"{name}: a slice condition takes no step ({cond!r}).", parameter=str(name))
        cond = (cond.start, cond.stop)
    if isinstance(cond, tuple):
        if len(cond) != 2:
            raise ParameterError(
                f"{name}={cond!r}: a tuple is a range (low, high); for a choice of values give a list, e.g. {name}={list(cond)!r}.",
                parameter=str(name),
            )
        lo, hi = cond
        vals = s.to_numpy()
        m = np.ones(len(s), dtype=bool)
        if _is_float(s):
            vals = vals.astype(float)
            if lo is not None:
                m &= (vals >= lo) | _close(vals, float(lo), tol)
            if hi is not None:
                m &= (vals <= hi) | _close(vals, float(hi), tol)
            return m & ~np.isnan(vals)
        if lo is not None:
            m &= np.asarray(s >= lo, dtype=bool)
        if hi is not None:
            m &= np.asarray(s <= hi, dtype=bool)
        return m
    if isinstance(cond, (list, set, frozenset, np.ndarray, pd.Series, pd.Index)):
        choices = list(cond)
        if _is_float(s) and all(isinstance(c, (int, float, np.number)) and not isinstance(c, bool) for c in choices):
            vals = s.to_numpy(dtype=float)
            m = np.zeros(len(s), dtype=bool)
            for c in choices:
                m |= _close(vals, float(c), tol)
            return m
        return np.asarray(s.isin(choices), dtype=bool)
    if _is_float(s) and isinstance(cond, (int, float, np.number)) and not isinstance(cond, bool):
        return _close(s.to_numpy(dtype=float), float(cond), tol)
    return np.asarray((s == cond).fillna(False), dtype=bool)


def sel(data: Any, where: Mapping[str, Any] | None = None, /, *, tol: float = 1e-9, **conditions: Any) -> pd.DataFrame:
    """The rows that meet every condition.

    Parameters
    ----------
    data
        A results DataFrame, or a bundle (or its path).
    where
        Conditions for columns whose names are not Python identifiers.
    tol
        Relative tolerance for comparing floats.
    **conditions
        Per column: a value (equality), ``(lo, hi)`` (inclusive range, ``None``
        for an open side), a list/set (any of these values), or a callable
        ``f(column) -> bool mask``.

    Returns
    -------
    pandas.DataFrame
        The matching rows (a view-free copy keeps ``attrs``).

    Examples
    --------
    >>> sel(df, cycles=8, intensity=(1e13, 1e14))        # doctest: +SKIP
    >>> sel(df, status="completed", damping=[0.05, 0.2])  # doctest: +SKIP
    """
    df = _frame(data)
    conds = {**(where or {}), **conditions}
    m = np.ones(len(df), dtype=bool)
    for name, cond in conds.items():
        m &= _mask(_column(df, name), cond, tol)
    out = df[m]
    out.attrs = dict(df.attrs)
    return out


def _row(df: pd.DataFrame, job: Any) -> pd.Series:
    import pandas as pd

    if isinstance(job, pd.Series):
        return job
    if isinstance(job, str):
        hit = df.index[df["job_id"] == job]
        what = f"job id {job!r}"
    elif isinstance(job, (int, np.integer)) and not isinstance(job, bool):
        hit = df.index[df["index"] == job]
        what = f"job index {job}"
    else:
        raise ParameterError(f"job={job!r}: give a job id (text), a job index (int) or a row of the results.")
    if len(hit) == 0:
        raise ParameterError(f"There is no {what} in these results.")
    return df.loc[hit[0]]


def _dim_of(dims: Sequence[tuple[str, ...]], axis: str) -> tuple[str, ...]:
    for d in dims:
        if axis in d:
            return d
    flat = [n for d in dims for n in d]
    raise ParameterError(
        f"{axis!r} is not a scanned dimension of these results; the scanned ones are: {', '.join(flat) or 'none'}.",
        parameter=axis,
    )


def neighbours(data: Any, job: Any, axis: str, n: int = 1, *, tol: float = 1e-9) -> pd.DataFrame:
    """The jobs next to ``job`` along one scan axis, everything else equal.

    Parameters
    ----------
    data
        A results DataFrame, or a bundle (or its path).
    job
        A job id, a job index or a row of ``data``.
    axis
        The scanned parameter to move along.
    n
        How many neighbours on each side.

    Returns
    -------
    pandas.DataFrame
        Up to ``2 n + 1`` rows sorted along ``axis`` (the job itself included),
        with a column ``offset`` (``-n .. n``, 0 for the job).
    """
    df = _frame(data)
    row = _row(df, job)
    dims = dims_of(df)
    along = _dim_of(dims, axis)
    same = {name: row[name] for d in dims if d != along for name in d}
    line_ = sel(df, same, tol=tol).sort_values(axis, kind="stable")
    pos = int(np.flatnonzero(line_["job_id"].to_numpy() == row["job_id"])[0])
    out = line_.iloc[max(0, pos - n) : pos + n + 1].copy()
    out.insert(0, "offset", np.arange(len(out)) - min(pos, n))
    out.attrs = dict(df.attrs)
    return out


@dataclass(frozen=True, eq=False)
class Grid:
    """An N-D cut of a scan: values on the product of coordinate axes (an xarray-like labelled array).

    Attributes
    ----------
    name
        The column the values come from.
    dims
        The axis names, in the order of ``values``' dimensions.
    coords
        Coordinates per axis name (for a zipped axis, its partners too, aligned with it).
    values
        The values; NaN (or None) where the scan has no result.
    job_ids
        The job id at each position ('' where there is none), to load arrays of a cell.
    fixed
        The values the other dimensions were pinned to.
    """

    name: str
    dims: tuple[str, ...]
    coords: dict[str, np.ndarray]
    values: np.ndarray
    job_ids: np.ndarray
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.values.shape

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self.values, dtype=dtype)

    def __repr__(self) -> str:
        axes = ", ".join(f"{d}: {len(self.coords[d])}" for d in self.dims)
        pinned = ", ".join(f"{k}={v!r}" for k, v in self.fixed.items())
        return f"<Grid {self.name} ({axes})" + (f" at {pinned}" if pinned else "") + ">"

    def to_pandas(self) -> pd.Series | pd.DataFrame:
        """1D: a Series indexed by the axis; 2D: a DataFrame with rows ``dims[0]`` and columns ``dims[1]``."""
        import pandas as pd

        if len(self.dims) == 1:
            d = self.dims[0]
            return pd.Series(self.values, index=pd.Index(self.coords[d], name=d), name=self.name)
        if len(self.dims) == 2:
            r, c = self.dims
            out = pd.DataFrame(self.values, index=pd.Index(self.coords[r], name=r), columns=pd.Index(self.coords[c], name=c))
            return out
        raise ValueError(f"A {len(self.dims)}-D grid has no pandas form; use .values and .coords.")

    def sel(self, tol: float = 1e-9, **at: Any) -> Any:
        """The sub-grid (or value) at coordinate values, e.g. ``g.sel(damping=0.1)``."""
        index: list[Any] = [slice(None)] * len(self.dims)
        for name, value in at.items():
            if name not in self.dims:
                raise ParameterError(f"{name!r} is not an axis of {self!r}.", parameter=name)
            c = self.coords[name]
            hits = np.flatnonzero(_close(c.astype(float), float(value), tol)) if c.dtype.kind == "f" else np.flatnonzero(c == value)
            if not len(hits):
                raise ParameterError(f"{name}={value!r} is not on the grid; its values are {list(c)}.", parameter=name)
            index[self.dims.index(name)] = int(hits[0])
        vals = self.values[tuple(index)]
        if np.ndim(vals) == 0:
            return vals
        keep = tuple(d for d, i in zip(self.dims, index) if isinstance(i, slice))
        fixed = {**self.fixed, **at}
        return Grid(self.name, keep, {d: self.coords[d] for d in keep}, vals, self.job_ids[tuple(index)], fixed)


def grid(data: Any, value: str, dims: str | Sequence[str], *, tol: float = 1e-9, **fixed: Any) -> Grid:
    """A 1D or 2D (or N-D) cut of the scan as a labelled array.

    Parameters
    ----------
    data
        A results DataFrame, or a bundle (or its path).
    value
        The column to lay out, e.g. ``"amplitude"``.
    dims
        The scanned parameter(s) spanning the grid, e.g. ``("damping", "drive_freq")``.
    **fixed
        Values of the other scanned dimensions (conditions as in :func:`sel`).
        Every other dimension that still varies must be pinned.

    Raises
    ------
    ParameterError
        An axis is not scanned, or another dimension is not pinned (the
        message lists its values).
    """
    full = _frame(data)
    df = sel(full, fixed, tol=tol)
    names = (dims,) if isinstance(dims, str) else tuple(dims)
    all_dims = dims_of(full)
    spanned = [_dim_of(all_dims, n) for n in names]
    _column(df, value)
    for d in all_dims:
        if d in spanned:
            continue
        for name in d:
            if name in df.columns and df[name].nunique(dropna=False) > 1:
                vals = sorted(df[name].unique().tolist())
                shown = ", ".join(map(repr, vals[:8])) + (", ..." if len(vals) > 8 else "")
                raise ParameterError(
                    f"{name} still takes {len(vals)} values here ({shown}); pin it, e.g. "
                    f"{name}={vals[0]!r}, or add it to the grid's dims.",
                    parameter=name,
                )
    coords: dict[str, np.ndarray] = {}
    positions = []
    for n in names:
        col = df[n].to_numpy()
        uniq = np.unique(col)
        coords[n] = uniq
        positions.append(np.searchsorted(uniq, col))
    for n, d in zip(names, spanned):  # partners of a zipped axis ride along
        for partner in d:
            if partner != n and partner in df.columns:
                first = df.drop_duplicates(n).set_index(n)[partner]
                coords[partner] = first.reindex(coords[n]).to_numpy()
    shape = tuple(len(coords[n]) for n in names)
    flat = np.ravel_multi_index(tuple(positions), shape) if positions else np.zeros(0, dtype=int)
    if len(np.unique(flat)) != len(flat):
        raise ParameterError(f"Several jobs share a cell of the {' x '.join(names)} grid; pin the other dimensions.")
    col = df[value]
    numeric = col.dtype.kind in "biuf"
    vals = np.full(shape, np.nan if numeric else None, dtype=float if numeric else object)
    vals.flat[flat] = col.to_numpy(dtype=float, na_value=np.nan) if numeric else col.to_numpy(dtype=object)
    ids = np.full(shape, "", dtype=object)
    ids.flat[flat] = df["job_id"].to_numpy(dtype=object)
    return Grid(value, names, coords, vals, ids, dict(fixed))


def line(data: Any, x: str, *, tol: float = 1e-9, **fixed: Any) -> pd.DataFrame:
    """A 1D cut: the rows along scan axis ``x`` with every other dimension pinned, sorted along ``x``.

    Dimensions left unpinned must not vary among the selected rows (the error
    lists their values); see :func:`grid` for a labelled array instead.
    """
    df = _frame(data)
    g = grid(df, "job_id", x, tol=tol, **fixed)
    ids = [j for j in g.job_ids.ravel() if j]
    out = df.set_index("job_id", drop=False).loc[ids].reset_index(drop=True)
    out.attrs = dict(df.attrs)
    return out


def pivot(data: Any, value: str, index: str, columns: str, *, tol: float = 1e-9, **fixed: Any) -> pd.DataFrame:
    """A 2D cut as a pivoted DataFrame: rows along ``index``, columns along ``columns``, cells ``value``."""
    out = grid(data, value, (index, columns), tol=tol, **fixed).to_pandas()
    return out  # type: ignore[return-value]  # 2D gives a DataFrame
