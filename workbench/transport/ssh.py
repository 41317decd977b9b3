"""SSH connections to remote hosts, with verified host keys.

Settings come from the caller and from the user's ``~/.ssh/config`` (read
with paramiko's :class:`~paramiko.config.SSHConfig`), in that order of
precedence; keys come from the agent or from key files.  No password is
ever asked for, taken or stored: a passphrase-protected key must be loaded
into ``ssh-agent``.

Host keys are checked against ``known_hosts`` and an unknown or changed key
is refused with a :class:`~workbench.errors.HostKeyError` that shows the
SHA256 fingerprint and how to trust it.  Trusting a host on first use is an
explicit opt-in (``trust_on_first_use=True``, or ``StrictHostKeyChecking
accept-new`` in ``~/.ssh/config``); a *changed* key is never accepted.

Every :class:`~workbench.errors.TransportError` raised here carries an
``errno``: ``ECONNREFUSED``, ``ETIMEDOUT``, ``ECONNRESET``, ``EHOSTUNREACH``
and ``EPIPE`` mark transient failures (see :func:`is_transient`) that
callers may retry; ``EACCES`` (authentication), ``ENOENT`` (no such remote
path), ``ENOSPC`` (disk full) and host key errors are permanent.

paramiko is imported lazily, so importing this module is cheap.
"""

from __future__ import annotations

import base64
import errno as _errno
import hashlib
import io
import logging
import os
import posixpath
import select
import shlex
import socket
import stat
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HostKeyError, TransportError

if TYPE_CHECKING:
    import paramiko

__all__ = [
    "CommandResult",
    "HostSettings",
    "SSHConnection",
    "UploadReport",
    "config_hosts",
    "connect",
    "fingerprint",
    "is_transient",
    "resolve_host",
]

log = logging.getLogger(__name__)

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")

#: errno values of failures worth retrying: the network or the server went
#: away for a moment, nothing says it will not come back.
TRANSIENT_ERRNOS = frozenset(
    {
        _errno.ECONNREFUSED,
        _errno.ECONNRESET,
        _errno.ECONNABORTED,
        _errno.ETIMEDOUT,
        _errno.EHOSTUNREACH,
        _errno.ENETUNREACH,
        _errno.EPIPE,
    }
)

# Sentinel: "read ~/.ssh/config" (None means "read no config file").
_DEFAULT: Any = object()

# OpenSSH's short names for key types, as ssh-keyscan -t wants them.
_KEYSCAN_TYPES = {
    "ssh-ed25519": "ed25519",
    "ecdsa-sha2-nistp256": "ecdsa",
    "ecdsa-sha2-nistp384": "ecdsa",
    "ecdsa-sha2-nistp521": "ecdsa",
    "ssh-rsa": "rsa",
    "rsa-sha2-256": "rsa",
    "rsa-sha2-512": "rsa",
}


