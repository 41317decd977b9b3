"""Reading a file of a bundle that may be anything: bounded, never blocking, never following it off a regular file.

A bundle comes back from remote hosts and colleagues, so a name where a small
JSON record should be may hold a FIFO (``open`` blocks for ever), a symlink to
``/dev/zero`` (``read`` never ends) or a file that grows while it is read.
:func:`read_bounded` opens with ``O_NONBLOCK``, refuses what ``fstat`` of the
open descriptor says is not a regular file, and never reads more than the cap.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

__all__ = ["read_bounded", "open_regular", "TooLarge", "NotRegular"]


class TooLarge(OSError):
    """The file holds more than the cap allows (checked on the open descriptor, also when it grows)."""


class NotRegular(OSError):
    """The name is a FIFO, a device, a socket or a directory, not a regular file."""


def read_bounded(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    Raises
    ------
    FileNotFoundError, OSError
        The file cannot be opened or read.
    NotRegular
        It is not a regular file (nothing was read from it).
    TooLarge
        It holds more than ``max_bytes`` bytes.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(f"{os.fspath(path)} is not a regular file (a FIFO, device, socket or folder)")
        if st.st_size > max_bytes:
            raise TooLarge(f"{os.fspath(path)} is {st.st_size:,} bytes, more than the {max_bytes:,} allowed")
        chunks = []
        left = max_bytes + 1
        while left > 0 and (chunk := os.read(fd, min(left, max(st.st_size + 1, 1 << 16)))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise TooLarge(f"{os.fspath(path)} grew beyond the {max_bytes:,} bytes allowed while it was read")
        return data
    finally:
        os.close(fd)


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "rb")`` that never blocks on a FIFO and refuses anything but a regular file (:class:`NotRegular`)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegular(f"{os.fspath(path)} is not a regular file (a FIFO, device, socket or folder)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
