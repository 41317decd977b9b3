"""Results of a bundle as a pandas DataFrame, and array outputs loaded on demand.

Outputs come back from other machines, so nothing here runs code from them:
result records are JSON and arrays are ``.npz`` read with ``allow_pickle=False``.
The table comes from the bundle's results cache (:mod:`workbench.store`), which
reads each result file once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _names
from .errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

    from .bundle import Bundle
    from .state import ScanState

__all__ = ["results", "assemble", "load_result", "load_arrays", "arrays", "job_output", "last_error", "META_COLUMNS", "dims"]

#: Columns every results table has besides the parameters and scalar outputs.
META_COLUMNS = ("index", "job_id", "status", "runtime", "host", "error")

#: States whose jobs ended without a result; their ``error`` is the end of the job's stderr.
_ENDED_BADLY = ("failed", "interrupted", "removed", "held")


def load_result(bundle: Bundle, job_id: str) -> dict[str, Any]:
    """The result record of one job (its ``.result.json``), checked and upgraded to the current format.

    Raises
    ------
    OutputError
        The job has no result, or its file is corrupt, misplaced or of an unknown format.
    """
    from .store import MAX_RESULT_BYTES, parse_record

    from ._bounded import read_bounded

    path = bundle.result_path(job_id)
    try:
        data = read_bounded(path, MAX_RESULT_BYTES)
    except FileNotFoundError:
        raise OutputError(f"Job {job_id} has no result yet ({path} does not exist).") from None
    except OSError as e:
        raise OutputError(f"{path} cannot be read as a result record: {e}.") from None
    return parse_record(data, job_id, path)


def load_arrays(bundle: Bundle, job_id: str, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The array outputs of one job (all, or only ``names``), never running code from the file.

    Raises
    ------
    OutputError
        The file is missing, truncated, not an ``.npz``, lacks one of ``names``, or
        holds object arrays (which could run code when loaded; they are refused).
    """
    from ._bounded import open_regular

    path = bundle.arrays_path(job_id)
    try:
        # Our own file object: np.load leaves its file open when a damaged archive fails to open.
        with open_regular(path) as f:
            z = np.load(f, allow_pickle=False)
            if not hasattr(z, "files"):
                raise OutputError(f"{path} holds a single array, not the .npz archive of a workbench result.")
            with z:
                keys = z.files if names is None else list(names)
                missing = [k for k in keys if k not in z.files]
                if missing:
                    raise OutputError(f"Job {job_id} has no array output(s) {missing}; it has {z.files}.")
                _check_sizes(z, keys, path)
                return {k: z[k] for k in keys}
    except FileNotFoundError:
        raise OutputError(f"Job {job_id} has no array outputs yet ({path} does not exist).") from None
    except OutputError:
        raise
    except (ValueError, OSError, EOFError, KeyError) as e:
        # allow_pickle=False turns an object array (which could run code) into a ValueError.
        raise OutputError(f"The array file {path} is corrupt or holds objects workbench will not load ({e}).") from e
    except Exception as e:  # noqa: BLE001 - zipfile raises its own errors (BadZipFile, zlib.error) for damaged files
        raise OutputError(f"The array file {path} is corrupt ({type(e).__name__}: {e}).") from e


#: The most the arrays of one job may take in memory when loaded (checked from their headers first).
MAX_ARRAYS_BYTES = 4 << 30


def _check_sizes(z: Any, keys: Iterable[str], path: os.PathLike[str]) -> None:
    """Refuse arrays whose headers declare more than :data:`MAX_ARRAYS_BYTES`, or more than their archive member
    holds, before anything is allocated (a 17 MB archive of zeros can declare 16 GiB)."""
    total = 0
    for key in keys:
        member = f"{key}.npy"
        info = z.zip.getinfo(member)
        with z.zip.open(member) as m:
            fmt = np.lib.format
            major, _ = fmt.read_magic(m)
            shape, _, dtype = (fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0)(m)
        count = 1
        for n in shape:
            count *= int(n)
        size = count * dtype.itemsize
        if size > info.file_size:
            raise OutputError(f"{path}: array {key!r} declares {size:,} bytes but holds {info.file_size:,}; it is damaged.")
        total += size
        if total > MAX_ARRAYS_BYTES:
            raise OutputError(
                f"{path}: the arrays declare more than {MAX_ARRAYS_BYTES:,} bytes; not loaded. Load fewer names at once."
            )


