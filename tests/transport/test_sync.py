"""Result sync against a real OpenSSH server (the ``sshd`` fixture).

The "remote" bundle is a temporary folder on this machine, reached through
the server on 127.0.0.1; nothing here mocks the transport.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import importlib
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from workbench.errors import TransportError
from workbench.transport import MANIFEST, PathFilter, RemotePath, SSHConnection, Syncer, connect, sync
from workbench.transport.sync import PART_SUFFIX, _parse_find, _parse_sha256sum, _tar_complaints

pytestmark = pytest.mark.ssh

# The package exports the function sync(), which hides the module of the same name.
sync_module = importlib.import_module("workbench.transport.sync")

HOUR_AGO = time.time() - 3600


def write(path: Path, data: bytes, mtime: float | None = HOUR_AGO) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        # Results written a while ago: the sync places them as they arrive
        # (recent files wait for tar to finish, see test_recent_files...).
        os.utime(path, (mtime, mtime))
    return path


def make_bundle(root: Path, n: int = 20) -> Path:
    for i in range(n):
        write(root / "outputs" / f"{i:03d}.json", json.dumps({"i": i}).encode() * (i + 1))
    write(root / "outputs" / "arrays" / "a b.npz", os.urandom(50_000))
    write(root / "outputs" / "it's \"odd\" ü.txt", b"names survive")
    write(root / "logs" / "scan.log", b"000 (001.000.000) submitted\n")
    write(root / "inputs" / "0.json", b"{}")  # not a result: never mirrored by default
    write(root / "submit_job.sub", b"queue")
    return root


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (the manifest aside) and its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


def selected(root: Path, *dirs: str) -> dict[str, bytes]:
    return {k: v for k, v in tree(root).items() if k.split("/")[0] in dirs}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once closed


def counting(monkeypatch, owner, name: str) -> list:
    """Replace ``owner.name`` by a wrapper that records each call's arguments."""
    calls: list = []
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "remote")


@pytest.fixture
def spec(sshd, remote: Path) -> str:
    return f"{sshd.host}:{remote}"


# -- pure pieces ----------------------------------------------------------


def test_path_filter_follows_gitignore_habits():
    default = PathFilter()
    assert default("outputs/a/b.json") and default("logs/scan.log")
    assert not default("inputs/0.json") and not default("outputsx/a")
    assert not default("outputs/.a.json.0123456789.wbpart")
    f = PathFilter(["outputs/*.json", "extra", "*.txt"], ["**/skip/**", "b*.json"])
    assert f("outputs/a.json") and not f("outputs/sub/a.json")  # * stays in its folder
    assert f("extra/deep/file") and f("x/y/notes.txt")
    assert not f("outputs/b1.json") and not f("x/skip/y.txt")
    assert f.roots() == ("",)
    assert PathFilter(["outputs/[!a]?.json", "outputs/x/**"]).roots() == ("outputs",)
    assert default.roots() == ("logs", "outputs")
    with pytest.raises(TransportError, match="climbs out"):
        PathFilter(["../secrets"])


def test_remote_path_parsing():
    assert RemotePath.parse("lab:scans/r") == RemotePath("lab", "scans/r")
    assert RemotePath.parse("me@lab:/abs") == RemotePath("lab", "/abs", "me")
    assert RemotePath.parse("ssh://me@lab:2222/abs/p") == RemotePath("lab", "/abs/p", "me", 2222)
    assert RemotePath.parse("ssh://lab/~/rel") == RemotePath("lab", "~/rel")
    assert str(RemotePath.parse("[::1]:x")) == "[::1]:x"
    with pytest.raises(TransportError, match=r"\[user@\]host:path"):
        RemotePath.parse("no-host-here")


