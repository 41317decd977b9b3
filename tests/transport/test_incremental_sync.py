"""A sync that lists only what changed since a time (``since=``), against the real sshd."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from workbench.transport import RemotePath, sync

pytestmark = pytest.mark.ssh


def put(path: Path, data: bytes, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def test_since_lists_only_recent_files_and_counts_none_gone(sshd, tmp_path: Path) -> None:
    remote, local = tmp_path / "remote", tmp_path / "local"
    old = time.time() - 3600
    for i in range(5):
        put(remote / "outputs" / f"{i}.json", b"x" * (i + 1), old)
    spec = RemotePath(sshd.host, str(remote))
    first = sync(spec, local, **sshd.connect_options())
    assert first.files_new == 5 and first.remote_now is not None
    assert abs(first.remote_now - time.time()) < 60  # the remote clock (this machine here)

    put(remote / "outputs" / "new.json", b"new", time.time() - 10)  # arrived since
    put(remote / "outputs" / "0.json", b"changed long ago", old)  # older than `since`: not looked at
    (remote / "outputs" / "1.json").unlink()
    inc = sync(spec, local, since=first.remote_now - 60, **sshd.connect_options())
    assert (inc.files_remote, inc.files_new, inc.files_gone) == (1, 1, 0)
    assert (local / "outputs" / "new.json").read_bytes() == b"new"
    assert (local / "outputs" / "0.json").read_bytes() == b"x"

    full = sync(spec, local, **sshd.connect_options())  # a full sync checks everything again
    assert (full.files_updated, full.files_gone) == (1, 1)
    assert (local / "outputs" / "0.json").read_bytes() == b"changed long ago"