def arrays(
    bundle: Bundle | str | os.PathLike[str],
    job_ids: Iterable[str] | pd.DataFrame,
    name: str,
    *,
    errors: str = "raise",
    stack: bool = False,
) -> dict[str, np.ndarray] | np.ndarray:
    """One array output of several jobs, loading only those jobs' files.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    job_ids
        Job ids, or a results DataFrame (its ``job_id`` column), e.g. a selection.
    name
        The array output, e.g. ``"trajectory"``.
    errors
        ``"raise"`` (default) stops at the first unreadable file; ``"skip"`` leaves such jobs out.
    stack
        Return one array with a leading job axis (all arrays must have the same shape).

    Returns
    -------
    dict or numpy.ndarray
        ``{job_id: array}`` in the order given, or the stacked array.
    """
    from .bundle import open_bundle

    if errors not in ("raise", "skip"):
        raise ValueError(f"errors={errors!r}; use 'raise' or 'skip'.")
    b = open_bundle(bundle)
    ids = list(job_ids["job_id"]) if hasattr(job_ids, "columns") else list(job_ids)
    out: dict[str, np.ndarray] = {}
    for jid in ids:
        try:
            out[jid] = load_arrays(b, jid, [name])[name]
        except OutputError:
            if errors == "raise":
                raise
    if not stack:
        return out
    shapes = {a.shape for a in out.values()}
    if len(shapes) > 1:
        raise OutputError(f"Cannot stack {name!r}: the jobs' arrays have different shapes {sorted(shapes)}; use stack=False.")
    return np.stack(list(out.values())) if out else np.empty((0,))


def job_output(bundle: Bundle | str | os.PathLike[str], job_id: str) -> dict[str, Any]:
    """Everything one job produced: its parameters, scalar outputs, metadata and arrays.

    Returns
    -------
    dict
        ``{"job_id", "index", "params", "scalars", "arrays": {name: array}, "meta": {...},
        "error"}``; ``error`` says why the result or its arrays could not be read (else ``None``).
    """
    from .bundle import open_bundle

    b = open_bundle(bundle)
    out: dict[str, Any] = {"job_id": job_id, "index": b.index_of(job_id), "params": {}, "scalars": {}, "arrays": {}, "meta": {}, "error": None}
    try:
        out["params"] = dict(b.input(job_id).get("params", {}))
    except (OSError, ValueError):
        pass
    try:
        rec = load_result(b, job_id)
    except OutputError as e:
        out["error"] = str(e) if b.result_path(job_id).exists() else (last_error(b, job_id, lines=5) or str(e))
        return out
    out["scalars"] = dict(rec["scalars"])
    out["meta"] = {k: rec.get(k) for k in ("format", "runtime", "host", "started", "finished")}
    if rec.get("arrays"):
        try:
            out["arrays"] = load_arrays(b, job_id)
        except OutputError as e:
            out["error"] = str(e)
    return out


def last_error(bundle: Bundle, job_id: str, lines: int = 1) -> str:
    """The last ``lines`` lines of a job's stderr log ('' if there is none)."""
    path = bundle.stderr_path(job_id)
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 8192))
            tail = f.read().decode("utf-8", "replace").rstrip().splitlines()
    except FileNotFoundError:
        return ""
    return "\n".join(tail[-lines:])


def dims(points: pd.DataFrame, params: Sequence[str], zips: Iterable[Sequence[str]] = ()) -> list[tuple[str, ...]]:
    """The scan's dimensions found in a table: parameters with more than one value, zip groups together.

    Parameters
    ----------
    points
        A table with one column per parameter.
    params
        The parameter names, in the job type's order.
    zips
        The scan's zip groups (paired axes count as one dimension).
    """
    varying = [p for p in params if p in points.columns and points[p].nunique(dropna=False) > 1]
    group = {n: tuple(g) for g in zips for n in g}
    out: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for p in varying:
        if p in seen:
            continue
        names = tuple(n for n in group.get(p, (p,)) if n in varying)
        seen.update(names)
        out.append(names)
    return out