def test_remote_output_parsers():
    listing = _parse_find(b"3 1700000000.5 ./a b\x00" + b"0 1700000001.0000000001 outputs/x\ny\x00")
    assert listing["a b"].size == 3 and listing["a b"].mtime_ns == 1_700_000_000_500_000_000
    assert listing["outputs/x\ny"].mtime_ns == 1_700_000_001_000_000_000
    sums = _parse_sha256sum("a" * 64 + "  ./plain\n" + "\\" + "b" * 64 + "  ./new\\nline\\\\x\n")
    assert sums == {"plain": "a" * 64, "new\nline\\x": "b" * 64}
    wanted = {"logs/a: b.log": None, "outputs/x": None}
    complaints = _tar_complaints(
        "tar: ./logs/a: b.log: file changed as we read it\n"
        "tar: ./outputs/x: File shrank by 3 bytes; padding with zeros\n",
        wanted,  # type: ignore[arg-type]
    )
    assert complaints == {"logs/a: b.log": "file changed as we read it",
                          "outputs/x": "File shrank by 3 bytes; padding with zeros"}  # fmt: skip


# -- against the server ---------------------------------------------------


def test_first_sync_mirrors_outputs_and_logs(sshd, remote, spec, tmp_path):
    local = tmp_path / "local"
    phases = []
    report = sync(spec, local, progress=lambda p: phases.append(p.phase), **sshd.connect_options())
    expected = selected(remote, "outputs", "logs")
    assert tree(local) == expected
    assert report.ok and report.files_remote == len(expected) == report.files_new
    assert report.files_updated == report.files_unchanged == 0
    assert report.bytes_transferred == sum(map(len, expected.values()))
    assert sorted(p.relative_to(local).as_posix() for p in report.new_files) == sorted(expected)
    assert phases[0] == "listing" and phases[-1] == "done"
    for rel in expected:  # mtimes mirrored, to the nanosecond
        assert (local / rel).stat().st_mtime_ns == (remote / rel).stat().st_mtime_ns
    manifest = json.loads((local / MANIFEST).read_text())
    assert manifest["complete"] and set(manifest["files"]) == set(expected)
    assert not list(local.rglob(f"*{PART_SUFFIX}"))


def test_incremental_sync_moves_only_changed_files(sshd, remote, spec, tmp_path):
    local = tmp_path / "local"
    first = sync(spec, local, **sshd.connect_options())
    total = first.files_remote

    again = sync(spec, local, **sshd.connect_options())
    assert (again.files_unchanged, again.files_transferred, again.bytes_transferred) == (total, 0, 0)

    write(remote / "outputs" / "000.json", b'{"changed": true}', mtime=None)  # new size
    os.utime(remote / "outputs" / "001.json")  # same bytes, new mtime
    write(remote / "outputs" / "new.json", b"{}", mtime=None)
    (local / "outputs" / "002.json").unlink()  # lost locally: fetched again
    report = sync(spec, local, **sshd.connect_options())
    assert report.ok
    assert (report.files_new, report.files_updated) == (2, 2)
    assert report.files_unchanged == total - 3
    assert report.bytes_transferred == sum(
        len((remote / "outputs" / n).read_bytes()) for n in ("000.json", "001.json", "002.json", "new.json")
    )
    assert tree(local) == selected(remote, "outputs", "logs")

    (remote / "outputs" / "new.json").unlink()
    report = sync(spec, local, **sshd.connect_options())
    assert (report.files_gone, report.files_transferred) == (1, 0)
    assert (local / "outputs" / "new.json").exists()  # local copies are never deleted


def test_include_and_exclude_patterns(sshd, remote, spec, tmp_path):
    write(remote / "extra" / "notes.md", b"notes")
    local = tmp_path / "local"
    report = sync(spec, local, include=["outputs/*.json", "extra", "*.txt"],
                  exclude=["00*.json"], **sshd.connect_options())  # fmt: skip
    got = set(tree(local))
    expect = {f"outputs/{i:03d}.json" for i in range(10, 20)} | {"extra/notes.md", "outputs/it's \"odd\" ü.txt"}
    assert got == expect and report.files_remote == len(expect)


def test_missing_remote_folder_is_reported(sshd, tmp_path):
    with pytest.raises(TransportError) as info:
        sync(f"{sshd.host}:{tmp_path}/nope", tmp_path / "local", **sshd.connect_options())
    assert info.value.errno == errno.ENOENT and f"{tmp_path}/nope" in str(info.value)


