"""SSH connections against a real OpenSSH server (the ``sshd`` fixture)."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from workbench.errors import HostKeyError, TransportError
from workbench.transport import HostSettings, SSHConnection, UploadReport, connect, fingerprint, resolve_host

pytestmark = pytest.mark.ssh


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def _host_fingerprint(sshd) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd.host_key_path.with_suffix(".pub"))],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return out.split()[1]


def test_run_returns_exit_code_and_both_streams(sshd):
    with connect(sshd.host, **sshd.connect_options()) as conn:
        result = conn.run("echo out; echo err >&2; exit 3")
        # The login shell's start-up files may add their own lines to stderr (pyenv's rehash does when two
        # shells start at once): the command's own output is what comes last.
        assert (result.exit_code, result.stdout) == (3, "out\n") and result.stderr.endswith("err\n")
        assert not result.ok
        assert conn.run("tr a-z A-Z", stdin="hello").stdout == "HELLO"
        # More stderr than one flow-control window must not deadlock stdout.
        big = conn.run("head -c 3000000 /dev/zero >&2; echo done")
        assert big.stdout == "done\n" and big.stderr.endswith("\0" * 3_000_000) and big.stderr.count("\0") == 3_000_000
        with pytest.raises(TransportError, match="exit code 7") as info:
            conn.run("echo nope >&2; exit 7", check=True)
        assert "nope" in str(info.value)


def test_fingerprint_matches_openssh(sshd):
    import paramiko

    key = paramiko.Ed25519Key.from_private_key_file(str(sshd.host_key_path))
    assert fingerprint(key) == _host_fingerprint(sshd)


def test_unknown_host_key_is_refused_with_fingerprint_and_fix(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    options = {**sshd.connect_options(), "known_hosts": empty}
    with pytest.raises(HostKeyError) as info:
        connect(sshd.host, **options)
    message = str(info.value)
    assert _host_fingerprint(sshd) in message
    assert f"ssh-keyscan -p {sshd.port} -t ed25519 {sshd.host} >> {empty}" in message
    assert "trust_on_first_use=True" in message
    assert empty.read_text() == ""  # nothing recorded without opt-in


def test_changed_host_key_is_refused_even_with_trust_on_first_use(sshd, tmp_path):
    other = _keygen(tmp_path / "impostor")
    kind, b64 = other.with_suffix(".pub").read_text().split()[:2]
    known = tmp_path / "known_hosts"
    known.write_text(f"[{sshd.host}]:{sshd.port} {kind} {b64}\n")
    before = known.read_text()
    options = {**sshd.connect_options(), "known_hosts": known, "trust_on_first_use": True}
    with pytest.raises(HostKeyError) as info:
        connect(sshd.host, **options)
    message = str(info.value)
    assert "CHANGED" in message
    assert _host_fingerprint(sshd) in message  # what the server offered
    import paramiko

    recorded = paramiko.Ed25519Key.from_private_key_file(str(other))
    assert fingerprint(recorded) in message  # what known_hosts says
    assert f"ssh-keygen -R '[{sshd.host}]:{sshd.port}' -f {known}" in message
    assert known.read_text() == before


def test_wrong_user_key_is_refused_without_retrying(sshd, tmp_path):
    wrong = _keygen(tmp_path / "wrong")
    options = {**sshd.connect_options(), "key_filename": wrong}
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        connect(sshd.host, backoff=2.0, **options)
    assert time.monotonic() - start < 2.0  # a refused key is not worth a retry
    assert not isinstance(info.value, HostKeyError)
    assert info.value.errno == errno.EACCES
    assert "Authentication refused" in str(info.value)
    assert str(wrong) in str(info.value)


def test_trust_on_first_use_records_the_key(sshd, tmp_path):
    known = tmp_path / "new" / "known_hosts"  # neither file nor folder exists yet
    options = {**sshd.connect_options(), "known_hosts": known, "trust_on_first_use": True}
    with connect(sshd.host, **options) as conn:
        assert conn.run("echo ok").stdout == "ok\n"
    line = known.read_text()
    assert line == f"[{sshd.host}]:{sshd.port} {sshd.host_public_key}\n"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600
    # Known from now on, without opt-in.
    options["trust_on_first_use"] = False
    with connect(sshd.host, **options) as conn:
        assert conn.connected
    assert known.read_text() == line


def test_unreachable_host_is_retried_then_reported(sshd):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    options = {**sshd.connect_options(), "port": port}
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        connect(sshd.host, retries=2, backoff=0.05, **options)
    assert time.monotonic() - start >= 0.15  # 0.05 + 0.1 of backoff
    assert info.value.errno == errno.ECONNREFUSED
    assert f"port {port}" in str(info.value) and "3 attempts" in str(info.value)


def test_open_takes_its_own_retries_and_a_stop_event(sshd):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = SSHConnection(resolve_host(sshd.host, **{**sshd.connect_options(), "port": port}), retries=5, backoff=30)
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        conn.open(retries=0)  # the caller retries: one attempt, no pause
    assert info.value.errno == errno.ECONNREFUSED and "attempts" not in str(info.value)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(TransportError) as info:
        conn.ensure_open(stop=stop)  # the 30 s pause ends with stop
    assert info.value.errno == errno.ECONNREFUSED
    assert time.monotonic() - start < 5


def test_known_hosts_file_is_where_trusted_keys_go(tmp_path):
    default = HostSettings("h", "h", user="u")
    assert default.known_hosts_file == Path("~/.ssh/known_hosts").expanduser()
    assert "UserKnownHostsFile" not in default.ssh_command()
    own = HostSettings("h", "h", user="u", known_hosts=(tmp_path / "kh", Path("/etc/ssh/ssh_known_hosts")))
    assert own.known_hosts_file == tmp_path / "kh"
    assert f"UserKnownHostsFile={tmp_path / 'kh'}" in own.ssh_command()


def test_settings_come_from_ssh_config_and_explicit_ones_win(sshd, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        f"Host lab\n  HostName {sshd.host}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.key_path}\n  UserKnownHostsFile {sshd.known_hosts}\n"
    )
    settings = resolve_host("lab", ssh_config=config)
    assert (settings.hostname, settings.port, settings.user) == (sshd.host, sshd.port, sshd.user)
    assert settings.key_filenames == (sshd.key_path,)
    assert settings.known_hosts[0] == sshd.known_hosts
    assert resolve_host("lab", ssh_config=config, port=2222, user="x").port == 2222
    with connect("lab", ssh_config=config, allow_agent=False) as conn:
        assert conn.run("echo $USER").stdout.strip() == sshd.user

    config.write_text("Host jump\n  ProxyJump bastion\n")
    with pytest.raises(TransportError, match="ProxyCommand ssh -W %h:%p bastion"):
        resolve_host("jump", ssh_config=config)


def test_upload_dir_copies_a_tree(sshd, tmp_path):
    local = tmp_path / "bundle"
    (local / "inputs" / "sub dir").mkdir(parents=True)
    (local / "inputs" / "a.json").write_text('{"a": 1}')
    (local / "inputs" / "sub dir" / "it's \"quoted\".txt").write_text("q")
    script = local / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (local / "empty").mkdir()
    remote = tmp_path / "remote" / "deep" / "bundle"
    with connect(sshd.host, **sshd.connect_options()) as conn:
        report = conn.upload_dir(local, str(remote))
        assert (report.files, report.method) == (3, "tar")
        assert conn.run(f"'{remote}/run.sh'").stdout == "hi\n"
    for path in local.rglob("*"):
        twin = remote / path.relative_to(local)
        assert twin.is_dir() if path.is_dir() else twin.read_bytes() == path.read_bytes()
    assert os.access(remote / "run.sh", os.X_OK)


def test_upload_dir_over_sftp_only(sftp_only_sshd, tmp_path):
    local = tmp_path / "bundle"
    (local / "inputs").mkdir(parents=True)
    (local / "inputs" / "a.json").write_text("{}")
    remote = tmp_path / "remote"
    with connect(sftp_only_sshd.host, **sftp_only_sshd.connect_options()) as conn:
        report = conn.upload_dir(local, str(remote))
    assert report.method == "sftp"
    assert (remote / "inputs" / "a.json").read_text() == "{}"


def test_upload_dir_over_sftp_only_keeps_folders_and_modes(sftp_only_sshd, tmp_path):
    local = tmp_path / "bundle"
    (local / "inputs" / "deep" / "er").mkdir(parents=True)
    (local / "empty" / "nested").mkdir(parents=True)
    (local / "inputs" / "deep" / "er" / "x.txt").write_text("x")
    script = local / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o750)
    remote = tmp_path / "remote" / "b"
    with connect(sftp_only_sshd.host, **sftp_only_sshd.connect_options()) as conn:
        report = conn.upload_dir(local, str(remote))
    assert (report.files, report.method) == (2, "sftp")
    assert (remote / "empty" / "nested").is_dir()
    assert (remote / "inputs" / "deep" / "er" / "x.txt").read_text() == "x"
    assert stat.S_IMODE((remote / "run.sh").stat().st_mode) == 0o750


@pytest.mark.parametrize("server", ["sshd", "sftp_only_sshd"])
def test_upload_files_sends_the_chosen_files_and_extra(server, request, tmp_path):
    sshd = request.getfixturevalue(server)
    root = tmp_path / "bundle"
    (root / "inputs" / "sub dir").mkdir(parents=True)
    nested = root / "inputs" / "sub dir" / "it's.json"
    nested.write_bytes(b'{"a": 1}')
    nested.chmod(0o600)
    script = root / "run.sh"
    script.write_bytes(b"#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (root / "left out.txt").write_text("not sent")
    remote = tmp_path / "remote" / "deep" / "bundle"
    seen = []
    with connect(sshd.host, **sshd.connect_options()) as conn:
        report = conn.upload_files(
            root, ["inputs/sub dir/it's.json", "run.sh"], str(remote),
            extra={"logs/new/record.json": b"{}\n"}, progress=lambda sent, total: seen.append((sent, total)),
        )  # fmt: skip
        assert conn.upload_files(root, [], str(remote)) == UploadReport(0, 0, 0.0, "none")
    total = len(b'{"a": 1}') + script.stat().st_size + len(b"{}\n")
    assert (report.files, report.bytes) == (3, total)
    assert report.method == ("tar" if server == "sshd" else "sftp")
    assert seen and seen[-1] == (total, total)
    got = {p.relative_to(remote).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
           for p in remote.rglob("*") if p.is_file()}  # fmt: skip
    assert got == {
        "inputs/sub dir/it's.json": (b'{"a": 1}', 0o600),
        "run.sh": (b"#!/bin/sh\necho hi\n", 0o755),
        "logs/new/record.json": (b"{}\n", 0o644),
    }


def test_upload_files_names_a_missing_local_file(sshd, tmp_path):
    with connect(sshd.host, **sshd.connect_options()) as conn:
        with pytest.raises(TransportError, match="nope.txt") as info:
            conn.upload_files(tmp_path, ["nope.txt"], str(tmp_path / "remote"))
    assert info.value.errno == errno.ENOENT


def test_connection_reopens_after_the_server_restarts(sshd):
    conn = SSHConnection(resolve_host(sshd.host, **sshd.connect_options()), backoff=0.1)
    try:
        conn.open()
        assert conn.run("echo 1").stdout == "1\n"
        sshd.stop()
        try:
            deadline = time.monotonic() + 5
            while conn.connected and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not conn.connected
        finally:
            sshd.start()
        assert conn.run("echo 2").stdout == "2\n"
    finally:
        conn.close()
