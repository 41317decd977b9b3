"""A real OpenSSH server for tests: the ``sshd`` fixture and its helpers.

Enable it with ``pytest_plugins = ["sshd"]`` in the root ``conftest.py`` (or
``pytest -p sshd``).  Nothing is installed here: the fixture expects Debian's
``openssh-server`` and skips, saying how to install it, when it is missing.

The server listens on 127.0.0.1 on a free port, accepts only the generated
user key and runs as the current user, so remote paths are local temporary
folders.  :class:`SSHServer` is usable without pytest, which is how
``tests/benchmarks/bench_sync.py`` starts its own server.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["SFTP_SERVER", "SSHD", "SSHServer", "sftp_only_sshd", "sshd", "sshd_missing_reason"]

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")


def sshd_missing_reason() -> str | None:
    """Why no test server can be started here, or None when it can."""
    if not SSHD.exists():
        return (
            f"{SSHD} not found: install OpenSSH's server with "
            "`apt-get install openssh-server` to run the ssh tests"
        )
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not found: install it with `apt-get install openssh-client`"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    # ssh-keygen asks before overwriting; a reused folder gets fresh keys.
    path.unlink(missing_ok=True)
    path.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        capture_output=True,
    )


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid``, found through /proc.

    sshd's per-connection processes call setsid(), so killing the listener's
    process group would leave live sessions behind; we walk the ppid links.
    """
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class SSHServer:
    """An OpenSSH server on 127.0.0.1 with throwaway host and user keys.

    Parameters
    ----------
    root
        An empty folder for the keys, the configuration and the log.
    extra_config
        More ``sshd_config`` lines, e.g. ``["ForceCommand internal-sftp"]``
        for an SFTP-only host.

    Attributes
    ----------
    host, port, user
        Where to connect and as whom (the current user).
    key_path
        The user's private key (ed25519, no passphrase).
    known_hosts
        A known_hosts file holding the server's host key for ``[host]:port``.
    host_key_path
        The server's private host key; ``host_key_path.with_suffix(".pub")``
        is its public half.
    log_path
        sshd's own log (``-e`` output), handy when a test fails.
    """

    def __init__(self, root: Path, extra_config: list[str] | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.user = getpass.getuser()
        self.host_key_path = self.root / "host_ed25519"
        self.key_path = self.root / "user_ed25519"
        self.known_hosts = self.root / "known_hosts"
        self.config_path = self.root / "sshd_config"
        self.log_path = self.root / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None
        _keygen(self.host_key_path)
        _keygen(self.key_path)
        (self.root / "authorized_keys").write_text(
            self.key_path.with_suffix(".pub").read_text()
        )
        host_pub = self.host_key_path.with_suffix(".pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.config_path.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.host}",
                    f"HostKey {self.host_key_path}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    # Temporary folders are world-writable: sshd's ownership check refuses them.
                    "StrictModes no",
                    # Tests open many connections at once (and the benchmark more).
                    "MaxStartups 100",
                    "MaxSessions 100",
                    f"Subsystem sftp {SFTP_SERVER}",
                    *(extra_config or []),
                    "",
                ]
            )
        )

    @property
    def host_public_key(self) -> str:
        """The server's public host key as ``"<type> <base64>"``."""
        return " ".join(self.host_key_path.with_suffix(".pub").read_text().split()[:2])

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd (same port and keys as before) and wait until it listens."""
        if self.running:
            return
        if os.geteuid() == 0:
            # sshd's privilege-separation directory; the Debian package makes it at boot only.
            Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                log = self.log_path.read_text(errors="replace")
                self._proc = None
                raise RuntimeError(f"sshd exited at start; its log:\n{log}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"sshd did not listen on {self.host}:{self.port} within {timeout} s"
                    ) from None
                time.sleep(0.01)

    def stop(self) -> None:
        """Kill the server and every live session at once (SIGKILL, by pid).

        This is the "connection dropped" of interruption tests: clients see
        their sockets closed mid-transfer.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            for pid in [*_children(proc.pid), proc.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def connect_options(self) -> dict[str, object]:
        """Keyword arguments for :func:`workbench.transport.connect` and ``sync``.

        The user's ``~/.ssh/config`` and agent are left out so tests do not
        depend on the machine they run on.
        """
        return {
            "user": self.user,
            "port": self.port,
            "key_filename": self.key_path,
            "known_hosts": self.known_hosts,
            "ssh_config": None,
            "allow_agent": False,
        }

    def write_ssh_config(self, path: Path, alias: str = "wbtest", *, known_hosts: Path | None = None) -> Path:
        """Write an OpenSSH client config with one ``Host alias`` that reaches this server; returns ``path``.

        As users set up their hosts: the alias is all a connection needs
        (``ssh_config=path``). ``known_hosts`` replaces the file holding the
        server's key (e.g. an empty one, for an unknown host key).
        """
        path.write_text(
            f"Host {alias}\n  HostName {self.host}\n  Port {self.port}\n  User {self.user}\n"
            f"  IdentityFile {self.key_path}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known_hosts or self.known_hosts}\n  StrictHostKeyChecking yes\n"
        )
        return path

    def openssh_options(self) -> list[str]:
        """Options for OpenSSH's ``ssh``/``sftp``/``scp`` to reach this server."""
        return [
            "-F", "/dev/null",
            "-i", str(self.key_path),
            "-o", "IdentitiesOnly=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", f"User={self.user}",
        ]  # fmt: skip

    def __enter__(self) -> SSHServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A running OpenSSH server on 127.0.0.1, shared by the whole session.

    Tests that ``stop()`` it must ``start()`` it again (a ``try/finally``),
    since later tests share it.
    """
    reason = sshd_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = SSHServer(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sftp_only_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """A second server that allows SFTP only (``ForceCommand internal-sftp``).

    Shell commands (and so ``tar``, ``find`` and ``sha256sum``) are not
    available there, as on many data-transfer hosts.
    """
    reason = sshd_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = SSHServer(tmp_path_factory.mktemp("sshd-sftp-only"), ["ForceCommand internal-sftp"])
    server.start()
    try:
        yield server
    finally:
        server.stop()