def test_big_file_resumes_from_partial_download(sshd, remote, spec, tmp_path):
    data = os.urandom(3 * 2**20 + 123)
    big = write(remote / "outputs" / "big.bin", data)
    local = tmp_path / "local"
    # What an interrupted attempt leaves: the first 1.5 MiB under the temporary name.
    st = big.stat()
    part = Path(sync_module._part_path(local / "outputs" / "big.bin", st.st_size, st.st_mtime_ns))
    write(part, data[: 3 * 2**19], mtime=None)
    report = sync(spec, local, **sshd.connect_options())
    assert report.ok
    assert report.bytes_resumed == 3 * 2**19
    assert (local / "outputs" / "big.bin").read_bytes() == data
    assert not part.exists()


def test_big_file_resumes_over_sftp(sftp_only_sshd, tmp_path):
    data = os.urandom(2 * 2**20 + 7)
    big = write(tmp_path / "remote" / "outputs" / "big.bin", data)
    local = tmp_path / "local"
    st = big.stat()
    # SFTP listings know whole seconds only; so does the temporary name then.
    part = Path(sync_module._part_path(local / "outputs" / "big.bin", st.st_size, int(st.st_mtime) * 10**9))
    write(part, data[: 2**20 + 1], mtime=None)
    report = sync(f"{sftp_only_sshd.host}:{tmp_path / 'remote'}", local, **sftp_only_sshd.connect_options())
    assert report.ok and report.bytes_resumed == 2**20 + 1
    assert report.bytes_transferred == len(data) - (2**20 + 1)
    assert (local / "outputs" / "big.bin").read_bytes() == data


def test_verified_resume_hashes_the_kept_bytes_without_rereading(sshd, remote, spec, tmp_path, monkeypatch):
    data = os.urandom(3 * 2**20 + 5)
    big = write(remote / "outputs" / "big.bin", data)
    local = tmp_path / "local"
    st = big.stat()
    part = Path(sync_module._part_path(local / "outputs" / "big.bin", st.st_size, st.st_mtime_ns))
    rereads = counting(monkeypatch, sync_module, "_sha256_file")
    write(part, b"X" + data[1 : 2**20 + 9], mtime=None)  # kept bytes that went bad
    bad = sync(spec, local, verify=True, **sshd.connect_options())
    assert not bad.ok and any("big.bin: checksum differs" in e for e in bad.errors)
    assert not (local / "outputs" / "big.bin").exists() and not part.exists()

    write(part, data[: 2**20 + 9], mtime=None)
    good = sync(spec, local, verify=True, **sshd.connect_options())
    assert good.ok and good.verified and good.bytes_resumed == 2**20 + 9
    assert (local / "outputs" / "big.bin").read_bytes() == data
    manifest = json.loads((local / MANIFEST).read_text())["files"]
    assert manifest["outputs/big.bin"][2] == hashlib.sha256(data).hexdigest()
    # Hashed while written: the finished temporary file is never read again.
    assert not [p for (p,) in rereads if str(p).endswith(PART_SUFFIX)]


def test_leftover_parts_are_looked_for_only_after_an_unfinished_sync(sftp_only_sshd, tmp_path, monkeypatch):
    # Listing the folder for every file made SFTP syncs of many files quadratic.
    looks = counting(monkeypatch, sync_module, "_remove_other_parts")
    remote = make_bundle(tmp_path / "remote", n=30)
    write(remote / "outputs" / "big.bin", os.urandom(2 * 2**20))
    local = tmp_path / "local"
    spec = f"{sftp_only_sshd.host}:{remote}"
    assert sync(spec, local, **sftp_only_sshd.connect_options()).ok
    write(remote / "outputs" / "new.json", b"{}")
    assert sync(spec, local, **sftp_only_sshd.connect_options()).files_new == 1
    assert looks == []

    # A sync that did not finish left a temporary file of an older version.
    st = (remote / "outputs" / "big.bin").stat()
    stale = Path(sync_module._part_path(local / "outputs" / "big.bin", st.st_size - 1, st.st_mtime_ns))
    write(stale, b"old", mtime=None)
    manifest = json.loads((local / MANIFEST).read_text())
    (local / MANIFEST).write_text(json.dumps({**manifest, "complete": False}))
    (local / "outputs" / "big.bin").unlink()
    report = sync(spec, local, **sftp_only_sshd.connect_options())
    assert report.ok and report.files_new == 1 and looks
    assert not stale.exists() and tree(local) == selected(remote, "outputs", "logs")


