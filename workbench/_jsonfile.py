"""Small JSON records inside a bundle (runs, submissions), changed safely by several processes."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["iso_epoch", "locked_json", "read_json", "utc_now"]

T = TypeVar("T")


@contextmanager
def locked_json(path: str | os.PathLike[str], default: Callable[[], T]) -> Iterator[T]:
    """Read-modify-write the JSON file at ``path`` under an exclusive ``flock``.

    Yields the parsed content (``default()`` for a missing or empty file); what
    the caller changed in it is written back, and nothing is written when it
    did not change.
    """
    fd = os.open(Path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = _read_all(fd)
        data: Any = json.loads(raw) if raw.strip() else default()
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            out = json.dumps(data, indent=1).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, out)
    finally:
        os.close(fd)  # releases the lock


def read_json(path: str | os.PathLike[str], default: Callable[[], T]) -> T:
    """The JSON file at ``path`` as :func:`locked_json` leaves it: read under a shared ``flock``.

    :func:`locked_json` empties the file before it writes the new content; the
    shared lock waits for it to finish, so a reader never sees that gap.
    Returns ``default()`` for a missing or empty file.

    Raises
    ------
    ValueError
        The file holds something that is not JSON.
    """
    try:
        fd = os.open(Path(path), os.O_RDONLY)
    except FileNotFoundError:
        return default()
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        raw = _read_all(fd)
    finally:
        os.close(fd)  # releases the lock
    result: T = json.loads(raw) if raw.strip() else default()
    return result


def _read_all(fd: int) -> bytes:
    raw = b""
    while chunk := os.read(fd, 1 << 16):
        raw += chunk
    return raw


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
