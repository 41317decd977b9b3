"""Atomic file writes: a file appears under its final name whole, or not at all.

Every writer in the package (job results, checkpoints, the state cache, the
sync manifest, the analysis notebook) goes through :func:`atomic_open`: it
writes a hidden temporary sibling, renames it over the final name when the
block succeeds, and removes it when the block fails.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "atomic_write", "temporary_sibling"]


def temporary_sibling(path: str | os.PathLike[str], suffix: str = ".tmp") -> Path:
    """``.<name>.<pid>-<thread><suffix>`` beside ``path``: hidden, and unique per writer."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}{suffix}")


@contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "wb",
    *,
    encoding: str | None = None,
    fsync: bool = False,
    suffix: str = ".tmp",
) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` on success.

    ``fsync=True`` flushes the data to disk before the rename (checkpoints,
    which must survive the machine going down).  ``suffix`` names the
    temporary file so that a clean-up of leftovers can recognise it.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'wb' or 'w', not {mode!r}")
    tmp = temporary_sibling(path, suffix)
    try:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, fsync: bool = False, suffix: str = ".tmp") -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically."""
    if isinstance(data, str):
        data = data.encode()
    with atomic_open(path, "wb", fsync=fsync, suffix=suffix) as f:
        f.write(data)