def test_verify_catches_a_corrupted_local_copy(sshd, remote, spec, tmp_path):
    local = tmp_path / "local"
    sync(spec, local, **sshd.connect_options())
    victim = local / "outputs" / "005.json"
    st = victim.stat()
    good = victim.read_bytes()
    victim.write_bytes(b"X" + good[1:])  # same size...
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))  # ...and same mtime
    assert sync(spec, local, **sshd.connect_options()).files_transferred == 0  # invisible to size+mtime
    report = sync(spec, local, verify=True, **sshd.connect_options())
    assert report.verified and report.ok
    assert (report.files_corrupt, report.files_updated, report.files_new) == (1, 1, 0)
    assert victim.read_bytes() == good
    manifest = json.loads((local / MANIFEST).read_text())["files"]
    assert manifest["outputs/005.json"][2] == hashlib.sha256(good).hexdigest()


def test_recent_files_are_placed_after_tar_finishes(sshd, remote, spec, tmp_path):
    # Files modified seconds ago may still be written to; they land all the same.
    write(remote / "logs" / "job.out", b"running\n", mtime=None)
    local = tmp_path / "local"
    assert sync(spec, local, **sshd.connect_options()).ok
    assert (local / "logs" / "job.out").read_bytes() == b"running\n"


def test_sftp_only_host(sftp_only_sshd, tmp_path):
    remote = make_bundle(tmp_path / "remote", n=5)
    write(remote / "outputs" / "big.bin", os.urandom(2 * 2**20))
    local = tmp_path / "local"
    spec = f"{sftp_only_sshd.host}:{remote}"
    report = sync(spec, local, verify=True, **sftp_only_sshd.connect_options())
    assert report.ok and not report.verified
    assert any("SFTP only" in w for w in report.warnings)
    assert any("sha256sum" in w for w in report.warnings)
    assert tree(local) == selected(remote, "outputs", "logs")
    again = sync(spec, local, **sftp_only_sshd.connect_options())
    assert again.files_transferred == 0 and again.files_unchanged == report.files_remote


def test_sftp_only_host_that_closes_the_session_at_once(sftp_only_sshd, tmp_path, monkeypatch):
    # An SFTP-only sshd may close the session channel before the sync has sent
    # its first line (seen in CI).  That is the same answer, "no shell here",
    # and must fall back to SFTP rather than fail the sync.
    from workbench.transport.ssh import SSHConnection

    opened = []
    real_open = SSHConnection.open_command

    def open_then_closed(self, command):
        channel = real_open(self, command)
        channel.close()  # what the client sees once the server's close arrived
        opened.append(channel)
        return channel

    monkeypatch.setattr(SSHConnection, "open_command", open_then_closed)
    remote = make_bundle(tmp_path / "remote", n=3)
    local = tmp_path / "local"
    report = sync(f"{sftp_only_sshd.host}:{remote}", local, **sftp_only_sshd.connect_options())
    assert opened, "the sync never tried the shell session"
    assert report.ok
    assert any("SFTP only" in w for w in report.warnings)
    assert tree(local) == selected(remote, "outputs", "logs")


def test_sftp_only_host_is_learnt_once_per_connection(sftp_only_sshd, tmp_path, monkeypatch):
    opened = counting(monkeypatch, SSHConnection, "open_command")
    remote = make_bundle(tmp_path / "remote", n=3)
    spec = f"{sftp_only_sshd.host}:{remote}"
    local = tmp_path / "local"
    syncer = Syncer(spec, local, **sftp_only_sshd.connect_options())
    try:
        first = syncer.sync_now()
        write(remote / "outputs" / "late.json", b"{}")
        second = syncer.sync_now()  # the same connection: straight to SFTP
    finally:
        syncer.stop()
    assert len(opened) == 1
    assert first.ok and second.ok and second.files_new == 1
    assert all(any("SFTP only" in w for w in r.warnings) for r in (first, second))
    assert tree(local) == selected(remote, "outputs", "logs")

    conn = connect(sftp_only_sshd.host, **sftp_only_sshd.connect_options())
    try:
        sync(spec, local, connection=conn)
        conn.close()  # a new connection (maybe another server) is asked again
        sync(spec, local, connection=conn)
    finally:
        conn.close()
    assert len(opened) == 3