def results(
    bundle: Bundle | str | os.PathLike[str],
    *,
    state: ScanState | None = None,
    cache: bool = True,
    full: bool = False,
) -> pd.DataFrame:
    """One row per job: index, job_id, every parameter, every scalar output, status, runtime, host, error.

    Only result files that are new since the last call are read (see
    :mod:`workbench.store`); the rest comes from the bundle's results cache.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    state
        A :class:`~workbench.state.ScanState` to take job states from (e.g. the
        monitor's, kept up to date); by default one is read from the event log.
    cache
        Use the bundle's cache file; ``False`` reads every result file into a
        throw-away in-memory cache.
    full
        Also re-check files overwritten in place (a ``stat`` per result file).

    Returns
    -------
    pandas.DataFrame
        ``status`` is categorical: the job states, plus ``"bad"`` for a job
        whose result file exists but cannot be used (``error`` says why).
        An output named like a parameter or a metadata column gets the suffix
        ``_out``.  ``df.attrs["workbench"]`` holds the bundle's path, job type,
        parameters, dimensions and outputs (the selection helpers use it).

    Examples
    --------
    >>> df = wb.results("scans/first")                       # doctest: +SKIP
    >>> df[df.status == "completed"].plot("drive_freq", "amplitude")  # doctest: +SKIP
    """
    from .bundle import open_bundle
    from .store import ResultStore

    b = open_bundle(bundle)
    with ResultStore(b, path=None if cache else ":memory:") as store:
        store.refresh(full=full)
        table = store.table()
        legacy = store.legacy
    return assemble(b, table, state=state, legacy=legacy)


def assemble(
    b: Bundle, table: pd.DataFrame, *, state: ScanState | None = None, legacy: Sequence[str] = ()
) -> pd.DataFrame:
    """The results table of :func:`results`, from a results-cache table and the job states.

    :func:`results` opens the cache and reads the event log on every call; a
    caller that keeps a :class:`~workbench.store.ResultStore` and a
    :class:`~workbench.state.ScanState` open (the monitor, the explorer)
    refreshes both and calls this, so each refresh costs only what is new::

        store, st = ResultStore(b), ScanState(b)        # kept between refreshes
        store.refresh()
        st.update(outputs=False)   # the store has listed outputs/ already
        df = assemble(b, store.table(), state=st, legacy=store.legacy)

    Parameters
    ----------
    b
        The bundle.
    table
        :meth:`ResultStore.table() <workbench.store.ResultStore.table>`: which
        jobs have a result file and whether it is usable.  It decides
        ``completed`` and ``bad``, whatever the state says.
    state
        The job states, used as they are (not updated here).  ``None`` reads
        them from the event log, if there is one (``outputs/`` is not listed
        again for it: ``table`` says which jobs have results).
    legacy
        :attr:`ResultStore.legacy <workbench.store.ResultStore.legacy>`: jobs with
        only an old pickled result, shown as ``bad`` with the advice to convert them.
    """
    import pandas as pd

    from .state import STATES

    ids = table["job_id"].to_numpy(dtype=object)
    n = len(ids)
    if state is None and b.log_path.exists():
        from .state import ScanState

        state = ScanState(b)
        state.update(outputs=False)  # the table has the results: listing outputs/ again would change nothing
    status = np.full(n, "unsubmitted", dtype=object)
    error = table["error"].to_numpy(dtype=object, na_value=None)
    ok = table["ok"]
    has = ok.notna().to_numpy()
    good = ok.fillna(False).to_numpy(dtype=bool)
    if state is not None:
        jobs = state.jobs
        status[:] = [jobs[j].state if j in jobs else "unsubmitted" for j in ids]
        for i in np.flatnonzero(~has & np.isin(status, _ENDED_BADLY)):
            rec = jobs[ids[i]]
            error[i] = last_error(b, ids[i]) or rec.reason or rec.hold_reason or None
    status[good] = "completed"
    status[has & ~good] = "bad"
    if legacy:
        pos = {j: i for i, j in enumerate(ids)}
        for jid in legacy:
            i = pos.get(jid)
            if i is not None and not has[i]:
                status[i] = "bad"
                error[i] = (
                    f"Job {jid} has only an old pickled result ({_names.OUTPUTS}/{jid}{_names.LEGACY_RESULT_SUFFIX}); "
                    f"convert it with `workbench results {b.path} --convert-legacy`."
                )
    cols = [c for c in table.columns if c not in ("ok", "runtime", "host", "error")]
    df = table[cols].copy(deep=False)
    df["status"] = pd.Categorical(status, categories=[*STATES, "bad"])
    df["runtime"] = table["runtime"]
    df["host"] = table["host"]
    df["error"] = pd.array(error, dtype="str")
    info = b.info
    params = [p for p in info.get("scan", {}).get("sources", {}) if p in df.columns] or [
        c for c in cols if c not in ("index", "job_id")
    ]
    zips = info.get("scan", {}).get("zip", [])
    df.attrs["workbench"] = {
        "bundle": str(b.path),
        "name": info.get("name"),
        "job_type": info.get("job_type"),
        "format": info.get("format"),
        "params": params,
        "dims": [list(d) for d in dims(df, params, zips)],
        "outputs": [c for c in cols if c not in ("index", "job_id", *params)],
    }
    return df

