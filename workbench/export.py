"""Writing results tables to CSV, Parquet or HDF5, with the scan's metadata beside them.

* **CSV**: the table, and ``<file>.meta.json`` beside it with the metadata.
* **Parquet** (needs pyarrow): the metadata inside the file (schema metadata key ``workbench``).
* **HDF5** (needs PyTables, ``pip install tables``; not installed by default):
  the table under key ``results``, the metadata as an attribute of it.

:func:`read_export` reads any of them back as a DataFrame with ``attrs``
restored (and ``status`` categorical again), so selections work on it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["export", "read_export", "metadata", "FORMATS"]

#: File suffix -> format.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5"}

#: What of a bundle's ``info.pkl`` goes with an export.
_INFO_KEYS = ("name", "job_type", "job_type_title", "format", "scan", "count", "shape", "created", "versions", "host", "warnings")


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def metadata(df: pd.DataFrame) -> dict[str, Any]:
    """What an export records beside the table: the scan (from the bundle, if it is still there), columns and types."""
    from . import __version__

    table = dict(df.attrs.get("workbench", {}))
    meta: dict[str, Any] = {
        "workbench": __version__,
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "table": table,
        "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
        "categories": {str(c): [str(x) for x in df[c].cat.categories] for c in df.columns if str(df[c].dtype) == "category"},
    }
    path = table.get("bundle")
    if path:
        from .bundle import open_bundle
        from .errors import BundleError

        try:
            info = open_bundle(path).info
        except BundleError:
            pass
        else:
            meta["bundle"] = {k: info[k] for k in _INFO_KEYS if k in info}
    return meta


def _format(path: Path, format: str | None) -> str:
    if format is not None:
        fmt = format.lower().lstrip(".")
        fmt = FORMATS.get(f".{fmt}", fmt)  # a suffix ("h5", "pq") names its format
        if fmt not in FORMATS.values():
            raise ValueError(f"format={format!r}: use 'csv', 'parquet' or 'hdf5'.")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"Cannot tell the format of {path} from its suffix; end it in .csv, .parquet or .h5, or pass format=."
        ) from None


def _need_tables() -> None:
    if importlib.util.find_spec("tables") is None:
        raise ModuleNotFoundError(
            "HDF5 export needs PyTables, which is not installed: `pip install tables` "
            "(CSV and Parquet exports work without it)."
        )


def export(data: Any, path: str | os.PathLike[str], *, format: str | None = None) -> Path:
    """Write a results table and its metadata.

    Parameters
    ----------
    data
        A results DataFrame (e.g. a selection), or a bundle (or its path): all its results.
    path
        The file; its suffix picks the format unless ``format`` is given.
    format
        ``"csv"``, ``"parquet"`` or ``"hdf5"``.

    Returns
    -------
    pathlib.Path
        The file written (for CSV, the metadata is in ``<path>.meta.json``).
    """
    import pandas as pd

    df = data if isinstance(data, pd.DataFrame) else _results(data)
    path = Path(path)
    fmt = _format(path, format)
    meta = metadata(df)
    text = json.dumps(meta, default=str)
    if fmt == "csv":
        df.to_csv(path, index=False)
        _meta_path(path).write_text(text + "\n", encoding="utf-8")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"workbench": text.encode()})
        pq.write_table(table, path)
    else:
        _need_tables()
        with pd.HDFStore(path, mode="w") as store:  # pragma: no cover - PyTables is not installed here
            store.put("results", df.astype({c: object for c in df.columns if str(df[c].dtype) in ("str", "string")}), format="table")
            store.get_storer("results").attrs.workbench = text
    return path


def _results(bundle: Any) -> pd.DataFrame:
    from .results import results

    return results(bundle)


def read_export(path: str | os.PathLike[str], *, format: str | None = None) -> pd.DataFrame:
    """Read a table written by :func:`export`, with its metadata in ``df.attrs``.

    ``df.attrs["workbench"]`` is the table description the selection helpers
    use; ``df.attrs["export"]`` the whole metadata (scan, versions, export time).
    """
    import pandas as pd

    path = Path(path)
    fmt = _format(path, format)
    meta: dict[str, Any] = {}
    if fmt == "csv":
        mp = _meta_path(path)
        if mp.exists():
            meta = json.loads(mp.read_text(encoding="utf-8"))
        # Texts stay texts (a job id like "1234e567" must not become a number).
        texts = {c: str for c, t in meta.get("dtypes", {}).items() if t in ("str", "string", "object")}
        df = pd.read_csv(path, dtype={"job_id": str, **texts})
        for c, t in meta.get("dtypes", {}).items():
            if c in df.columns and t in ("boolean", "Int64") and str(df[c].dtype) != t:
                df[c] = df[c].astype(t)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(b"workbench")
        meta = json.loads(raw) if raw else {}
        df = table.to_pandas()
    else:
        _need_tables()
        with pd.HDFStore(path, mode="r") as store:  # pragma: no cover - PyTables is not installed here
            df = store["results"]
            meta = json.loads(getattr(store.get_storer("results").attrs, "workbench", "{}"))
    for c, cats in meta.get("categories", {}).items():
        if c in df.columns:
            df[c] = pd.Categorical(df[c].astype(object).where(df[c].notna(), None), categories=cats)
    df.attrs["workbench"] = meta.get("table", {})
    df.attrs["export"] = meta
    return df