# -- interruptions ----------------------------------------------------------


def make_heavy_bundle(root: Path) -> dict[str, bytes]:
    files = {}
    for i in range(150):
        files[f"outputs/r{i:03d}.json"] = os.urandom(8_000 + i)
    for i in range(4):
        files[f"outputs/big{i}.npz"] = os.urandom(3 * 2**20 + i)
    files["logs/scan.log"] = b"log\n" * 1000
    for rel, data in files.items():
        write(root / rel, data)
    return files


class Watcher(threading.Thread):
    """Scan the mirror while syncs run: every final-named file must be whole."""

    def __init__(self, local: Path, expected: dict[str, bytes]) -> None:
        super().__init__(daemon=True)
        self.local = local
        self.expected = {k: hashlib.sha256(v).hexdigest() for k, v in expected.items()}
        self.bad: list[str] = []
        self.checked = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for dirpath, _, names in os.walk(self.local):
                for name in names:
                    if name.endswith(PART_SUFFIX) or name == MANIFEST:
                        continue
                    path = Path(dirpath, name)
                    rel = path.relative_to(self.local).as_posix()
                    try:
                        digest = hashlib.sha256(path.read_bytes()).hexdigest()
                    except FileNotFoundError:
                        continue
                    self.checked += 1
                    if digest != self.expected.get(rel):
                        self.bad.append(rel)


def test_interrupted_syncs_resume_and_never_show_a_partial_file(sshd, tmp_path, monkeypatch):
    monkeypatch.setattr(sync_module, "_PROGRESS_EVERY", 0.0)  # a progress call per chunk and file
    remote = tmp_path / "remote"
    files = make_heavy_bundle(remote)
    local = tmp_path / "local"
    watcher = Watcher(local, files)
    watcher.start()
    kills = 0
    kept_partial = False
    try:
        # Kill the link at a later point each time, alternating the way it dies.
        for attempt, fraction in enumerate((0.1, 0.3, 0.5, 0.6)):
            conn = connect(sshd.host, **sshd.connect_options())
            killed = threading.Event()

            def kill(p, conn=conn, attempt=attempt, fraction=fraction, killed=killed):
                # More than a flow-control window (2 MB) must be left, else it may all
                # be buffered on our side already and the sync rightly completes.
                left = p.bytes_total - p.bytes_done
                if (not killed.is_set() and p.phase == "transferring" and left > 3 * 2**20
                        and p.bytes_done >= fraction * p.bytes_total):  # fmt: skip
                    killed.set()
                    if attempt % 2:
                        sshd.stop()  # the server dies, taking the session with it
                    else:
                        conn.transport.close()  # our side of the link drops

            try:
                sync(f"{sshd.host}:{remote}", local, connection=conn, retries=0, progress=kill)
            except TransportError as e:
                assert killed.is_set() and e.errno == errno.ECONNRESET
                assert "run the sync again to resume" in str(e)
                kills += 1
            else:
                assert not killed.is_set()
            finally:
                conn.close()
                sshd.start()
            partial = set(tree(local)) - set(files)
            assert all(Path(p).name.endswith(PART_SUFFIX) for p in partial), partial
            kept_partial = kept_partial or bool(partial)
        report = sync(f"{sshd.host}:{remote}", local, **sshd.connect_options())
    finally:
        watcher.halt.set()
        watcher.join()
    assert kills >= 3
    assert report.ok
    assert tree(local) == files  # byte-identical, no temporary file left
    assert kept_partial  # some attempt died inside a big file and kept its first bytes
    assert watcher.checked > 0 and watcher.bad == []


