"""Small JSON records inside a bundle (runs, submissions), changed safely by several processes."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ._atomic import atomic_write

__all__ = ["iso_epoch", "locked_json", "read_json", "utc_now"]

T = TypeVar("T")


@contextmanager
def locked_json(path: str | os.PathLike[str], default: Callable[[], T]) -> Iterator[T]:
    """Read-modify-write the JSON file at ``path`` under an exclusive ``flock``.

    Yields the parsed content (``default()`` for a missing or empty file); what
    the caller changed in it replaces the file whole (written beside it, then
    renamed: a crash leaves the old record, never an empty one), and nothing is
    written when it did not change.  The lock is taken on a hidden sibling
    (``.<name>.lock``), which outlives the renames.

    Raises
    ------
    ValueError
        The file holds something that is not JSON (nothing is written).
    """
    path = Path(path)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data: Any = read_json(path, default)
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            atomic_write(path, json.dumps(data, indent=1))
    finally:
        os.close(fd)  # releases the lock


def read_json(path: str | os.PathLike[str], default: Callable[[], T]) -> T:
    """The JSON file at ``path``: ``default()`` when missing or empty.

    Writers (:func:`locked_json`) replace the file whole, so a reader never
    sees it half written and needs no lock.

    Raises
    ------
    ValueError
        The file holds something that is not JSON.
    """
    try:
        fd = os.open(Path(path), os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return default()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        raw = _read_all(fd)
    finally:
        os.close(fd)
    result: T = json.loads(raw) if raw.strip() else default()
    return result


#: A record file larger than this is damaged (records hold a few lines per run).
MAX_RECORD_BYTES = 64 << 20


def _read_all(fd: int) -> bytes:
    parts = []
    size = 0
    while chunk := os.read(fd, 1 << 16):
        size += len(chunk)
        if size > MAX_RECORD_BYTES:
            raise ValueError(f"more than {MAX_RECORD_BYTES >> 20} MiB: not a record")
        parts.append(chunk)
    return b"".join(parts)


def utc_now() -> str:
    """Now, as the records store times: ISO 8601 in UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso_epoch(iso: Any) -> float | None:
    """A record's ISO time as seconds since the epoch (None when absent or unreadable)."""
    if not isinstance(iso, str) or not iso:
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