def _error(cls: type[TransportError], message: str, code: int | None) -> TransportError:
    """A TransportError whose ``errno`` tells callers whether to retry."""
    err = cls(message)
    err.errno = code
    return err


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure worth retrying after a pause.

    True for dropped or refused connections and timeouts (raw socket and
    paramiko errors included); False for authentication, host key, missing
    path and disk full errors, which retrying cannot fix.
    """
    if isinstance(exc, HostKeyError):
        return False
    if isinstance(exc, TransportError):
        return exc.errno in TRANSIENT_ERRNOS
    try:
        import paramiko
    except ImportError:  # pragma: no cover - paramiko is a dependency
        paramiko = None  # type: ignore[assignment]
    if paramiko is not None:
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return True
        if isinstance(exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)):
            return False
        if isinstance(exc, paramiko.SSHException):
            # Banner/kex failures and "SSH session not active": the peer vanished.
            return True
    if isinstance(exc, (EOFError, socket.timeout, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, socket.gaierror):
        return False
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return False


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a public key, e.g. ``SHA256:nThbg6kX...``."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _known_hosts_name(host: str, port: int) -> str:
    # OpenSSH's spelling of a host in known_hosts.
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class HostSettings:
    """Everything needed to open one SSH connection, fully resolved.

    Build it with :func:`resolve_host`; it holds no secret (key *paths* only).

    Attributes
    ----------
    alias
        The name the caller gave (may be a ``Host`` alias of ``~/.ssh/config``).
    hostname, port, user
        Where to connect and as whom.
    key_filenames
        Private key files to offer, in order (after the agent's keys).
    known_hosts
        known_hosts files to check; the first is where a trusted-on-first-use
        key is recorded.
    host_key_alias
        ``HostKeyAlias`` from ``~/.ssh/config``: the name looked up in
        known_hosts instead of ``[hostname]:port``.
    proxy_command
        ``ProxyCommand`` from ``~/.ssh/config``, already expanded.
    timeout
        Seconds to wait for the TCP connection and the SSH handshake.
    trust_on_first_use
        Record an unknown host key instead of refusing it.
    allow_agent
        Offer the keys of the running ``ssh-agent``.
    """

    alias: str
    hostname: str
    port: int = 22
    user: str = ""
    key_filenames: tuple[Path, ...] = ()
    known_hosts: tuple[Path, ...] = ()
    host_key_alias: str | None = None
    proxy_command: str | None = None
    timeout: float = 10.0
    trust_on_first_use: bool = False
    allow_agent: bool = True

    @property
    def known_hosts_name(self) -> str:
        """The name of this host in known_hosts files."""
        return self.host_key_alias or _known_hosts_name(self.hostname, self.port)

    @property
    def known_hosts_file(self) -> Path:
        """The known_hosts file a trusted key goes to: the first one, else ``~/.ssh/known_hosts``."""
        return self.known_hosts[0] if self.known_hosts else DEFAULT_KNOWN_HOSTS.expanduser()

    @property
    def destination(self) -> str:
        """``user@host:port``, for messages."""
        return f"{self.user}@{self.hostname}:{self.port}"

    def ssh_command(self) -> str:
        """The OpenSSH command line that reaches the same host, for messages."""
        parts = ["ssh"]
        if self.port != 22:
            parts += ["-p", str(self.port)]
        for key in self.key_filenames:
            parts += ["-i", str(key)]
        if self.known_hosts_file != DEFAULT_KNOWN_HOSTS.expanduser():
            parts += ["-o", f"UserKnownHostsFile={self.known_hosts_file}"]
        parts.append(f"{self.user}@{self.hostname}")
        return shlex.join(parts)


def _as_paths(value: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> tuple[Path, ...]:
    if isinstance(value, (str, os.PathLike)):
        value = [value]
    return tuple(Path(v).expanduser() for v in value)


def resolve_host(
    host: str,
    *,
    user: str | None = None,
    port: int | None = None,
    key_filename: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    known_hosts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    ssh_config: str | os.PathLike[str] | None = _DEFAULT,
    trust_on_first_use: bool = False,
    allow_agent: bool = True,
    timeout: float | None = None,
) -> HostSettings:
    """Combine explicit settings with ``~/.ssh/config`` into :class:`HostSettings`.

    Parameters
    ----------
    host
        A host name, address or ``Host`` alias from the SSH config.
    user, port, key_filename
        Explicit settings; they win over the SSH config.  The default user is
        the local one, the default port 22.
    known_hosts
        known_hosts file(s) to check instead of the config's
        ``UserKnownHostsFile`` (default ``~/.ssh/known_hosts``) and
        ``/etc/ssh/ssh_known_hosts``.
    ssh_config
        The OpenSSH client config to read (default ``~/.ssh/config`` when it
        exists); ``None`` reads none.
    trust_on_first_use
        Record an unknown host key in the first known_hosts file instead of
        refusing it.  ``StrictHostKeyChecking accept-new`` in the config
        opts in too.
    allow_agent
        Offer the keys of the running ``ssh-agent``.
    timeout
        Connection timeout in seconds (config ``ConnectTimeout``, else 10).

    Returns
    -------
    HostSettings

    Raises
    ------
    TransportError
        If the config asks for something unsupported (``ProxyJump``) or
        cannot be read.
    """
    import paramiko

    options: dict[str, Any] = {}
    if ssh_config is _DEFAULT:
        config_path: Path | None = DEFAULT_SSH_CONFIG.expanduser()
        if not config_path.exists():
            config_path = None
    else:
        config_path = None if ssh_config is None else Path(ssh_config).expanduser()
    if config_path is not None:
        try:
            options = paramiko.SSHConfig.from_path(str(config_path)).lookup(host)
        except (OSError, paramiko.SSHException) as e:
            raise _error(
                TransportError,
                f"Cannot read the SSH config {config_path}: {e}. Fix the file, or pass "
                "ssh_config=None to ignore it.",
                getattr(e, "errno", None),
            ) from e
    if "proxyjump" in options:
        raise _error(
            TransportError,
            f"Host {host!r} uses ProxyJump {options['proxyjump']!r} in {config_path}, which "
            "workbench does not support. Write it as a ProxyCommand instead, e.g. "
            f"`ProxyCommand ssh -W %h:%p {options['proxyjump']}`.",
            None,
        )

    if key_filename is not None:
        keys = _as_paths(key_filename)
    else:
        # OpenSSH silently skips missing IdentityFile entries; so do we.
        keys = tuple(p for p in _as_paths(options.get("identityfile", [])) if p.exists())

    if known_hosts is not None:
        known = _as_paths(known_hosts)
    else:
        user_files = options.get("userknownhostsfile")
        known = _as_paths(user_files.split()) if user_files else (DEFAULT_KNOWN_HOSTS.expanduser(),)
        known += (SYSTEM_KNOWN_HOSTS,)

    strict = str(options.get("stricthostkeychecking", "")).lower()
    if timeout is None:
        timeout = float(options.get("connecttimeout", 10.0))
    return HostSettings(
        alias=host,
        hostname=options.get("hostname", host),
        port=int(port if port is not None else options.get("port", 22)),
        user=user or options.get("user") or _local_user(),
        key_filenames=keys,
        known_hosts=known,
        host_key_alias=options.get("hostkeyalias"),
        proxy_command=options.get("proxycommand"),
        timeout=timeout,
        trust_on_first_use=trust_on_first_use or strict == "accept-new",
        allow_agent=allow_agent,
    )


def config_hosts(ssh_config: str | os.PathLike[str] | None = _DEFAULT) -> list[str]:
    """The ``Host`` names of an OpenSSH client config, sorted (wildcard patterns and negations left out).

    Parameters
    ----------
    ssh_config
        The config to read (default ``~/.ssh/config``); ``None`` or a missing file gives no names.

    Returns
    -------
    list of str
        What a user may type as a host (the aliases they set up); empty when the file cannot be read.
    """
    import paramiko

    path = DEFAULT_SSH_CONFIG.expanduser() if ssh_config is _DEFAULT else ssh_config
    if path is None or not Path(path).expanduser().is_file():
        return []
    try:
        names = paramiko.SSHConfig.from_path(str(Path(path).expanduser())).get_hostnames()
    except (OSError, UnicodeDecodeError, paramiko.SSHException):
        return []  # a broken config is reported when connecting (resolve_host), not while offering names
    return sorted(n for n in names if not any(c in n for c in "*?!"))


def _local_user() -> str:
    import getpass

    return getpass.getuser()


@dataclass(frozen=True)
class CommandResult:
    """What a remote command did.

    Attributes
    ----------
    command
        The command line as sent.
    exit_code
        Its exit status (-1 when the server sent none).
    stdout, stderr
        Its output, decoded as UTF-8 (bytes when run with ``text=False``).
    """

    command: str
    exit_code: int
    stdout: str | bytes
    stderr: str | bytes

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class UploadReport:
    """What :meth:`SSHConnection.upload_dir` or :meth:`SSHConnection.upload_files` sent."""

    files: int
    bytes: int
    seconds: float
    method: str


@dataclass
class _Capabilities:
    """What the remote offers, learnt once per connection (None: not known yet).

    ``exec_ok`` False means SFTP only (``ForceCommand internal-sftp``); the
    sync records it too, so later rounds on the connection skip the shell.
    """

    exec_ok: bool | None = None
    tar: bool | None = None


_PROBE = "echo workbench-probe; command -v tar >/dev/null 2>&1 && echo tar; true"


class SSHConnection:
    """One SSH connection to a remote host; reconnects when it drops.

    Create it with :func:`connect` (or construct it with a
    :class:`HostSettings` and call :meth:`open`).  Use it as a context
    manager to close it.  Methods are safe to call from one thread at a time.

    Parameters
    ----------
    settings
        Where and how to connect.
    retries
        How many times to retry a transient failure (refused, timed out or
        dropped connection) before giving up.
    backoff
        First pause between retries in seconds; it doubles on each retry.
    keepalive
        Seconds between SSH keepalive messages, so a dead peer is noticed on
        long-lived connections (0 disables them).
    """

    def __init__(
        self,
        settings: HostSettings,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        keepalive: int = 30,
    ) -> None:
        self.settings = settings
        self.retries = retries
        self.backoff = backoff
        self.keepalive = keepalive
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        # Reset by close(): a reconnect may land on another server behind the name.
        self._caps = _Capabilities()
        self._lock = threading.RLock()

    # -- lifetime -----------------------------------------------------------------

    def __repr__(self) -> str:
        state = "open" if self.connected else "closed"
        return f"<SSHConnection {self.settings.destination} {state}>"

    def __enter__(self) -> SSHConnection:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether the SSH transport is up."""
        client = self._client
        transport = client.get_transport() if client is not None else None
        return transport is not None and transport.is_active()

    @property
    def transport(self) -> paramiko.Transport:
        """The underlying paramiko transport (opening the connection if needed)."""
        self.ensure_open()
        assert self._client is not None
        transport = self._client.get_transport()
        assert transport is not None
        return transport

    def open(self, *, retries: int | None = None, stop: threading.Event | None = None) -> SSHConnection:
        """Connect, retrying transient failures with exponential backoff.

        Parameters
        ----------
        retries
            Retries for this call instead of the connection's ``retries``
            (0 when the caller runs its own retry loop).
        stop
            An event that, once set, ends the backoff pauses: the last
            failure is raised at once.

        Returns
        -------
        SSHConnection
            ``self``, connected.

        Raises
        ------
        HostKeyError
            The host key is unknown (and trust on first use is off) or changed.
        TransportError
            The host cannot be reached, or refused every key offered.
        """
        with self._lock:
            if self.connected:
                return self
            self.close()
            self._client = self._retrying(self._connect_once, "connect to", retries=retries, stop=stop)
            return self

    def ensure_open(self, *, retries: int | None = None, stop: threading.Event | None = None) -> None:
        """Reconnect if the connection dropped (``retries`` and ``stop`` as for :meth:`open`)."""
        if not self.connected:
            self.open(retries=retries, stop=stop)

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        with self._lock:
            sftp, self._sftp = self._sftp, None
            client, self._client = self._client, None
            self._caps = _Capabilities()
            for thing in (sftp, client):
                if thing is not None:
                    try:
                        thing.close()
                    except Exception:  # noqa: BLE001 - closing a dead link may fail any way
                        pass

    def _retrying(
        self,
        fn: Callable[[], Any],
        what: str,
        *,
        retries: int | None = None,
        stop: threading.Event | None = None,
    ) -> Any:
        """Call ``fn``, retrying transient failures with exponential backoff.

        ``retries`` overrides the connection's; a set ``stop`` ends the pauses
        and raises the last failure.
        """
        retries = self.retries if retries is None else retries
        # stop.wait is true once stop is set; time.sleep returns None.
        pause: Callable[[float], object] = time.sleep if stop is None else stop.wait
        delay = self.backoff
        tries = 0
        while True:
            tries += 1
            try:
                return fn()
            except Exception as e:
                if not is_transient(e):
                    err = self._permanent_error(e, what)
                    if err is e:
                        raise
                    raise err from e
                if tries <= retries:
                    log.info("%s %s failed (%s); retrying in %.1f s", what, self.settings.destination, e, delay)
                    self.close()
                    if not pause(delay):
                        delay *= 2
                        continue
                if isinstance(e, TransportError):
                    raise
                raise self._wrap(e, what, attempts=tries) from e

    def _permanent_error(self, e: Exception, what: str) -> Exception:
        """What to raise for a failure retrying cannot fix.

        ``e`` itself, or for a raw socket or paramiko error a TransportError
        that says what failed (``what``, e.g. ``"connect to"``) and where.
        """
        if isinstance(e, TransportError) or not (isinstance(e, (OSError, EOFError)) or _is_paramiko_error(e)):
            return e
        return self._wrap(e, what)

    def _wrap(self, e: BaseException, what: str, attempts: int = 1) -> TransportError:
        """A TransportError for a raw socket/paramiko failure, keeping its errno class."""
        s = self.settings
        tried = f" ({attempts} attempts)" if attempts > 1 else ""
        if isinstance(e, socket.gaierror):
            return _error(
                TransportError,
                f"Cannot resolve host name {s.hostname!r}: {e}. Check the spelling, the "
                f"HostName for {s.alias!r} in ~/.ssh/config, and your network.",
                None,
            )
        code = getattr(e, "errno", None)
        if isinstance(e, (socket.timeout, TimeoutError)):
            code = _errno.ETIMEDOUT
        elif _is_refused(e):
            code = _errno.ECONNREFUSED
        elif code not in TRANSIENT_ERRNOS and is_transient(e):
            code = _errno.ECONNRESET
        return _error(
            TransportError,
            f"Cannot {what} {s.destination}{tried}: {e or type(e).__name__}. Check that the host "
            f"is up and sshd listens on port {s.port}; `{s.ssh_command()} true` should work.",
            code,
        )

    def _connect_once(self) -> paramiko.SSHClient:
        import paramiko

        s = self.settings
        client = paramiko.SSHClient()
        name = _known_hosts_name(s.hostname, s.port)
        known, source = _load_known_keys(s.known_hosts, s.known_hosts_name)
        for keytype, key in known.items():
            # Register under the name SSHClient looks up (it knows no HostKeyAlias).
            client.get_host_keys().add(name, keytype, key)
        client.set_missing_host_key_policy(_UnknownHostPolicy(s))
        sock = paramiko.ProxyCommand(s.proxy_command) if s.proxy_command else None
        try:
            client.connect(
                s.hostname,
                port=s.port,
                username=s.user,
                key_filename=[str(k) for k in s.key_filenames] or None,
                allow_agent=s.allow_agent,
                # Only search ~/.ssh/id_* when no key was named, as OpenSSH's IdentitiesOnly.
                look_for_keys=not s.key_filenames,
                timeout=s.timeout,
                banner_timeout=s.timeout,
                auth_timeout=s.timeout,
                sock=sock,
            )
        except paramiko.BadHostKeyException as e:
            client.close()
            raise _changed_host_key(s, e.key, e.expected_key, source) from e
        except paramiko.AuthenticationException as e:
            client.close()
            raise _auth_refused(s, e) from e
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        assert transport is not None
        if self.keepalive:
            transport.set_keepalive(self.keepalive)
        return client

    # -- commands -------------------------------------------------------------

    def open_command(self, command: str) -> paramiko.Channel:
        """Start ``command`` and return its channel, for streaming its output.

        The caller reads ``recv``/``recv_stderr``, may ``sendall`` to its stdin
        and must ``close()`` the channel.  The connection is (re)opened first
        when needed; a command is never sent twice.
        """
        transport = self.transport  # (re)opens the connection: its errors are not wrapped below
        try:
            channel = transport.open_session(timeout=self.settings.timeout)
            channel.exec_command(command)
        except Exception as e:
            raise self._wrap(e, f"start `{command}` on") from e
        return channel

    def run(
        self,
        command: str,
        *,
        stdin: bytes | str | None = None,
        timeout: float | None = None,
        check: bool = False,
        text: bool = True,
    ) -> CommandResult:
        """Run ``command`` on the remote host and wait for it.

        Parameters
        ----------
        command
            A shell command line (run by the remote user's login shell; quote
            arguments with :func:`shlex.quote`).
        stdin
            Data to send to the command's standard input (then closed).
        timeout
            Seconds to wait for the command; on expiry the channel is closed
            (the remote process may go on) and TransportError(ETIMEDOUT) raised.
        check
            Raise TransportError when the exit code is not 0.
        text
            Decode stdout and stderr as UTF-8 (else return bytes).

        Returns
        -------
        CommandResult

        Raises
        ------
        TransportError
            If the connection failed or dropped: a dropped command is not
            retried since it may have run.
        """
        channel = self.open_command(command)
        try:
            if stdin is not None:
                # A thread, so a command that answers before it has read all its
                # input cannot deadlock against our write.
                data = stdin.encode() if isinstance(stdin, str) else stdin
                feeder = threading.Thread(target=_feed, args=(channel, data), daemon=True)
                feeder.start()
            else:
                channel.shutdown_write()
            out, err, status = _drain(channel, timeout)
        except TimeoutError as e:
            raise _error(
                TransportError,
                f"`{command}` on {self.settings.destination} did not finish within {timeout} s. "
                "It may still be running there; raise the timeout or run it detached (nohup).",
                _errno.ETIMEDOUT,
            ) from e
        except Exception as e:
            raise self._wrap(e, f"run `{command}` on") from e
        finally:
            channel.close()
        if status == -1 and not self.connected:
            raise _error(
                TransportError,
                f"The connection to {self.settings.destination} dropped while `{command}` ran; "
                "it may or may not have finished there. Check, then run it again.",
                _errno.ECONNRESET,
            )
        result = CommandResult(
            command,
            status,
            out.decode("utf-8", "replace") if text else out,
            err.decode("utf-8", "replace") if text else err,
        )
        if check and status != 0:
            raise _error(
                TransportError,
                f"`{command}` failed on {self.settings.destination} with exit code {status}; "
                f"stderr: {_tail(err)}",
                _errno.ENOSPC if b"No space left" in err else None,
            )
        return result

    def _capabilities(self) -> _Capabilities:
        """Probe (once per connection) what the remote shell offers.

        A host that only allows SFTP (``ForceCommand internal-sftp``) answers
        no shell command; everything then goes through SFTP.
        """
        self.ensure_open()
        caps = self._caps
        if caps.tar is not None:
            return caps
        out = ""
        if caps.exec_ok is not False:  # else known to run no shell: nothing to probe
            try:
                out = str(self.run(_sh(_PROBE), timeout=max(self.settings.timeout, 10.0)).stdout)
            except TransportError as e:
                if is_transient(e):
                    raise
        caps.exec_ok = out.startswith("workbench-probe")
        caps.tar = caps.exec_ok and "tar" in out.split()
        return caps

    # -- files ----------------------------------------------------------------

    def sftp(self) -> paramiko.SFTPClient:
        """The connection's SFTP session (opened once, reopened after a drop)."""
        with self._lock:
            transport = self.transport  # reconnects after a drop
            if self._sftp is None or self._sftp.get_channel().closed:
                try:
                    self._sftp = transport.open_sftp_client()
                except Exception as e:
                    raise self._wrap(e, "open an SFTP session on") from e
            return self._sftp

    def remote_path(self, path: str) -> str:
        """``path`` as both the shell and SFTP understand it.

        SFTP does not expand ``~``; both start in the home folder, so
        ``~/x`` becomes the relative ``x``.
        """
        if path in ("~", "~/"):
            return "."
        if path.startswith("~/"):
            return path[2:] or "."
        return path

    def upload_dir(
        self,
        local: str | os.PathLike[str],
        remote: str,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadReport:
        """Copy the local folder ``local`` to ``remote`` (created if needed).

        Files already there are overwritten; nothing is deleted.  One tar
        stream carries everything when the remote has ``tar``, else SFTP puts
        each file; either way modes are kept and empty folders are made.  A
        dropped connection restarts the upload (it is idempotent), up to
        ``retries`` times.

        Parameters
        ----------
        local
            The folder to send; its contents land in ``remote``.
        remote
            The destination folder on the remote host.
        progress
            Called as ``progress(bytes_sent, bytes_total)``.

        Returns
        -------
        UploadReport

        Raises
        ------
        TransportError
            Connection failures, and ``ENOSPC`` when the remote disk is full.
        """
        root = Path(local)
        if not root.is_dir():
            raise _error(
                TransportError,
                f"Cannot upload {root}: it is not a folder. Pass the bundle's directory.",
                _errno.ENOTDIR if root.exists() else _errno.ENOENT,
            )
        entries = [_Entry(path.relative_to(root).as_posix(), st.st_mode, st.st_size, path)
                   for path, st in _tree_entries(root)]  # fmt: skip
        return self._upload(root, entries, remote, progress)

    def upload_files(
        self,
        root: str | os.PathLike[str],
        rels: Sequence[str],
        remote: str,
        *,
        extra: Mapping[str, bytes] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> UploadReport:
        """Copy the files ``rels`` (relative to ``root``) and the contents ``extra`` to ``remote``.

        Each lands at the same relative path under ``remote``; missing
        folders there are made.  Files already there are overwritten,
        nothing is deleted.  Like :meth:`upload_dir`: one tar stream when the
        remote has ``tar``, else SFTP; retried after a dropped connection.

        Parameters
        ----------
        root
            The local folder ``rels`` are relative to.
        rels
            The files to send, as POSIX paths relative to ``root``; their
            modes are kept.
        remote
            The destination folder on the remote host.
        extra
            More files to write, relative path -> contents (mode 0o644).
        progress
            Called as ``progress(bytes_sent, bytes_total)``.

        Returns
        -------
        UploadReport
            Method ``"none"`` (and no connection used) when there is nothing to send.

        Raises
        ------
        TransportError
            A file of ``rels`` cannot be read (its errno), connection
            failures, and ``ENOSPC`` when the remote disk is full.
        """
        root = Path(root)
        real_root = os.path.realpath(root)
        entries = []
        for rel in rels:
            path = root / rel
            try:
                st = path.stat()
            except OSError as e:
                raise _error(
                    TransportError,
                    f"Cannot upload {path}: {e.strerror or e}. Check that it exists and is readable.",
                    e.errno,
                ) from e
            if not stat.S_ISREG(st.st_mode):
                raise _error(TransportError, f"Cannot upload {path}: it is not a regular file (a FIFO or device).",
                             _errno.EINVAL)  # fmt: skip
            _check_inside(path, real_root)
            entries.append(_Entry(Path(rel).as_posix(), st.st_mode, st.st_size, path))
        for rel, data in (extra or {}).items():
            entries.append(_Entry(rel, stat.S_IFREG | 0o644, len(data), data=data))
        if not entries:
            return UploadReport(0, 0, 0.0, "none")
        return self._upload(root, entries, remote, progress)

    def _upload(
        self,
        root: Path,
        entries: list[_Entry],
        remote: str,
        progress: Callable[[int, int], None] | None,
    ) -> UploadReport:
        """Send ``entries`` to ``remote`` by tar or SFTP, retrying transient failures."""
        remote = self.remote_path(remote)
        files = [e for e in entries if not e.is_dir]
        total = sum(e.size for e in files)

        def attempt() -> UploadReport:
            start = time.perf_counter()
            if self._capabilities().tar:
                self._upload_tar(root, entries, remote, total, progress)
                method = "tar"
            else:
                self._upload_sftp(entries, remote, total, progress)
                method = "sftp"
            return UploadReport(len(files), total, time.perf_counter() - start, method)

        return self._retrying(attempt, f"upload {root} to {remote} on")

    def _upload_tar(
        self,
        root: Path,
        entries: list[_Entry],
        remote: str,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        q = shlex.quote(remote)
        # --no-same-owner: our uid numbers mean nothing there (matters when root).
        channel = self.open_command(_sh(f"mkdir -p -- {q} && cd -- {q} && exec tar --no-same-owner -xf -"))
        try:
            writer = _ChannelWriter(channel, total, progress)
            with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for entry in entries:
                    if entry.data is None:
                        tar.add(entry.path, arcname=entry.rel, recursive=False)
                        continue
                    info = tarfile.TarInfo(entry.rel)
                    info.size, info.mtime, info.mode = entry.size, int(time.time()), stat.S_IMODE(entry.mode)
                    tar.addfile(info, io.BytesIO(entry.data))
            channel.shutdown_write()
            _, err, status = _drain(channel, None)
        finally:
            channel.close()
        if status != 0:
            code = _errno.ENOSPC if b"No space left" in err else None
            if status == -1:
                code = _errno.ECONNRESET
            fix = (
                "Free space on the remote disk (`df -h` there) and upload again."
                if code == _errno.ENOSPC
                else "Check the remote path and its permissions."
            )
            raise _error(
                TransportError,
                f"Upload of {root} to {remote} on {self.settings.destination} failed (tar exit "
                f"code {status}): {_tail(err)}. {fix}",
                code,
            )

    def _upload_sftp(
        self,
        entries: list[_Entry],
        remote: str,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        sftp = self.sftp()
        made: set[str] = set()  # remote folders known to exist: each is made (or stat'ed) once
        sent = 0
        target = remote
        try:
            _sftp_makedirs(sftp, remote, made)
            for entry in entries:
                target = posixpath.join(remote, entry.rel)
                if entry.is_dir:
                    _sftp_makedirs(sftp, target, made)
                    continue
                _sftp_makedirs(sftp, posixpath.dirname(target), made)
                if entry.data is None:
                    sftp.put(str(entry.path), target)
                else:
                    sftp.putfo(io.BytesIO(entry.data), target)
                sftp.chmod(target, stat.S_IMODE(entry.mode))
                sent += entry.size
                if progress is not None:
                    progress(sent, total)
        except OSError as e:
            if is_transient(e):
                raise  # a dropped link: _retrying starts again
            raise _error(
                TransportError,
                f"Cannot write {target} on {self.settings.destination}: {e}. Check the "
                "folder's permissions and free space (`df -h` there).",
                getattr(e, "errno", None),
            ) from e


@dataclass(frozen=True)
class _Entry:
    """One thing to upload, to ``rel`` (POSIX, relative to the destination folder).

    A local file or folder (``path``, whose ``mode`` and ``size`` come from
    its stat), or ``data`` written as a file of ``mode``.
    """

    rel: str
    mode: int
    size: int
    path: Path | None = None
    data: bytes | None = None

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)


def _tree_entries(root: Path) -> list[tuple[Path, os.stat_result]]:
    """The files and folders under ``root`` (symlinks within it followed, broken ones left out), stat'ed once.

    A symlink that leads out of ``root`` is refused (:func:`_check_inside`): an upload never ships what a
    link in a bundle points to elsewhere (``~/.ssh/id_ed25519``).
    """
    entries = []
    real_root = os.path.realpath(root)
    for path in sorted(root.rglob("*")):
        try:
            st = path.stat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
            _check_inside(path, real_root)
            entries.append((path, st))
    return entries


def _check_inside(path: Path, real_root: str) -> None:
    """Refuse to upload ``path`` when it is (or goes through) a symlink to something outside the folder sent."""
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(os.path.join(real_root, "")):
        raise _error(
            TransportError,
            f"Refusing to upload {path}: it is a symbolic link to {real}, outside {real_root}. A bundle sends "
            "only its own files; copy what the jobs need into the bundle, or remove the link.",
            _errno.EPERM,
        )


class _ChannelWriter:
    """A write-only file object over a channel's stdin, for tarfile."""

    def __init__(self, channel: paramiko.Channel, total: int, progress: Callable[[int, int], None] | None):
        self.channel = channel
        self.total = total
        self.sent = 0
        self.progress = progress

    def write(self, data: bytes) -> int:
        self.channel.sendall(data)
        self.sent += len(data)
        if self.progress is not None:
            self.progress(min(self.sent, self.total), self.total)
        return len(data)

    def flush(self) -> None:  # tarfile calls it
        pass


def _sftp_makedirs(sftp: paramiko.SFTPClient, path: str, made: set[str]) -> None:
    """Make ``path`` and its missing parents; ``made`` holds folders known to exist, and gains these."""
    if path in made or path in ("", ".", "/"):
        return
    parts = [p for p in path.split("/") if p]
    current = "/" if path.startswith("/") else ""
    for part in parts:
        current = posixpath.join(current, part) if current else part
        if current in made:
            continue
        try:
            sftp.stat(current)
        except FileNotFoundError:
            sftp.mkdir(current)
        made.add(current)
    made.add(path)


def _sh(script: str) -> str:
    """Run ``script`` with ``sh``, whatever the remote user's login shell is."""
    return "sh -c " + shlex.quote(script)


def _tail(data: bytes, limit: int = 500) -> str:
    text = data.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def _is_paramiko_error(e: BaseException) -> bool:
    import paramiko

    return isinstance(e, paramiko.SSHException)


def _is_refused(e: BaseException) -> bool:
    errors = getattr(e, "errors", None)  # paramiko's NoValidConnectionsError
    if isinstance(errors, dict):
        return any(getattr(x, "errno", None) == _errno.ECONNREFUSED for x in errors.values())
    return getattr(e, "errno", None) == _errno.ECONNREFUSED


def _feed(channel: paramiko.Channel, data: bytes) -> None:
    try:
        channel.sendall(data)
        channel.shutdown_write()
    except Exception:  # noqa: BLE001 - OSError, EOFError or SSHException alike
        pass  # the command exited or the link dropped: _drain reports it


def _drain(channel: paramiko.Channel, timeout: float | None) -> tuple[bytes, bytes, int]:
    """Read a command's stdout and stderr to the end; return them and its status.

    Both streams share one flow-control window, so they are read as data
    comes (select on the channel) rather than one after the other.
    """
    out: list[bytes] = []
    err: list[bytes] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if channel.recv_ready():
            out.append(channel.recv(1 << 16))
            continue
        if channel.recv_stderr_ready():
            err.append(channel.recv_stderr(1 << 16))
            continue
        if channel.eof_received or channel.closed:
            break
        wait = 1.0 if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError
        select.select([channel], [], [], min(wait, 1.0))
    # The exit status follows EOF; a channel closed without one (dropped link) gives -1.
    status = channel.recv_exit_status()
    # Data racing the EOF.
    while channel.recv_stderr_ready():
        err.append(channel.recv_stderr(1 << 16))
    return b"".join(out), b"".join(err), status


def _load_known_keys(files: Sequence[Path], name: str) -> tuple[dict[str, paramiko.PKey], dict[str, Path]]:
    """Host keys recorded for ``name``: {key type: key}, and which file said so."""
    import paramiko

    keys: dict[str, paramiko.PKey] = {}
    source: dict[str, Path] = {}
    for path in files:
        if not path.is_file():
            continue
        try:
            host_keys = paramiko.HostKeys(str(path))
        except (OSError, paramiko.SSHException) as e:
            raise _error(
                HostKeyError,
                f"Cannot read known_hosts file {path}: {e}. Fix or remove the broken line "
                "(`ssh-keygen -F HOST -f FILE` finds entries).",
                getattr(e, "errno", None),
            ) from e
        found = host_keys.lookup(name)
        if found is None:
            continue
        for keytype in found.keys():
            if keytype not in keys:
                keys[keytype] = found[keytype]
                source[keytype] = path
    return keys, source


def _trust_hint(s: HostSettings, key: paramiko.PKey) -> str:
    target = s.known_hosts_file
    keytype = _KEYSCAN_TYPES.get(key.get_name(), key.get_name())
    if s.host_key_alias:
        add = f"    echo {shlex.quote(f'{s.known_hosts_name} {key.get_name()} {key.get_base64()}')} >> {target}"
    else:
        port = f"-p {s.port} " if s.port != 22 else ""
        add = f"    ssh-keyscan {port}-t {keytype} {s.hostname} >> {target}"
    return (
        f"Compare {fingerprint(key)} with what the host's administrator reads on the host "
        f"(`ssh-keygen -lf /etc/ssh/ssh_host_{keytype}_key.pub`), then trust it with\n{add}\n"
        f"or connect once with `{s.ssh_command()}` and answer yes, or pass "
        "trust_on_first_use=True."
    )


def _changed_host_key(
    s: HostSettings, offered: paramiko.PKey, expected: paramiko.PKey, source: dict[str, Path]
) -> HostKeyError:
    where = source.get(expected.get_name(), s.known_hosts_file)
    return _error(
        HostKeyError,
        f"HOST KEY CHANGED for {s.known_hosts_name}: the server offered {offered.get_name()} "
        f"{fingerprint(offered)}, but {where} records {expected.get_name()} "
        f"{fingerprint(expected)}. Someone may be intercepting the connection, or the host was "
        f"reinstalled. Refusing to connect (trust_on_first_use never overrides a changed key). "
        f"If the administrator confirms the new key, remove the old one with\n"
        f"    ssh-keygen -R {shlex.quote(s.known_hosts_name)} -f {where}\n"
        + _trust_hint(s, offered),
        None,
    )


def _auth_refused(s: HostSettings, e: Exception) -> TransportError:
    import paramiko

    offered = [str(k) for k in s.key_filenames]
    if s.allow_agent and os.environ.get("SSH_AUTH_SOCK"):
        offered.insert(0, "ssh-agent keys")
    if not s.key_filenames:
        offered.append("~/.ssh/id_* keys")
    if isinstance(e, paramiko.PasswordRequiredException):
        fix = "The key has a passphrase: load it into the agent with `ssh-add KEY` (workbench never asks for passwords)."
    else:
        fix = (
            f"Add your public key to ~/.ssh/authorized_keys of {s.user} on {s.hostname} "
            "(`ssh-copy-id`), load the right key into ssh-agent (`ssh-add`), or name it with "
            f"key_filename= / IdentityFile; `{s.ssh_command()} true` should work."
        )
    return _error(
        TransportError,
        f"Authentication refused by {s.destination} for {', '.join(offered) or 'no key at all'}: "
        f"{e}. {fix}",
        _errno.EACCES,
    )


class _UnknownHostPolicy:
    """Refuse unknown host keys with a helpful message, or record them when opted in."""

    def __init__(self, settings: HostSettings) -> None:
        self.settings = settings

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        s = self.settings
        if not s.trust_on_first_use:
            raise _error(
                HostKeyError,
                f"Unknown host key for {s.known_hosts_name}: the server offered {key.get_name()} "
                f"{fingerprint(key)}, which is in none of "
                f"{', '.join(str(p) for p in s.known_hosts) or 'no known_hosts file'}. "
                + _trust_hint(s, key),
                None,
            )
        target = s.known_hosts_file
        _append_known_host(target, s.known_hosts_name, key)
        log.warning("Trusted new host key of %s on first use: %s %s (recorded in %s)",
                    s.known_hosts_name, key.get_name(), fingerprint(key), target)


def _append_known_host(path: Path, name: str, key: paramiko.PKey) -> None:
    # Append rather than rewrite: paramiko's save would drop comments and
    # re-order the user's file.
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            if f.tell() > 0:
                with open(path, "rb") as r:
                    r.seek(-1, os.SEEK_END)
                    if r.read(1) != b"\n":
                        f.write("\n")
            f.write(f"{name} {key.get_name()} {key.get_base64()}\n")
    except OSError as e:
        raise _error(
            HostKeyError,
            f"Cannot record the host key of {name} in {path}: {e}. Make the file writable, or "
            "pass known_hosts= pointing to a writable file.",
            e.errno,
        ) from e


def connect(
    host: str,
    *,
    user: str | None = None,
    port: int | None = None,
    key_filename: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    known_hosts: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    ssh_config: str | os.PathLike[str] | None = _DEFAULT,
    trust_on_first_use: bool = False,
    allow_agent: bool = True,
    timeout: float | None = None,
    retries: int = 3,
    backoff: float = 0.5,
) -> SSHConnection:
    """Open an SSH connection with verified host key.

    Parameters are those of :func:`resolve_host` plus ``retries`` and
    ``backoff`` of :class:`SSHConnection`.

    Returns
    -------
    SSHConnection
        Connected; close it (or use it in a ``with`` block).

    Raises
    ------
    HostKeyError
        Unknown (without opt-in) or changed host key; the message shows the
        fingerprint and how to trust the key.
    TransportError
        Unreachable host (after retries) or authentication refused.

    Examples
    --------
    >>> with connect("cluster") as conn:                    # doctest: +SKIP
    ...     print(conn.run("hostname").stdout)
    """
    settings = resolve_host(
        host,
        user=user,
        port=port,
        key_filename=key_filename,
        known_hosts=known_hosts,
        ssh_config=ssh_config,
        trust_on_first_use=trust_on_first_use,
        allow_agent=allow_agent,
        timeout=timeout,
    )
    return SSHConnection(settings, retries=retries, backoff=backoff).open()