def test_sync_reconnects_by_itself_after_a_drop(sshd, tmp_path, monkeypatch):
    monkeypatch.setattr(sync_module, "_PROGRESS_EVERY", 0.0)
    remote = tmp_path / "remote"
    files = make_heavy_bundle(remote)
    local = tmp_path / "local"
    killed = threading.Event()

    def kill(p):
        if not killed.is_set() and p.phase == "transferring" and p.bytes_done > p.bytes_total // 3:
            killed.set()
            sshd.stop()
            threading.Timer(0.3, sshd.start).start()  # back after a short outage

    try:
        report = sync(f"{sshd.host}:{remote}", local, progress=kill, backoff=0.2, **sshd.connect_options())
    finally:
        deadline = time.monotonic() + 5
        while not sshd.running and time.monotonic() < deadline:
            time.sleep(0.05)
        sshd.start()
    assert killed.is_set() and report.ok and report.reconnects >= 1
    assert report.files_new == len(files)
    assert tree(local) == files


def test_unreachable_host_is_not_reported_as_a_drop(sshd, tmp_path):
    options = {**sshd.connect_options(), "port": closed_port()}
    with pytest.raises(TransportError) as info:
        sync(f"{sshd.host}:{tmp_path}", tmp_path / "local", retries=1, backoff=0.01, **options)
    assert info.value.errno == errno.ECONNREFUSED
    assert "dropped during" not in str(info.value)


def test_reconnect_attempts_do_not_multiply(sshd, remote, spec, tmp_path, monkeypatch):
    # Only the sync's loop backs off; each of its reconnects tries once.
    connects = counting(monkeypatch, SSHConnection, "_connect_once")
    killed = threading.Event()

    def kill(p):
        if not killed.is_set():
            killed.set()
            sshd.stop()  # and it stays down

    try:
        with pytest.raises(TransportError, match="dropped during") as info:
            sync(spec, tmp_path / "local", retries=2, backoff=0.01, progress=kill, **sshd.connect_options())
    finally:
        sshd.start()
    assert killed.is_set() and info.value.errno == errno.ECONNRESET
    assert "3 attempts" in str(info.value)
    assert len(connects) == 3  # the first connection, then one per retry


def test_file_tar_says_changed_while_read_is_taken_back(sshd, remote, spec, tmp_path, monkeypatch):
    write(remote / "logs" / "job.out", b"running\n", mtime=None)  # recent: held until tar ends
    victims = {"outputs/000.json", "logs/job.out"}  # placed at once / held back
    real = sync_module._tar_complaints
    monkeypatch.setattr(sync_module, "_tar_complaints",
                        lambda err, wanted: {v: "file changed as we read it" for v in victims if v in wanted})  # fmt: skip
    local = tmp_path / "local"
    report = sync(spec, local, **sshd.connect_options())
    assert not report.ok and report.files_failed == 2
    for v in victims:
        assert any(e.startswith(f"{v}: changed while it was read") for e in report.errors), report.errors
    expected = selected(remote, "outputs", "logs")
    assert tree(local) == {k: v for k, v in expected.items() if k not in victims}  # no temporary file either
    assert not victims & {p.relative_to(local).as_posix() for p in report.new_files}
    manifest = json.loads((local / MANIFEST).read_text())
    assert not manifest["complete"] and not victims & set(manifest["files"])

    monkeypatch.setattr(sync_module, "_tar_complaints", real)
    again = sync(spec, local, **sshd.connect_options())
    assert again.ok and again.files_new == 2 and tree(local) == expected


@pytest.mark.parametrize("mode", ["sync_now", "thread"])
def test_syncer_stopped_from_the_progress_hook_ends_the_round_promptly(sshd, tmp_path, monkeypatch, mode):
    monkeypatch.setattr(sync_module, "_PROGRESS_EVERY", 0.0)
    remote = tmp_path / "remote"
    files = make_heavy_bundle(remote)
    local = tmp_path / "local"
    stopped = threading.Event()
    took = []

    def progress(p):
        if not stopped.is_set() and p.phase == "transferring" and p.bytes_done > p.bytes_total // 3:
            start = time.monotonic()
            syncer.stop()
            took.append(time.monotonic() - start)
            stopped.set()

    reports = []
    syncer = Syncer(f"{sshd.host}:{remote}", local, interval=0.1, progress=progress, on_sync=reports.append,
                    **sshd.connect_options())  # fmt: skip
    if mode == "sync_now":
        report = syncer.sync_now()
        assert report.cancelled and not report.ok
        assert report.files_new < len(files)
    else:
        syncer.start()
        thread = syncer._thread
        assert thread is not None and stopped.wait(20)
        thread.join(5)
        assert not thread.is_alive() and not syncer.running
        assert reports == [] and syncer.rounds == 0  # a cancelled round is not reported as done
    assert took and took[0] < 1.0
    # Whole files only under final names, and not all of them: the round ended early.
    placed = {rel: data for rel, data in tree(local).items() if not rel.endswith(PART_SUFFIX)}
    assert placed and len(placed) < len(files) and placed.items() <= files.items()
    assert sync(f"{sshd.host}:{remote}", local, **sshd.connect_options()).ok
    assert tree(local) == files


