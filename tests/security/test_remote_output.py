"""Findings 6 and 8: what a remote host prints is parsed defensively (a real OpenSSH server).

The server here prints a banner before every command (a ``ForceCommand``
that echoes, then runs what was asked), as an ``echo`` in ``~/.bashrc`` does,
and its ``PATH`` starts with a folder where a test may put a ``find`` or a
``tar`` that answers with hostile output.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest
from sshd import SSHServer, sshd_missing_reason

from workbench.transport import sync

pytestmark = pytest.mark.ssh

HOUR_AGO = time.time() - 3600


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """(server, folder of hostile commands): a host whose shells print a banner first."""
    reason = sshd_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("sshd-noisy")
    fake = root / "fakebin"
    fake.mkdir()
    login = root / "login.sh"
    login.write_text(
        "echo 'Welcome to bigbox! Quota: 93% used'\necho\n"
        'case "$SSH_ORIGINAL_COMMAND" in sftp) exec /usr/lib/openssh/sftp-server ;; esac\n'
        'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n'
    )
    server = SSHServer(root / "server", [f"SetEnv PATH={fake}:/usr/local/bin:/usr/bin:/bin", f"ForceCommand /bin/sh {login}"])
    server.start()
    try:
        yield server, fake
    finally:
        server.stop()


@pytest.fixture
def fake(noisy):
    server, fake = noisy
    yield fake
    for p in fake.iterdir():
        p.unlink()


def remote_bundle(root: Path) -> Path:
    for i in range(3):
        p = root / "outputs" / f"{i:016x}.result.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"i": i}))
        os.utime(p, (HOUR_AGO, HOUR_AGO))
    return root


def hostile(fake: Path, name: str, output: bytes) -> None:
    """A command ``name`` on the remote PATH that prints ``output``."""
    data = fake / f"{name}.out"
    data.write_bytes(output)
    script = fake / name
    drain = "cat >/dev/null\n" if name == "tar" else ""  # tar reads the names asked for; find must not read
    script.write_text(f"#!/bin/sh\n{drain}cat {data}\n")
    script.chmod(0o755)


def test_a_banner_before_the_protocols_first_line_is_skipped_and_named(noisy, fake, tmp_path):
    server, _ = noisy
    remote = remote_bundle(tmp_path / "remote")
    report = sync(f"{server.host}:{remote}", tmp_path / "local", **server.connect_options())
    assert report.ok and report.files_new == 3, report.summary()
    assert any("printed 2 line(s) before workbench's output" in w and "Welcome to bigbox" in w for w in report.warnings)


def test_find_records_without_spaces_or_with_empty_parts_skip_one_file_each(noisy, fake, tmp_path):
    server, _ = noisy
    remote = remote_bundle(tmp_path / "remote")
    real = [f"{p.stat().st_size} {HOUR_AGO:.3f} ./{p.relative_to(remote)}".encode() for p in sorted(remote.rglob("*.json"))]
    records = [*real, b"garbage-without-spaces", b"12 notatime ./outputs/x", b"5 1700000000.0 ./outputs//double"]
    # The hostile find is only asked for the listing; the real tar sends the files.
    hostile(fake, "find", b"\0".join(records) + b"\0")
    report = sync(f"{server.host}:{remote}", tmp_path / "local", **server.connect_options())
    assert report.ok and report.files_new == 3, report.summary()
    assert any("3 entries of the remote listing skipped" in w for w in report.warnings), report.warnings


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def member(name: str, data: bytes, **pax: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.pax_headers = len(data), int(HOUR_AGO), pax
    return info, data


@pytest.mark.parametrize("case", ["pax size abc", "negative pax size", "bigger than listed", "truncated"])
def test_hostile_tar_output_fails_the_files_with_a_reason_not_a_traceback(noisy, fake, tmp_path, case):
    server, _ = noisy
    remote = remote_bundle(tmp_path / "remote")
    name = "./outputs/0000000000000000.result.json"
    listed = (remote / name).read_bytes()
    if case == "pax size abc":
        data = _pax_with(name, b"size", b"abc", listed)
    elif case == "negative pax size":
        data = _pax_with(name, b"size", b"-5", listed)
    elif case == "bigger than listed":
        data = tar_bytes([member(name, b"x" * (3 << 20))])
    else:
        data = tar_bytes([member(name, listed * 100)])[:1024 + 100]
    hostile(fake, "tar", data)
    t0 = time.monotonic()
    report = sync(f"{server.host}:{remote}", tmp_path / "local", **server.connect_options())
    assert time.monotonic() - t0 < 20  # not four reconnections with back-off
    assert not report.ok and report.reconnects == 0
    assert any(e.startswith(name[2:]) and "damaged" in e for e in report.errors), report.errors
    local = tmp_path / "local" / name[2:]
    assert not local.exists()


def _pax_with(name: str, key: bytes, value: bytes, data: bytes) -> bytes:
    """A tar whose pax header holds ``key=value`` (written by hand: tarfile refuses bad values)."""
    rec = b" " + key + b"=" + value + b"\n"
    n = len(rec) + 1
    n = len(rec) + len(str(n))
    rec = str(n).encode() + rec
    pax = tarfile.TarInfo("././@PaxHeader")
    pax.type, pax.size = tarfile.XHDTYPE, len(rec)
    body = tarfile.TarInfo(name)
    body.size, body.mtime = len(data), int(HOUR_AGO)
    out = pax.tobuf(tarfile.USTAR_FORMAT) + rec + b"\0" * (-len(rec) % 512)
    out += body.tobuf(tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512) + b"\0" * 1024
    return out
