"""Results of a bundle as a pandas DataFrame, and array outputs loaded on demand.

Outputs come back from other machines, so nothing here runs code from them:
result records are JSON and arrays are ``.npz`` read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _names
from .errors import OutputError

if TYPE_CHECKING:
    import pandas as pd

    from .bundle import Bundle

__all__ = ["results", "load_result", "load_arrays", "last_error"]

#: Columns every results table has besides the parameters and scalar outputs.
META_COLUMNS = ("index", "job_id", "status", "runtime", "host", "error")


def load_result(bundle: Bundle, job_id: str) -> dict[str, Any]:
    """The result record of one job (its ``.result.json``), checked."""
    path = bundle.result_path(job_id)
    try:
        with open(path, "rb") as f:
            rec = json.loads(f.read())
    except FileNotFoundError:
        raise OutputError(f"Job {job_id} has no result yet ({path} does not exist).") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise OutputError(f"The result file {path} is corrupt or truncated ({e}); re-run job {job_id}.") from e
    if not isinstance(rec, dict) or not isinstance(rec.get("scalars"), dict):
        raise OutputError(f"The result file {path} is not a workbench result record; re-run job {job_id}.")
    if rec.get("format") != _names.BUNDLE_FORMAT:
        raise OutputError(
            f"{path} has result format {rec.get('format')!r}; this workbench reads format {_names.BUNDLE_FORMAT}."
        )
    return rec


def load_arrays(bundle: Bundle, job_id: str, names: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The array outputs of one job (all, or only ``names``), never running code from the file."""
    path = bundle.arrays_path(job_id)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = z.files if names is None else list(names)
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise OutputError(f"Job {job_id} has no array output(s) {missing}; it has {z.files}.")
            return {k: z[k] for k in keys}
    except FileNotFoundError:
        raise OutputError(f"Job {job_id} has no array outputs yet ({path} does not exist).") from None
    except (ValueError, OSError, EOFError) as e:
        # allow_pickle=False turns an object array (which could run code) into a ValueError.
        raise OutputError(f"The array file {path} is corrupt or holds objects workbench will not load ({e}).") from e


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


def results(bundle: Bundle | str | os.PathLike[str], *, state: Any = None) -> pd.DataFrame:
    """One row per job: index, job_id, every parameter, every scalar output, status, runtime, host, error.

    A job whose result file is corrupt gets status ``"bad"`` and the reason in
    ``error``; every other job still loads.
    """
    import pandas as pd

    from .bundle import open_bundle
    from .state import ScanState

    b = open_bundle(bundle)
    points = b.points()
    if state is None:
        state = ScanState(b)
        state.update()
    rows: list[Mapping[str, Any]] = []
    for jid in points["job_id"]:
        rec = state.jobs[jid]
        row: dict[str, Any] = {"status": rec.state, "runtime": np.nan, "host": None, "error": None}
        if rec.state == "completed":
            try:
                res = load_result(b, jid)
            except OutputError as e:
                row.update(status="bad", error=str(e))
            else:
                row.update(res["scalars"])
                row.update(runtime=res.get("runtime", np.nan), host=res.get("host"))
        elif rec.state in ("failed", "interrupted", "removed", "held"):
            row["error"] = last_error(b, jid) or rec.reason or rec.hold_reason or None
        rows.append(row)
    extra = pd.DataFrame.from_records(rows, index=points.index)
    meta = ["status", "runtime", "host", "error"]
    outputs = [c for c in extra.columns if c not in meta]
    df = pd.concat([points, extra[outputs], extra[meta]], axis=1)
    df["status"] = pd.Categorical(df["status"], categories=[*_states(), "bad"])
    return df


def _states() -> tuple[str, ...]:
    from .state import STATES

    return STATES