def test_syncer_stop_interrupts_the_connection_backoff(sshd, tmp_path):
    options = {**sshd.connect_options(), "port": closed_port()}
    syncer = Syncer(f"{sshd.host}:{tmp_path}", tmp_path / "local", retries=5, backoff=30, **options).start()
    time.sleep(0.3)  # the first connect is refused: the syncer waits 30 s before the next
    start = time.monotonic()
    syncer.stop()
    assert time.monotonic() - start < 5 and not syncer.running


# -- background schedule -----------------------------------------------------


def test_syncer_thread_calls_hooks_and_stops(sshd, remote, spec, tmp_path):
    local = tmp_path / "local"
    new_files: list[Path] = []
    reports = []
    first = threading.Event()
    got_new = threading.Event()

    def on_new_file(path):
        new_files.append(path)
        if path.name == "late.json":
            got_new.set()

    def on_sync(report):
        reports.append(report)
        first.set()

    syncer = Syncer(spec, local, interval=30, on_new_file=on_new_file, on_sync=on_sync, **sshd.connect_options())
    with syncer:
        assert syncer.running
        assert first.wait(20)
        assert len(new_files) == reports[0].files_new > 0
        write(remote / "outputs" / "late.json", b"{}")
        syncer.trigger()  # no need to wait the 30 s
        assert got_new.wait(20)
    assert not syncer.running
    assert syncer.rounds >= 2 and syncer.last_error is None
    assert syncer.last_report is not None and syncer.last_report.files_new == 1
    assert (local / "outputs" / "late.json").read_bytes() == b"{}"


def test_syncer_on_an_asyncio_loop_calls_hooks_on_the_loop(sshd, remote, spec, tmp_path):
    local = tmp_path / "local"

    async def main():
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        threads = []

        def on_sync(report):
            threads.append(threading.current_thread())
            done.set()

        def progress(p):
            threads.append(threading.current_thread())

        syncer = Syncer(spec, local, interval=0.2, on_sync=on_sync, progress=progress,
                        **sshd.connect_options()).start(loop)  # fmt: skip
        await asyncio.wait_for(done.wait(), 20)
        syncer.stop()  # on the loop: returns at once...
        await syncer.wait_stopped()  # ...and this waits for the round to end
        assert not syncer.running
        return threads

    threads = asyncio.run(main())
    assert len(threads) > 1 and all(t is threading.main_thread() for t in threads)  # progress too
    assert tree(local) == selected(local.parent / "remote", "outputs", "logs")


def test_syncer_reports_errors_and_keeps_going(sshd, tmp_path):
    errors = []
    got = threading.Event()

    def on_error(e):
        errors.append(e)
        if len(errors) >= 3:
            got.set()

    syncer = Syncer(f"{sshd.host}:{tmp_path}/missing", tmp_path / "local", interval=0.1, on_error=on_error,
                    **sshd.connect_options())  # fmt: skip
    with syncer:
        assert got.wait(20)  # the schedule went on after the first error
    assert not syncer.running
    assert all(isinstance(e, TransportError) and e.errno == errno.ENOENT for e in errors)
    rounds, calls = syncer.rounds, len(errors)
    assert rounds >= 3
    time.sleep(1.0)  # ten intervals
    assert (syncer.rounds, len(errors)) == (rounds, calls)  # nothing after stop
