"""Mirror a remote bundle's results into a local folder: fast, safe, resumable.

:func:`sync` copies the files of a remote bundle that match include/exclude
patterns (by default everything under ``outputs/`` and ``logs/``) into a
local folder, and :class:`Syncer` does it again every few seconds in the
background, calling hooks for each new result.

How it stays correct:

* **Incremental.**  A file moves when its size or modification time differs
  from the local copy's; local copies get the remote mtime, so a copy that
  matches is never fetched again.  An on-disk manifest (``.workbench-sync.json``
  in the local folder) records what was mirrored and the checksums seen.
* **Never a half file.**  Data goes to a hidden temporary name in the
  destination folder (``.<name>.<tag>.wbpart``) and is renamed into place
  (``os.replace``, atomic) only once its size, and checksum when verifying,
  match.  A file under its final name is always whole.
* **Resumable.**  After a dropped connection the sync reconnects with
  backoff and carries on; big files continue from the bytes already in
  their temporary file, also across separate runs.
* **Verified on request.**  ``verify=True`` compares SHA-256 sums computed
  by the remote's ``sha256sum`` with the local files, re-fetching any that
  differ.

How it stays fast:

* Each round is one ``exec_command`` running one small ``sh`` script: it
  reports what the host offers, lists the files with ``find -printf``, then
  waits for the list of files we want and streams them as one ``tar``.
  Each exec starts the remote user's login shell, which on real accounts
  (conda, pyenv, environment modules) can take most of a second, so one
  exec per round matters as much as the transfer itself.
* tar is read member by member straight from the channel (thousands of
  small files a second, where per-file SFTP manages a few hundred; a big
  file streams at OpenSSH's own speed, faster than paramiko's SFTP).
* A partial download of an interrupted round resumes with ``tail -c +OFFSET``.
* Where shell commands are not allowed (``ForceCommand internal-sftp``) or
  ``tar``/``find`` are missing, SFTP does the listing and the transfers,
  with paramiko's prefetch (never turned off: that is ~30x slower).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno as _errno
import hashlib
import json
import logging
import os
import posixpath
import re
import shlex
import stat
import tarfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._atomic import atomic_write
from .._names import LOGS, OUTPUTS
from ..errors import TransportError
from .ssh import SSHConnection, _drain, _error, _feed, _sh, _tail, is_transient, resolve_host

if TYPE_CHECKING:
    import paramiko

__all__ = [
    "DEFAULT_INCLUDE",
    "MANIFEST",
    "PathFilter",
    "RemotePath",
    "SyncProgress",
    "SyncReport",
    "Syncer",
    "sync",
]

log = logging.getLogger(__name__)

#: What a bundle sync mirrors when no ``include`` is given.
DEFAULT_INCLUDE: tuple[str, ...] = (f"{OUTPUTS}/**", f"{LOGS}/**")
#: The manifest file, in the root of the local mirror.
MANIFEST = ".workbench-sync.json"
#: Suffix of temporary (not yet complete) files.
PART_SUFFIX = ".wbpart"

CHUNK = 1 << 18
_MANIFEST_FORMAT = 1
_SAVE_EVERY = 2.0  # seconds between manifest saves during a long sync
_PROGRESS_EVERY = 0.1  # seconds between progress calls (except phase changes)


class _Cancelled(Exception):
    """Raised inside a sync round when its stop event is set."""


# -- remote specification ---------------------------------------------------


@dataclass(frozen=True)
class RemotePath:
    """A folder on a remote host: ``[user@]host:path`` or ``ssh://[user@]host[:port]/path``.

    A relative ``path`` (or one starting with ``~/``) starts at the remote
    user's home folder.
    """

    host: str
    path: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, spec: str | RemotePath) -> RemotePath:
        """Parse ``[user@]host:path`` (scp style) or ``ssh://[user@]host[:port]/path``.

        Raises
        ------
        TransportError
            (``EINVAL``) if ``spec`` names no host.
        """
        if isinstance(spec, RemotePath):
            return spec
        text = str(spec)
        if text.startswith("ssh://"):
            rest = text[len("ssh://") :]
            authority, _, path = rest.partition("/")
            user, _, hostport = authority.rpartition("@")
            host, port = hostport, None
            if hostport.startswith("["):  # [ipv6]:port
                host, _, tail = hostport[1:].partition("]")
                port = int(tail[1:]) if tail.startswith(":") and tail[1:] else None
            elif ":" in hostport:
                host, _, p = hostport.partition(":")
                port = int(p) if p else None
            path = path if path.startswith("~") else "/" + path
            if host:
                return cls(host, path, user or None, port)
        else:
            user, _, rest = text.rpartition("@") if "@" in text.split(":", 1)[0] else ("", "", text)
            if rest.startswith("["):
                host, _, tail = rest[1:].partition("]")
                if tail.startswith(":"):
                    return cls(host, tail[1:] or ".", user or None)
            elif ":" in rest:
                host, _, path = rest.partition(":")
                if host and "/" not in host:
                    return cls(host, path or ".", user or None)
        raise _error(
            TransportError,
            f"Cannot tell the host in remote {text!r}: write it as `[user@]host:path` "
            "(e.g. `cluster:scans/bundle`) or `ssh://[user@]host[:port]/absolute/path`.",
            _errno.EINVAL,
        )

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            path = self.path if self.path.startswith(("/", "~")) else "~/" + self.path
            path = path if path.startswith("/") else "/" + path
            return f"ssh://{user}{host}:{self.port}{path}"
        return f"{user}{host}:{self.path}"


# -- which files ------------------------------------------------------------


def _translate_name(part: str) -> str:
    """One folder or file name's glob as a regex that never crosses ``/``."""
    out: list[str] = []
    i = 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            start = i + 2 if part[i + 1 : i + 2] in ("!", "^") else i + 1
            end = part.find("]", start + 1 if part[start : start + 1] == "]" else start)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = part[i + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\")
                out.append(f"[^/{body}]" if negate else f"[{body}]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _translate(pattern: str) -> str:
    """A glob over ``/``-separated paths as a regex: ``*`` stays in one folder, ``**`` spans folders."""
    parts = pattern.split("/")
    out: list[str] = []
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
        else:
            out.append(_translate_name(part) + ("" if last else "/"))
    return "".join(out)


class PathFilter:
    """Select bundle-relative paths with include and exclude glob patterns.

    A path is selected when it matches an include pattern and no exclude
    pattern.  Patterns follow ``.gitignore`` habits:

    * ``*`` and ``?`` match within one folder name, ``**`` any number of
      folders, ``[abc]`` one of the characters;
    * a pattern with a ``/`` is matched from the bundle root (``outputs/*.npz``);
      one without matches a name at any depth (``*.npz``);
    * a pattern that matches a folder matches everything below it
      (``logs`` is ``logs/**``).

    Parameters
    ----------
    include
        Patterns to mirror; None means :data:`DEFAULT_INCLUDE`.
    exclude
        Patterns to leave out, even if included.
    """

    def __init__(self, include: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> None:
        self.include = tuple(_clean_pattern(p) for p in (DEFAULT_INCLUDE if include is None else include))
        self.exclude = tuple(_clean_pattern(p) for p in exclude)
        self._inc = _compile(self.include)
        self._exc = _compile(self.exclude)

    def __repr__(self) -> str:
        return f"PathFilter(include={list(self.include)!r}, exclude={list(self.exclude)!r})"

    def __call__(self, path: str) -> bool:
        """Whether the bundle-relative ``path`` (``/``-separated) is selected."""
        if path.endswith(PART_SUFFIX) or path == MANIFEST:
            return False
        return self._inc.match(path) is not None and self._exc.match(path) is None

    def roots(self) -> tuple[str, ...]:
        """The smallest set of folders (or files) whose listing covers every include.

        ``""`` means the whole bundle.
        """
        roots: set[str] = set()
        for pattern in self.include:
            if "/" not in pattern:
                return ("",)
            literal: list[str] = []
            for part in pattern.split("/"):
                if any(c in part for c in "*?["):
                    break
                literal.append(part)
            if not literal:
                return ("",)
            roots.add("/".join(literal))
        # Drop roots inside other roots.
        keep = sorted(r for r in roots if not any(r.startswith(o + "/") for o in roots if o != r))
        return tuple(keep)


def _clean_pattern(pattern: str) -> str:
    p = pattern.strip().lstrip("/").rstrip("/")
    if not p or ".." in p.split("/"):
        raise _error(
            TransportError,
            f"Pattern {pattern!r} is empty or climbs out of the bundle with '..'; write it "
            "relative to the bundle root, e.g. 'outputs/*.json'.",
            _errno.EINVAL,
        )
    return p


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    alts = []
    for p in patterns:
        prefix = "" if "/" in p else "(?:[^/]*/)*"
        alts.append(f"{prefix}{_translate(p)}(?:/.*)?")
    return re.compile("^(?:" + "|".join(alts) + ")$", re.DOTALL)


# -- report and progress ----------------------------------------------------


@dataclass(frozen=True)
class SyncProgress:
    """Where a running sync is, passed to the ``progress`` callable.

    ``phase`` is ``"listing"``, ``"verifying"``, ``"transferring"`` or
    ``"done"``; ``path`` is the file being fetched (bundle-relative).
    """

    phase: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    path: str | None = None


@dataclass
class SyncReport:
    """What one sync did.

    Attributes
    ----------
    remote, local_dir
        What was mirrored where.
    files_remote
        Remote files selected by the patterns.
    files_new, files_updated
        Files fetched that did not exist locally, or replaced a different copy.
    files_unchanged
        Files already up to date.
    files_failed
        Files not mirrored this time (see ``errors``; the next sync retries them).
    files_corrupt
        Local copies whose checksum differed from the remote's (re-fetched;
        with ``verify=True`` only).
    files_gone
        Files mirrored earlier that no longer exist remotely (local copies kept).
    bytes_transferred
        File bytes received.
    bytes_resumed
        Bytes of partial downloads kept from an interrupted attempt.
    seconds
        Wall time.
    reconnects
        Connections re-opened after a drop.
    verified
        Whether every selected file's checksum was compared.
    cancelled
        The sync was stopped before it finished.
    new_files
        Local paths written (new or updated), in the order they landed.
    """

    remote: str
    local_dir: Path
    files_remote: int = 0
    files_new: int = 0
    files_updated: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    files_corrupt: int = 0
    files_gone: int = 0
    bytes_transferred: int = 0
    bytes_resumed: int = 0
    seconds: float = 0.0
    reconnects: int = 0
    verified: bool = False
    cancelled: bool = False
    new_files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The remote host's clock when the listing was made (epoch seconds; ``None`` over SFTP only):
    #: the ``since`` of the next incremental sync.
    remote_now: float | None = None

    @property
    def files_transferred(self) -> int:
        return self.files_new + self.files_updated

    @property
    def ok(self) -> bool:
        """Everything selected is now mirrored."""
        return self.files_failed == 0 and not self.cancelled

    def summary(self) -> str:
        """One line for people, e.g. for ``workbench sync``."""
        rate = self.bytes_transferred / self.seconds / 2**20 if self.seconds > 0 else 0.0
        text = (
            f"{self.remote} -> {self.local_dir}: {self.files_new} new, {self.files_updated} updated, "
            f"{self.files_unchanged} unchanged"
        )
        if self.files_failed:
            text += f", {self.files_failed} FAILED"
        if self.files_corrupt:
            text += f", {self.files_corrupt} corrupt copies re-fetched"
        text += f"; {self.bytes_transferred / 2**20:.1f} MiB in {self.seconds:.2f} s ({rate:.0f} MiB/s)"
        if self.verified:
            text += ", checksums verified"
        if self.cancelled:
            text += " (stopped)"
        return text


# -- one mirror round -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RemoteFile:
    path: str  # bundle-relative, '/'-separated
    size: int
    mtime_ns: int


def _same_mtime(local_ns: int, remote_ns: int, coarse: bool) -> bool:
    # SFTP (v3) listings only know whole seconds.
    if coarse:
        return local_ns // 1_000_000_000 == remote_ns // 1_000_000_000
    return local_ns == remote_ns


def _part_path(dest: str | os.PathLike[str], size: int, mtime_ns: int) -> str:
    """The temporary name of ``dest``'s download; it changes when the remote file does."""
    head, name = os.path.split(os.fspath(dest))
    tag = hashlib.sha1(f"{size}:{mtime_ns}".encode()).hexdigest()[:10]
    if len(name) > 200:  # keep within the 255-byte name limit
        name = hashlib.sha1(os.fsencode(name)).hexdigest()
    return os.path.join(head, f".{name}.{tag}{PART_SUFFIX}")


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _safe_rel(rel: str) -> bool:
    """Whether a remote relative path stays inside the mirror (no '', '.', '..' parts)."""
    return not (not rel or rel.startswith("/") or rel.endswith("/") or "//" in rel or "\0" in rel
                or any(p in (".", "..") for p in rel.split("/")))  # fmt: skip


def _parse_find(data: bytes, skipped: list[str] | None = None) -> dict[str, _RemoteFile]:
    """``find -printf '%s %T@ %p\\0'`` output as {path: file}; runs once per file per round.

    A record that is not ``<size> <seconds> <path>`` of a path inside the
    bundle is left out, and noted in ``skipped``: one bad entry skips one file.
    """
    files: dict[str, _RemoteFile] = {}
    for record in data.split(b"\0"):
        if not record:
            continue
        try:
            size, mtime, raw = record.split(b" ", 2)
            sec, _, frac = mtime.partition(b".")
            if not (size.isdigit() and sec.isdigit() and (not frac or frac.isdigit())):
                raise ValueError
            ns = int(sec) * 1_000_000_000 + (int(frac[:9].ljust(9, b"0")) if frac else 0)
        except ValueError:
            if skipped is not None:
                skipped.append(f"{record[:80]!r} is not '<size> <time> <path>'")
            continue
        if raw.startswith(b"./"):
            raw = raw[2:]
        rel = raw.decode("utf-8", "surrogateescape")
        # Only a part starting with '.' can be '.' or '..'; find makes no empty parts, a hostile one might.
        if (rel.startswith((".", "/")) or "/." in rel or "//" in rel or rel.endswith("/") or not rel) and not _safe_rel(rel):
            if skipped is not None:
                skipped.append(f"{rel[:80]!r} is not a path inside the bundle")
            continue
        files[rel] = _RemoteFile(rel, int(size), ns)
    return files


def _parse_sha256sum(text: str) -> dict[str, str]:
    sums: dict[str, str] = {}
    for line in text.splitlines():
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
        digest, name = line[:64], line[66:]
        if escaped:
            # GNU coreutils escapes '\' and newlines in names.
            name = re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), name)
        name = name[2:] if name.startswith("./") else name
        sums[name] = digest.lower()
    return sums


# The remote half of a sync round, one shell for everything: report what the
# host offers, list the files, then wait for our request and stream a tar of
# the files we ask for.  One exec, because each exec starts the user's login
# shell, which on real accounts (pyenv, conda, modules) can cost a second.
_SESSION = r"""
IFS= read -r hello || exit 0
cd -- {root} 2>/dev/null || {{ echo wb-missing; exit 3; }}
t=no; command -v tar >/dev/null 2>&1 && t=yes
s=none
if command -v sha256sum >/dev/null 2>&1; then s=sha256sum
elif command -v shasum >/dev/null 2>&1; then s=shasum; fi
if find /dev/null -maxdepth 0 -printf '' >/dev/null 2>&1; then f=yes; else f=no; fi
echo "wb-sync 1 tar=$t find=$f sum=$s now=$(date +%s)"
if [ $f = yes ]; then
  set --
  for r in {roots}; do [ -e "$r" ] && set -- "$@" "$r"; done
  [ $# -gt 0 ] && find -H "$@" -type f {newer}-printf '%s %T@ %p\0'
fi
printf '\000'
IFS= read -r req || exit 0
[ "$req" = tar ] && exec tar -cf - --null -T -
exit 0
"""

_SUM_COMMANDS = {"sha256sum": "sha256sum", "shasum": "shasum -a 256"}

# Files modified this recently (by the remote clock) may be being written:
# their tar members are only renamed into place once tar has exited without
# complaining about them.
RECENT = 5.0
# Interrupted downloads at least this big keep their partial data and resume.
RESUME_MIN = 1 << 20


#: Lines a login shell may print before the session's first line (a banner, a ~/.bashrc echo).
_MAX_JUNK_LINES = 200


def _junk_warning(destination: str, junk: list[bytes]) -> str:
    first = junk[0].decode("utf-8", "replace").strip()[:80]
    return (
        f"the login shell on {destination} printed {len(junk)} line(s) before workbench's output (first: {first!r}); "
        "they were skipped. Make ~/.bashrc (or the shell's start-up files) print nothing when not interactive: "
        "SFTP fails on such hosts."
    )


class _ChannelStream:
    """Buffered reads from a channel's stdout: a line, a NUL-ended listing, then raw bytes."""

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self.buf = bytearray()

    def _fill(self) -> bool:
        data = self.channel.recv(CHUNK)
        self.buf += data
        return bool(data)

    def readline(self) -> bytes | None:
        while b"\n" not in self.buf:
            if not self._fill():
                return None
        end = self.buf.index(b"\n") + 1
        line = bytes(self.buf[:end])
        del self.buf[:end]
        return line

    def read_listing(self) -> bytes | None:
        """Records ``...\\0`` up to the empty one that ends the listing."""
        start = 0
        while True:
            # Records are never empty, so the first '\0\0' (or a leading '\0') ends it.
            if self.buf[:1] == b"\0":
                del self.buf[:1]
                return b""
            at = self.buf.find(b"\0\0", max(0, start - 1))
            if at >= 0:
                data = bytes(self.buf[: at + 1])
                del self.buf[: at + 2]
                return data
            start = len(self.buf)
            if not self._fill():
                return None

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (fewer when that is what has arrived; b"" at the end)."""
        if size < 0:
            size = CHUNK
        if not self.buf:
            if size >= CHUNK // 2:
                return self.channel.recv(size)  # big reads skip the buffer: one copy less
            if not self._fill():
                return b""
        n = min(size, len(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data



class _TarDamage(TransportError):
    """The remote's tar output is not a tar stream (a bad header, a bad pax record, a lying size)."""


#: A tar member may be larger than its file was listed (a log appended to in between) by this much at most.
_GROWTH = 1 << 20


class _TarReader:
    """Read a tar stream member by member, straight from the channel.

    tarfile's stream mode works too, but copies every byte through three
    buffers; with the SSH transport thread wanting the same GIL that costs a
    fifth of the throughput on big files.  Headers are still parsed by
    :meth:`tarfile.TarInfo.frombuf`; GNU long names and pax records (what GNU
    and BSD tar write for long or non-ASCII names) are applied here.
    """

    def __init__(self, stream: _ChannelStream) -> None:
        self.stream = stream
        self.remaining = 0  # data bytes of the current member not read yet
        self._pad = 0

    def _exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n > 0:
            data = self.stream.read(n)
            if not data:
                raise EOFError("tar stream ended early")
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def _skip(self, n: int) -> None:
        while n > 0:
            data = self.stream.read(min(n, CHUNK))
            if not data:
                raise EOFError("tar stream ended early")
            n -= len(data)

    def members(self) -> Iterator[_Member | tarfile.TarInfo]:
        pax: dict[str, str] = {}
        longname: str | None = None
        while True:
            header = self._exact(tarfile.BLOCKSIZE)
            if header.count(0) == tarfile.BLOCKSIZE:
                return  # end-of-archive marker
            try:
                info = _header(header)
            except (ValueError, tarfile.TarError, UnicodeError) as e:
                raise _TarDamage(f"a header that is not a tar header ({e})") from None
            if info.size < 0:
                raise _TarDamage(f"a member of negative size {info.size}")
            padded = -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
            if info.type in (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
                data = self._exact(padded)[: info.size]
                if info.type == tarfile.GNUTYPE_LONGNAME:
                    longname = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                continue
            if info.type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.XGLTYPE):
                records = _parse_pax(self._exact(padded)[: info.size])
                if info.type != tarfile.XGLTYPE:
                    pax.update(records)
                continue
            if longname is not None:
                info.name = longname
            if "path" in pax:
                info.name = pax["path"]
            if "size" in pax:
                if not pax["size"].isdigit():
                    raise _TarDamage(f"a pax size {pax['size'][:40]!r} that is not a number")
                info.size = int(pax["size"])
                padded = -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
            if "mtime" in pax:
                try:
                    info.mtime = float(pax["mtime"])
                    int(info.mtime)  # not nan or infinite
                except (ValueError, OverflowError):
                    raise _TarDamage(f"a pax mtime {pax['mtime'][:40]!r} that is not a time") from None
            pax, longname = {}, None
            # As tarfile: regular files and unknown types carry data; links,
            # folders and devices do not, whatever their size field says.
            carries = info.type in tarfile.REGULAR_TYPES or info.type not in tarfile.SUPPORTED_TYPES
            self.remaining = info.size if carries else 0
            self._pad = padded - info.size if carries else 0
            yield info
            self._skip(self.remaining + self._pad)
            self.remaining = 0

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current member's data (b"" at its end)."""
        if self.remaining <= 0:
            return b""
        data = self.stream.read(min(size, self.remaining))
        if not data:
            raise EOFError("tar stream ended inside a member")
        self.remaining -= len(data)
        return data


@dataclass
class _Member:
    """The parts of a tar header we use (what TarInfo would give, at a tenth of the cost)."""

    name: str
    size: int
    mtime: float
    type: bytes

    def isreg(self) -> bool:
        return self.type in tarfile.REGULAR_TYPES


_USTAR = (b"ustar  \0", b"ustar\x0000")


def _header(block: bytes) -> _Member | tarfile.TarInfo:
    """Parse one 512-byte tar header; plain GNU/ustar ones without TarInfo's overhead."""
    size_field = block[124:136]
    if block[257:265] in _USTAR and not size_field[0] & 0x80:
        stored = int(block[148:156].split(b"\0", 1)[0].strip() or b"0", 8)
        if stored == sum(block[:148]) + 256 + sum(block[156:]):  # 256: the checksum field as spaces
            name = block[:100].split(b"\0", 1)[0]
            prefix = block[345:500].split(b"\0", 1)[0] if block[257:263] == b"ustar\0" else b""
            if prefix:
                name = prefix + b"/" + name
            return _Member(
                name.decode("utf-8", "surrogateescape"),
                int(size_field.split(b"\0", 1)[0].strip() or b"0", 8),
                int(block[136:148].split(b"\0", 1)[0].strip() or b"0", 8),
                block[156:157] or tarfile.REGTYPE,
            )
    # Anything unusual (base-256 sizes, other formats): tarfile knows best.
    return tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")


def _parse_pax(data: bytes) -> dict[str, str]:
    """pax extended header records: ``"<length> <key>=<value>\\n"``."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        digits = data[pos:space]
        if not digits.isdigit() or int(digits) <= space - pos + 1 or pos + int(digits) > len(data):
            raise _TarDamage(f"a pax record of length {digits[:20]!r}")
        length = int(digits)
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return out


@dataclass
class _Session:
    """The session command's channel and what it reported."""

    channel: paramiko.Channel
    stream: _ChannelStream
    tar: bool
    find: bool
    sum_command: str | None
    now: float
    listing: dict[str, _RemoteFile] | None = None

    def close(self) -> None:
        self.channel.close()


class _Mirror:
    """The state of one sync: settings, manifest, counters (kept across reconnects)."""

    def __init__(
        self,
        conn: SSHConnection,
        remote: RemotePath,
        local: Path,
        filt: PathFilter,
        *,
        verify: bool,
        progress: Callable[[SyncProgress], None] | None,
        stop: threading.Event | None,
    ) -> None:
        self.conn = conn
        self.remote = remote
        self.root = conn.remote_path(remote.path)
        self.local = local
        self._local = os.fspath(local)
        self.filt = filt
        self.verify = verify
        self.progress_cb = progress
        self.stop = stop
        #: List only files modified since this remote time (see :func:`sync`); None: every file.
        self.since: float | None = None
        self.report = SyncReport(remote=str(remote), local_dir=local)
        self.manifest: dict[str, list[Any]] = {}
        self._dirty = False
        self._was_complete = True
        self.new: set[str] = set()
        self.updated: set[str] = set()
        self.failed: dict[str, str] = {}
        self.corrupt: set[str] = set()
        self._dirs: set[str] = set()
        self._exists: set[str] = set()  # files that had a local copy when planned
        self._last_save = time.monotonic()
        self._last_progress = 0.0
        self._done_files = 0
        self._done_bytes = 0
        self._total_files = 0
        self._total_bytes = 0
        self._load_manifest()
        self._prior_complete = self._was_complete

    # -- manifest ---------------------------------------------------------

    def _load_manifest(self) -> None:
        path = self.local / MANIFEST
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return  # none yet, or damaged: local file stats are the truth anyway
        if data.get("format") == _MANIFEST_FORMAT and isinstance(data.get("files"), dict):
            self.manifest = data["files"]
            self._was_complete = bool(data.get("complete"))
        else:
            self._dirty = True

    def save_manifest(self, complete: bool = False) -> None:
        path = self.local / MANIFEST
        data = {"format": _MANIFEST_FORMAT, "remote": str(self.remote), "complete": complete,
                "files": self.manifest}  # fmt: skip
        try:
            self.local.mkdir(parents=True, exist_ok=True)
            # A name unique to this writer (two syncs into one folder must not
            # share it) that the clean-up of leftovers recognises.
            atomic_write(path, json.dumps(data, separators=(",", ":")), suffix=PART_SUFFIX)
        except OSError as e:
            raise _local_error(path, e) from e
        self._last_save = time.monotonic()
        self._dirty = False
        self._was_complete = complete

    def _record(self, rel: str, entry: list[Any] | None) -> None:
        if self.manifest.get(rel) != entry:
            if entry is None:
                del self.manifest[rel]
            else:
                self.manifest[rel] = entry
            self._dirty = True

    def _maybe_save(self) -> None:
        if self._dirty and time.monotonic() - self._last_save > _SAVE_EVERY:
            self.save_manifest()

    # -- progress ---------------------------------------------------------

    def _progress(self, phase: str, path: str | None = None, force: bool = False) -> None:
        if self.progress_cb is None:
            return
        now = time.monotonic()
        if not force and now - self._last_progress < _PROGRESS_EVERY:
            return
        self._last_progress = now
        self.progress_cb(
            SyncProgress(phase, self._done_files, self._total_files, self._done_bytes, self._total_bytes, path)
        )

    def _check_stop(self) -> None:
        if self.stop is not None and self.stop.is_set():
            raise _Cancelled

    # -- the round --------------------------------------------------------

    def run(self) -> None:
        """One pass: list, compare, fetch.  Idempotent, so a retry just runs it again."""
        self._check_stop()
        self._progress("listing", force=True)
        session = self._start_session()
        try:
            if session is not None and session.listing is not None:
                listing, coarse = session.listing, False
            else:
                listing, coarse = self._list_sftp(self.filt.roots()), True
            selected = {rel: f for rel, f in listing.items() if self.filt(rel)}
            self.report.files_remote = len(selected)
            sums = self._remote_sums(session, selected) if self.verify else {}
            todo = self._plan(selected, sums, coarse)
            # A listing of recent files only says nothing of the others: none is "gone".
            gone = [] if self.since is not None else [rel for rel in self.manifest if rel not in listing and self.filt(rel)]
            self.report.files_gone = len(gone)

            self._total_files = len(todo)
            self._total_bytes = sum(f.size for f in todo)
            self._done_files = self._done_bytes = 0
            if todo and self._was_complete:
                self.save_manifest(complete=False)  # partial files may appear from here on
            # Partial downloads of an earlier attempt continue where they stopped.
            offsets = {f.path: n for f in todo if f.size >= RESUME_MIN and (n := self._partial(f)) > 0}
            resume = [f for f in todo if f.path in offsets]
            rest = [f for f in todo if f.path not in offsets]
            if session is not None and session.tar and rest:
                self._fetch_tar(session, rest, sums)
            else:
                if session is not None:
                    session.close()
                    session = None
                for f in rest:
                    self._fetch_one(f, sums, via="sftp")
            via = "stream" if self.conn._caps.exec_ok else "sftp"
            for f in resume:
                self._fetch_one(f, sums, via=via, offset=offsets[f.path])
        finally:
            if session is not None:
                session.close()
        if not self.failed:
            self._remove_stale_parts()
        if self._dirty or self._was_complete != (not self.failed):
            self.save_manifest(complete=not self.failed)
        self._progress("done", force=True)

    def _plan(self, selected: Mapping[str, _RemoteFile], sums: Mapping[str, str], coarse: bool) -> list[_RemoteFile]:
        """The files to fetch: missing or different locally (or, verifying, with another checksum)."""
        todo: list[_RemoteFile] = []
        base = os.path.join(self._local, "")
        for rel in sorted(selected):
            f = selected[rel]
            dest = base + rel  # listings hold safe paths only (_parse_find, _list_sftp)
            try:
                st = os.lstat(dest)
            except FileNotFoundError:
                todo.append(f)
                continue
            except OSError as e:
                self._fail(rel, f"cannot read local copy {dest}: {e}")
                continue
            self._exists.add(rel)
            if not (stat.S_ISREG(st.st_mode) and st.st_size == f.size
                    and _same_mtime(st.st_mtime_ns, f.mtime_ns, coarse)):  # fmt: skip
                todo.append(f)
                continue
            entry = self.manifest.get(rel)
            digest = entry[2] if entry and entry[0] == f.size and entry[1] == f.mtime_ns else None
            if rel in sums:
                self._check_stop()
                digest = _sha256_file(dest)
                if digest != sums[rel]:
                    self.corrupt.add(rel)
                    todo.append(f)
                    continue
            self._record(rel, [f.size, f.mtime_ns, digest])
        return todo

    @property
    def _parts_may_linger(self) -> bool:
        """Whether temporary files of other attempts may be around.

        Only when the previous sync did not finish (its manifest says so) or
        this one reconnected: then they are looked for and removed.
        """
        return not self._prior_complete or self.report.reconnects > 0

    def _partial(self, f: _RemoteFile) -> int:
        try:
            return os.stat(_part_path(self._dest(f.path), f.size, f.mtime_ns)).st_size
        except FileNotFoundError:
            return 0

    def _dest(self, rel: str) -> str:
        """The local path of bundle-relative ``rel`` (a str: this runs for every file)."""
        if not _safe_rel(rel):
            # find/SFTP never produce these; refuse rather than write outside the mirror.
            raise _error(TransportError, f"Refusing remote path {rel!r}: it leaves the mirror.", _errno.EINVAL)
        return os.path.join(self._local, rel)

    def _fail(self, rel: str, why: str) -> None:
        self.failed[rel] = why

    def _alive(self) -> None:
        # SSHConnection would quietly reconnect; within a round a drop must reach
        # _run instead, which counts it, backs off and lists again.
        if not self.conn.connected:
            raise EOFError("the connection dropped")

    def _open_command(self, command: str) -> paramiko.Channel:
        self._alive()
        return self.conn.open_command(command)

    def _sftp(self) -> paramiko.SFTPClient:
        self._alive()
        return self.conn.sftp()

    # -- listing ----------------------------------------------------------

    def _start_session(self) -> _Session | None:
        """Start the session command and read its report and listing (None: no shell access)."""
        if self.conn._caps.exec_ok is False:
            # Learnt by an earlier round on this connection: no session to try.
            self._warn_sftp_only("found earlier on this connection")
            return None
        roots = " ".join(shlex.quote(r or ".") for r in self.filt.roots())
        newer = f"-newermt @{int(self.since)} " if self.since is not None else ""
        script = _SESSION.format(root=shlex.quote(self.root), roots=roots, newer=newer)
        channel = self._open_command(_sh(script))
        # Our script reads this line first.  A host that only allows SFTP
        # (ForceCommand internal-sftp) runs sftp-server instead, which takes the
        # bytes for an oversized packet length and quits at once: no long timeout.
        # It may also have closed the channel before this line goes out: that
        # is the same answer ("no shell here"), not a failed sync.
        stream = _ChannelStream(channel)
        line = None
        junk: list[bytes] = []
        try:
            channel.sendall(b"wb-hello\n")
            channel.settimeout(max(30.0, self.conn.settings.timeout))
            line = stream.readline()
            # A login shell may print first (a banner, an echo in ~/.bashrc): skip it, up to a point.
            while line is not None and not line.startswith(b"wb-") and len(junk) < _MAX_JUNK_LINES:
                junk.append(line)
                line = stream.readline()
        except TimeoutError:
            pass
        except OSError:
            if not channel.closed:
                raise
        if line is None or not line.startswith(b"wb-"):
            _, err, status = _drain(channel, 5.0) if not channel.closed else (b"", b"", -1)
            channel.close()
            if status == -1 and not self.conn.connected:
                raise EOFError("connection closed while starting the sync")
            self.conn._caps.exec_ok = False
            self._warn_sftp_only(_tail(err) or "no answer")
            return None
        self.conn._caps.exec_ok = True
        if junk:
            self.report.warnings.append(_junk_warning(self.conn.settings.destination, junk))
        if line.startswith(b"wb-missing"):
            channel.close()
            raise self._missing_root("")
        words = dict(w.split("=", 1) for w in line.decode("utf-8", "replace").split()[2:] if "=" in w)
        try:
            now = float(words.get("now", "0") or 0)
        except ValueError:
            now = 0.0
        session = _Session(
            channel,
            stream,
            tar=words.get("tar") == "yes",
            find=words.get("find") == "yes",
            sum_command=_SUM_COMMANDS.get(words.get("sum", "")),
            now=now,
        )
        self.report.remote_now = session.now or None
        channel.settimeout(max(60.0, self.conn.settings.timeout * 3))
        data = stream.read_listing()
        if data is None:
            channel.close()
            raise EOFError("connection closed while listing remote files")
        if session.find:
            skipped: list[str] = []
            session.listing = _parse_find(data, skipped)
            if skipped:
                self.report.warnings.append(
                    f"{self.conn.settings.destination}: {len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'} of "
                    f"the remote listing skipped: {'; '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}"
                )
        return session

    def _warn_sftp_only(self, why: str) -> None:
        self.report.warnings.append(
            f"{self.conn.settings.destination} runs no shell commands ({why}): "
            "using SFTP only, which is slower for many files"
        )

    def _missing_root(self, detail: str) -> TransportError:
        return _error(
            TransportError,
            f"Remote folder {self.remote.path!r} does not exist on {self.conn.settings.destination}"
            f"{' (' + detail.strip() + ')' if detail.strip() else ''}. Check the path; relative "
            "paths start at the remote home folder.",
            _errno.ENOENT,
        )

    def _list_sftp(self, roots: Sequence[str]) -> dict[str, _RemoteFile]:
        sftp = self._sftp()
        try:
            sftp.stat(self.root)
        except FileNotFoundError as e:
            raise self._missing_root(str(e)) from e
        files: dict[str, _RemoteFile] = {}

        def walk(rel: str) -> None:
            path = posixpath.join(self.root, rel) if rel else self.root
            try:
                entries = sftp.listdir_attr(path)
            except FileNotFoundError:
                return
            except PermissionError as e:
                self.report.warnings.append(f"cannot list {path}: {e}")
                return
            for a in entries:
                sub = f"{rel}/{a.filename}" if rel else a.filename
                if "/" in a.filename or not _safe_rel(sub):
                    continue  # a server's odd names must not lead outside the mirror
                mode = a.st_mode or 0
                if stat.S_ISDIR(mode):
                    walk(sub)
                elif stat.S_ISREG(mode):
                    files[sub] = _RemoteFile(sub, a.st_size or 0, int(a.st_mtime or 0) * 1_000_000_000)

        for root in roots:
            if root:
                try:
                    a = sftp.stat(posixpath.join(self.root, root))
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(a.st_mode or 0):
                    files[root] = _RemoteFile(root, a.st_size or 0, int(a.st_mtime or 0) * 1_000_000_000)
                    continue
            walk(root)
        return files

    def _remote_sums(self, session: _Session | None, selected: Mapping[str, _RemoteFile]) -> dict[str, str]:
        if session is None or session.sum_command is None:
            self.report.warnings.append(
                f"{self.conn.settings.destination} offers no sha256sum/shasum: checked sizes only"
            )
            return {}
        if not selected:
            self.report.verified = True
            return {}
        self._progress("verifying", force=True)
        names = b"".join(os.fsencode("./" + rel) + b"\0" for rel in selected)
        script = f"cd -- {shlex.quote(self.root)} && exec xargs -0 {session.sum_command}"
        self._alive()
        result = self.conn.run(_sh(script), stdin=names)
        if result.exit_code == -1 and not self.conn.connected:
            raise EOFError("connection closed while computing checksums")
        sums = _parse_sha256sum(str(result.stdout))
        if result.exit_code != 0:
            self.report.warnings.append(f"sha256sum failed for some files: {str(result.stderr).strip()[-300:]}")
        self.report.verified = all(rel in sums for rel in selected)
        return sums

    # -- transfers --------------------------------------------------------

    def _open_part(self, part: str, append: bool) -> Any:
        parent = os.path.dirname(part)
        if parent not in self._dirs:
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as e:
                raise _local_error(Path(parent), e) from e
            self._dirs.add(parent)
        try:
            # Unbuffered: we write big chunks, and a small file in one call.
            return open(part, "ab" if append else "wb", buffering=0)
        except OSError as e:
            raise _local_error(Path(part), e) from e

    def _place(self, f: _RemoteFile, part: str, size: int, mtime_ns: int, digest: str | None,
               timed: bool = False) -> None:  # fmt: skip
        """Rename a complete temporary file into place: the only way a final name appears.

        ``timed``: the temporary file already has its mtime (set through its descriptor).
        """
        dest = self._dest(f.path)
        existed = f.path in self._exists
        try:
            if not timed:
                os.utime(part, ns=(mtime_ns, mtime_ns))
            os.replace(part, dest)
        except OSError as e:
            _unlink(part)
            why = "a local folder is in the way" if os.path.isdir(dest) else str(e)
            self._fail(f.path, f"cannot place {dest}: {why}")
            return
        self._record(f.path, [size, mtime_ns, digest])
        self.failed.pop(f.path, None)
        if f.path in self.new or (not existed and f.path not in self.updated):
            self.new.add(f.path)
        else:
            self.updated.add(f.path)
        self._exists.add(f.path)
        self.report.new_files.append(Path(dest))
        self._done_files += 1
        self._maybe_save()
        self._progress("transferring", f.path)

    def _unplace(self, f: _RemoteFile, why: str) -> None:
        """Take back a file placed from a tar member that tar later said was not read whole."""
        dest = Path(self._dest(f.path))
        _unlink(dest)
        self._record(f.path, None)
        self.new.discard(f.path)
        self.updated.discard(f.path)
        try:
            self.report.new_files.remove(dest)
        except ValueError:
            pass
        self._fail(f.path, why)

    def _fetch_tar(self, session: _Session, files: list[_RemoteFile], sums: Mapping[str, str]) -> None:
        """Fetch ``files`` as one tar stream from the session command, placing each as it lands.

        Members of files modified in the last few seconds (or different from the
        listing) wait until tar has exited: tar reports files that changed while
        it read them only at the end, and those must never be placed.
        """
        channel = session.channel
        wanted = {f.path: f for f in files}
        names = b"tar\n" + b"".join(os.fsencode("./" + f.path) + b"\0" for f in files)
        feeder = threading.Thread(target=_feed, args=(channel, names), daemon=True)
        feeder.start()
        recent = (session.now - RECENT) * 1e9 if session.now else float("inf")
        placed: list[_RemoteFile] = []
        staged: list[tuple[_RemoteFile, str, int, int, str | None]] = []
        part: str | None = None
        keep_part = False
        try:
            tar = _TarReader(session.stream)
            for member in tar.members():
                self._check_stop()
                name = member.name[2:] if member.name.startswith("./") else member.name
                f = wanted.get(name)
                if f is None or not member.isreg():
                    continue  # never write what we did not ask for
                if member.size > f.size + _GROWTH:  # the listing's size is the cap
                    raise _TarDamage(f"{member.size:,} bytes sent for {name}, listed at {f.size:,} bytes")
                dest = self._dest(name)
                # As listed: keep the listing's precise mtime.  Else the file changed
                # since; the next sync sees it differ and fetches it again.
                same = member.size == f.size and int(member.mtime) == f.mtime_ns // 1_000_000_000
                mtime_ns = f.mtime_ns if same else int(member.mtime) * 1_000_000_000
                part = _part_path(dest, member.size, mtime_ns)
                keep_part = same and member.size >= RESUME_MIN
                if keep_part and self._parts_may_linger:
                    _remove_other_parts(dest, keep=part)
                digest = self._copy(tar, part, name, member.size, hashing=name in sums, mtime_ns=mtime_ns)
                if name in sums and digest != sums[name]:
                    _unlink(part)
                    part = None
                    self._fail(name, "checksum differs from the remote's sha256sum; retried next sync")
                    continue
                if same and f.mtime_ns < recent:
                    self._place(f, part, member.size, mtime_ns, digest, timed=True)
                    placed.append(f)
                else:
                    staged.append((f, part, member.size, mtime_ns, digest))
                part = None
            # The rest of stdout is tar's record padding; its exit status follows.
            _, err, status = _drain(channel, max(60.0, self.conn.settings.timeout * 3))
            if status == -1 or not self.conn.connected:
                raise EOFError("connection closed before tar finished")
        except (_TarDamage, EOFError) as e:
            # A stream that ended early while the link is up, or is not tar: the remote sent it so.
            # Nothing after the damage can be trusted; what was placed before it was whole and as listed.
            damaged = isinstance(e, _TarDamage) or (self.conn.connected and channel.exit_status_ready())
            if not damaged:
                self._discard(part, keep_part, staged)
                raise
            self._discard(part, keep_part, staged)
            channel.close()
            why = f"the remote's tar output is damaged ({e}); retried next sync"
            self.report.warnings.append(f"{self.conn.settings.destination}: {why}")
            for name in wanted.keys() - {f.path for f in placed}:
                self._fail(name, why)
            return
        except BaseException:
            self._discard(part, keep_part, staged)
            raise
        if status not in (0, 1, 2):
            self.report.warnings.append(f"tar exited with code {status}: {_tail(err)}")
        complaints = _tar_complaints(os.fsdecode(err), wanted)
        for f in placed:
            if f.path in complaints:
                self._unplace(f, f"changed while it was read ({complaints[f.path]}); retried next sync")
        for f, p, size, mtime_ns, digest in staged:
            if f.path in complaints:
                _unlink(p)
                self._fail(f.path, f"changed while it was read ({complaints[f.path]}); retried next sync")
            else:
                self._place(f, p, size, mtime_ns, digest, timed=True)
        seen = {f.path for f in placed} | {s[0].path for s in staged}
        for name in wanted.keys() - seen:
            if name not in self.failed:
                why = complaints.get(name, "not sent by tar")
                self._fail(name, f"could not be read on the remote ({why}); retried next sync")

    @staticmethod
    def _discard(part: str | None, keep_part: bool, staged: list[tuple[_RemoteFile, str, int, int, str | None]]) -> None:
        """Remove the temporary files of a tar fetch that did not finish."""
        if part is not None and not keep_part:
            _unlink(part)
        for _, p, *_ in staged:
            _unlink(p)

    def _copy(self, src: Any, part: str, name: str, size: int, hashing: bool, mtime_ns: int) -> str | None:
        """Copy ``size`` bytes from ``src`` into ``part``, give it ``mtime_ns``; return the sha256 if asked."""
        hasher = hashlib.sha256() if hashing else None
        out = self._open_part(part, append=False)
        try:
            written = self._pump(src.read, out, name, size, progress=size > CHUNK, hasher=hasher)
            # Through the descriptor: one path lookup less per file.
            os.utime(out.fileno(), ns=(mtime_ns, mtime_ns))
        finally:
            out.close()
        if written != size:
            raise EOFError(f"stream ended inside {name} ({written} of {size} bytes)")
        return hasher.hexdigest() if hasher is not None else None

    def _fetch_one(self, f: _RemoteFile, sums: Mapping[str, str], via: str, offset: int = 0) -> None:
        """Fetch one file into its temporary name, then place it.

        ``offset``: bytes of it already in the temporary file (a resumed download).
        """
        self._check_stop()
        dest = self._dest(f.path)
        part = _part_path(dest, f.size, f.mtime_ns)
        if self._parts_may_linger:
            _remove_other_parts(dest, keep=part)
        if offset > f.size:
            _unlink(part)
            offset = 0
        hasher = None
        if f.path in sums:
            if offset:  # the bytes already there count too
                with open(part, "rb") as done:
                    hasher = hashlib.file_digest(done, "sha256")
            else:
                hasher = hashlib.sha256()
        self.report.bytes_resumed += offset
        self._done_bytes += offset
        out = self._open_part(part, append=offset > 0)
        try:
            if offset < f.size:
                got = (self._stream_into if via == "stream" else self._sftp_into)(out, f, offset, hasher)
            else:
                got = 0
        finally:
            out.close()
        if offset + got != f.size:
            # The remote file shrank or was rewritten under us: start over next time.
            _unlink(part)
            self._fail(f.path, f"remote file changed during transfer ({offset + got} of {f.size} bytes); "
                       "retried next sync")  # fmt: skip
            return
        digest = None
        if hasher is not None:
            digest = hasher.hexdigest()
            if digest != sums[f.path]:
                _unlink(part)
                self._fail(f.path, "checksum differs from the remote's sha256sum; retried next sync")
                return
        self._place(f, part, f.size, f.mtime_ns, digest)

    def _stream_into(self, out: Any, f: _RemoteFile, offset: int, hasher: hashlib._Hash | None) -> int:
        path = shlex.quote("./" + f.path)
        script = f"cd -- {shlex.quote(self.root)} && exec tail -c +{offset + 1} {path}"
        channel = self._open_command(_sh(script))
        try:
            channel.settimeout(max(60.0, self.conn.settings.timeout * 3))
            channel.shutdown_write()
            got = self._pump(channel.recv, out, f.path, f.size - offset, progress=True, hasher=hasher)
            # A command that ended gives an exit status; a dropped link gives -1.
            if got < f.size - offset and (channel.recv_exit_status() == -1 or not self.conn.connected):
                raise EOFError(f"connection closed while fetching {f.path}")
        finally:
            channel.close()
        return got

    def _pump(self, read: Callable[[int], bytes], out: Any, name: str, size: int, *, progress: bool,
              hasher: hashlib._Hash | None = None) -> int:  # fmt: skip
        """Copy up to ``size`` bytes from ``read`` into ``out``, counting (and hashing) them; returns how many came.

        ``progress``: report progress and honour stop after each chunk (big files).
        """
        got = 0
        while got < size:
            data = read(min(CHUNK, size - got))
            if not data:
                break
            _write(out, data, name)
            if hasher is not None:
                hasher.update(data)
            got += len(data)
            self._done_bytes += len(data)
            self.report.bytes_transferred += len(data)
            if progress:
                self._progress("transferring", name)
                self._check_stop()
        return got

    def _sftp_into(self, out: Any, f: _RemoteFile, offset: int, hasher: hashlib._Hash | None) -> int:
        sftp = self._sftp()
        try:
            src = sftp.open(posixpath.join(self.root, f.path), "rb")
        except FileNotFoundError:
            return 0  # vanished since the listing: reported as changed
        with src:
            src.seek(offset)
            # Prefetch pipelines many reads; without it paramiko crawls (~30x slower).
            src.prefetch(f.size)
            return self._pump(src.read, out, f.path, f.size - offset, progress=f.size > CHUNK, hasher=hasher)

    def _remove_stale_parts(self) -> None:
        # Leftovers of attempts killed hard (the process, not the link); only
        # needed when an earlier sync did not finish.
        if self._prior_complete and not self.report.reconnects:
            return
        for dirpath, _, filenames in os.walk(self.local):
            for name in filenames:
                if name.endswith(PART_SUFFIX):
                    _unlink(Path(dirpath, name))

    def finish(self, seconds: float) -> SyncReport:
        r = self.report
        r.files_new = len(self.new)
        r.files_updated = len(self.updated)
        r.files_failed = len(self.failed)
        r.files_corrupt = len(self.corrupt)
        r.files_unchanged = max(0, r.files_remote - r.files_new - r.files_updated - r.files_failed)
        r.errors.extend(f"{rel}: {why}" for rel, why in sorted(self.failed.items()))
        r.seconds = seconds
        return r


def _tar_complaints(stderr: str, wanted: Mapping[str, _RemoteFile]) -> dict[str, str]:
    """{file: message} for the files tar's stderr names ("file changed as we read it", ...)."""
    found: dict[str, str] = {}
    for line in stderr.splitlines():
        if not line.startswith("tar: ./"):
            continue
        rest = line[len("tar: ./") :]
        # Names may hold ': ' themselves: try each split point.
        at = rest.find(": ")
        while at >= 0:
            if rest[:at] in wanted:
                found[rest[:at]] = rest[at + 2 :].strip()
                break
            at = rest.find(": ", at + 1)
    return found


def _write(out: Any, data: bytes, name: str) -> None:
    try:
        out.write(data)
    except OSError as e:
        raise _local_error(Path(out.name), e) from e


def _unlink(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_other_parts(dest: str, keep: str) -> None:
    """Drop temporary files of older versions of ``dest`` (they can never complete)."""
    head, name = os.path.split(dest)
    prefix = f".{name}."
    keep_name = os.path.basename(keep)
    try:
        names = os.listdir(head)
    except FileNotFoundError:
        return
    for other in names:
        if other.startswith(prefix) and other.endswith(PART_SUFFIX) and other != keep_name:
            _unlink(os.path.join(head, other))


def _local_error(path: Path, e: OSError) -> TransportError:
    if e.errno in (_errno.ENOSPC, _errno.EDQUOT):
        fix = "Free space on the local disk (or choose another folder) and sync again; finished files are kept."
    else:
        fix = "Check the local folder's permissions."
    return _error(TransportError, f"Cannot write {path}: {e.strerror or e}. {fix}", e.errno)


# -- public entry points ----------------------------------------------------


def _connection_for(
    remote: RemotePath, retries: int, backoff: float, connect_options: Mapping[str, Any]
) -> SSHConnection:
    # resolve_host takes None for "not given": the config's or the default.
    options = {"user": remote.user, "port": remote.port, **connect_options}
    return SSHConnection(resolve_host(remote.host, **options), retries=retries, backoff=backoff)


def _run(
    conn: SSHConnection,
    remote: RemotePath,
    local_dir: Path,
    filt: PathFilter,
    *,
    verify: bool,
    progress: Callable[[SyncProgress], None] | None,
    retries: int,
    backoff: float,
    stop: threading.Event | None = None,
    since: float | None = None,
) -> SyncReport:
    start = time.perf_counter()
    mirror = _Mirror(conn, remote, local_dir, filt, verify=verify, progress=progress, stop=stop)
    mirror.since = since
    delay = backoff
    attempt = 0
    try:
        # Not reaching the host at all is its own error (refused, unknown key...),
        # not a "dropped during the sync".
        conn.ensure_open(stop=stop)
        while True:
            try:
                # This loop backs off between attempts: a reconnect tries once.
                conn.ensure_open(retries=0)
                mirror.run()
                break
            except _Cancelled:
                mirror.report.cancelled = True
                break
            except Exception as e:
                # An error while the link is down is the drop, whatever paramiko called it.
                transient = is_transient(e) or (not isinstance(e, TransportError) and not conn.connected)
                if not transient:
                    err = conn._permanent_error(e, f"sync {remote.path} from")
                    if err is e:
                        raise
                    raise err from e
                if attempt >= retries:
                    done = len(mirror.new) + len(mirror.updated)
                    raise _error(
                        TransportError,
                        f"The connection to {conn.settings.destination} dropped during the sync of "
                        f"{remote} ({attempt + 1} attempts; last: {e or type(e).__name__}). {done} files "
                        "were completed and partial downloads are kept: run the sync again to resume.",
                        _errno.ECONNRESET,
                    ) from e
                attempt += 1
                mirror.report.reconnects += 1
                log.info("sync of %s dropped (%s); reconnecting in %.1f s", remote, e, delay)
                conn.close()
                if stop is not None:
                    if stop.wait(delay):
                        mirror.report.cancelled = True
                        break
                else:
                    time.sleep(delay)
                delay *= 2
    finally:
        # Whatever happened, keep what this sync learnt (files placed, checksums).
        unfinished = mirror.failed or mirror.report.cancelled
        if mirror._dirty or (unfinished and local_dir.exists()):
            try:
                mirror.save_manifest(complete=mirror._was_complete and not unfinished)
            except TransportError:
                pass
    return mirror.finish(time.perf_counter() - start)


def sync(
    remote_spec: str | RemotePath,
    local_dir: str | os.PathLike[str],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    progress: Callable[[SyncProgress], None] | None = None,
    verify: bool = False,
    connection: SSHConnection | None = None,
    retries: int = 3,
    backoff: float = 0.5,
    stop: threading.Event | None = None,
    since: float | None = None,
    **connect_options: Any,
) -> SyncReport:
    """Mirror a remote bundle's results into ``local_dir``.

    Parameters
    ----------
    remote_spec
        The remote bundle folder, ``[user@]host:path`` or
        ``ssh://[user@]host[:port]/path`` (host may be a ``~/.ssh/config`` alias).
    local_dir
        The local folder to mirror into (usually the local bundle); created
        if needed.  Files that exist only locally are left alone.
    include
        Glob patterns of bundle-relative paths to mirror (see
        :class:`PathFilter`); None means :data:`DEFAULT_INCLUDE`, i.e.
        ``outputs/**`` and ``logs/**``.  Giving ``include`` replaces the
        default: add to it with ``[*DEFAULT_INCLUDE, "extra/**"]``.
    exclude
        Glob patterns to leave out (e.g. ``"*.npz"``).
    progress
        Called with a :class:`SyncProgress` as the sync goes (at most ~10
        times a second, plus once per phase).
    verify
        Also compare SHA-256 checksums with the remote's ``sha256sum`` (or
        ``shasum``): local copies that differ are fetched again, and fetched
        files are only put in place when their sum matches.
    connection
        An open :class:`~workbench.transport.ssh.SSHConnection` to reuse (it
        stays open); else one is opened from ``remote_spec`` and
        ``connect_options`` and closed at the end.
    retries, backoff
        How often to reconnect and resume after a dropped connection, and the
        first pause (doubling each time).
    stop
        Once set, the sync ends soon, between files (``report.cancelled``):
        what it placed is whole; the next sync goes on from there.
    since
        List only files modified at or after this remote time (epoch seconds;
        a previous report's ``remote_now`` less a margin): a watcher's sync of
        a large bundle then costs what changed, not what the bundle holds.
        Older files are taken as mirrored already and none is counted gone;
        a full sync (the default) checks everything.
    **connect_options
        Passed to :func:`~workbench.transport.ssh.resolve_host` (``user``,
        ``port``, ``key_filename``, ``known_hosts``, ``ssh_config``,
        ``trust_on_first_use``, ``allow_agent``, ``timeout``); they win over
        ``remote_spec``'s user and port.

    Returns
    -------
    SyncReport
        Counts, bytes and seconds; ``report.ok`` is False when some files
        could not be mirrored this time (``report.errors`` says why).

    Raises
    ------
    HostKeyError
        The host key is unknown (without opt-in) or changed.
    TransportError
        Unreachable host, refused authentication, missing remote folder
        (``errno == ENOENT``), full local disk (``ENOSPC``), or a connection
        that kept dropping (files completed so far are kept; run again to
        resume).

    Examples
    --------
    >>> report = sync("cluster:scans/rabi", "scans/rabi", exclude=["*.npz"])  # doctest: +SKIP
    >>> print(report.summary())                                              # doctest: +SKIP
    """
    remote = RemotePath.parse(remote_spec)
    filt = PathFilter(include, exclude)
    conn = connection or _connection_for(remote, retries, backoff, connect_options)
    try:
        return _run(conn, remote, Path(local_dir), filt, verify=verify, progress=progress, retries=retries,
                    backoff=backoff, stop=stop, since=since)  # fmt: skip
    finally:
        if connection is None:
            conn.close()


# -- background schedule ----------------------------------------------------


class Syncer:
    """Sync a remote bundle every ``interval`` seconds in the background.

    Rounds run in a thread (``start()``) or, given a running asyncio loop
    (``start(loop)``, e.g. the Jupyter kernel's), as a task on that loop whose
    blocking work runs in the loop's executor; the notebook never blocks.

    Hooks: ``on_new_file(path)`` for each file a round wrote (new or
    updated), then ``on_sync(report)``; ``on_error(exc)`` when a round fails
    (the schedule goes on; call :meth:`stop` from the hook to end it).  In
    thread mode hooks run in the syncer's thread; in loop mode on the loop,
    which is where widgets may safely be updated.  A hook that raises is
    logged and does not stop the schedule.  ``progress`` follows the same
    rule (in loop mode it is handed to the loop with ``call_soon_threadsafe``).

    Parameters
    ----------
    remote_spec, local_dir, include, exclude, verify, progress, retries, backoff, **connect_options
        As for :func:`sync`.
    interval
        Seconds between the end of one round and the start of the next.

    Examples
    --------
    >>> syncer = Syncer("cluster:scans/rabi", "scans/rabi", interval=30,
    ...                 on_new_file=lambda p: print("new", p))  # doctest: +SKIP
    >>> syncer.start()                                          # doctest: +SKIP
    >>> syncer.stop()                                           # doctest: +SKIP
    """

    def __init__(
        self,
        remote_spec: str | RemotePath,
        local_dir: str | os.PathLike[str],
        *,
        interval: float = 30.0,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        verify: bool = False,
        on_new_file: Callable[[Path], Any] | None = None,
        on_sync: Callable[[SyncReport], Any] | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        progress: Callable[[SyncProgress], None] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        **connect_options: Any,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval={interval!r}: the pause between syncs must be positive seconds")
        self.remote = RemotePath.parse(remote_spec)
        self.local_dir = Path(local_dir)
        self.interval = float(interval)
        self.filter = PathFilter(include, exclude)
        self.verify = verify
        self.on_new_file = on_new_file
        self.on_sync = on_sync
        self.on_error = on_error
        self.progress = progress
        self.retries = retries
        self.backoff = backoff
        self._connect_options = dict(connect_options)
        self._conn: SSHConnection | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._round_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The latest round's report (None before the first round ends).
        self.last_report: SyncReport | None = None
        #: The latest round's error (None after a successful round).
        self.last_error: BaseException | None = None
        #: Rounds finished (successful or not).
        self.rounds = 0

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Syncer {self.remote} -> {self.local_dir} every {self.interval:g} s, {state}>"

    def __enter__(self) -> Syncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        if self._thread is not None:
            return self._thread.is_alive()
        return self._task is not None and not self._task.done()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> Syncer:
        """Start syncing now and every ``interval`` seconds after.

        Parameters
        ----------
        loop
            A running asyncio loop to schedule on (hooks then run on it);
            None runs a daemon thread.
        """
        if self.running:
            return self
        self._stop.clear()
        if loop is None:
            self._thread = threading.Thread(target=self._thread_main, name=f"workbench-sync {self.remote}", daemon=True)
            self._thread.start()
        else:
            self._loop = loop

            def create() -> None:
                self._task = loop.create_task(self._async_main())

            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                create()
            else:
                done = threading.Event()
                loop.call_soon_threadsafe(lambda: (create(), done.set()))
                done.wait(10)
        return self

    def trigger(self) -> None:
        """Start the next round now instead of waiting for the interval."""
        self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop the schedule, interrupting a running round between files.

        Blocks until the background round has ended (up to ``timeout``) unless
        called on the syncer's own loop, where it returns at once (await
        :meth:`wait_stopped` there).
        """
        self._stop.set()
        self._wake.set()
        thread, task, loop = self._thread, self._task, self._loop
        if thread is not None:
            if thread is not threading.current_thread():
                thread.join(timeout)
            self._thread = None
        elif task is not None and loop is not None:
            try:
                on_loop = asyncio.get_running_loop() is loop
            except RuntimeError:
                on_loop = False
            if not on_loop and not loop.is_closed():
                fut = asyncio.run_coroutine_threadsafe(self.wait_stopped(), loop)
                try:
                    fut.result(timeout)
                except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                    pass
        if not self.running:
            self._close_connection()

    async def wait_stopped(self) -> None:
        """Await the end of the loop-mode task (after :meth:`stop`)."""
        task = self._task
        if task is not None:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._close_connection()

    def sync_now(self) -> SyncReport:
        """Run one round in the calling thread (waiting for a background one first).

        Hooks are called as for scheduled rounds; errors are raised.
        """
        report = self._round()
        self._after_round(report, None)
        return report

    # -- internals --------------------------------------------------------

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _round(self, progress: Callable[[SyncProgress], None] | None = None) -> SyncReport:
        progress = progress or self.progress
        with self._round_lock:
            if self._conn is None:
                self._conn = _connection_for(self.remote, self.retries, self.backoff, self._connect_options)
            try:
                return _run(
                    self._conn, self.remote, self.local_dir, self.filter, verify=self.verify,
                    progress=progress, retries=self.retries, backoff=self.backoff, stop=self._stop,
                )  # fmt: skip
            except BaseException:
                self._conn.close()
                raise

    def _safe_round(
        self, progress: Callable[[SyncProgress], None] | None = None
    ) -> tuple[SyncReport | None, BaseException | None]:
        try:
            return self._round(progress), None
        except Exception as e:  # noqa: BLE001 - reported through on_error, the schedule goes on
            return None, e

    def _after_round(self, report: SyncReport | None, error: BaseException | None) -> None:
        self.rounds += 1
        self.last_error = error
        if error is not None:
            if self.on_error is not None:
                self._call(self.on_error, error)
            else:
                log.warning("background sync of %s failed: %s", self.remote, error)
            return
        assert report is not None
        self.last_report = report
        if self.on_new_file is not None:
            for path in report.new_files:
                self._call(self.on_new_file, path)
        if self.on_sync is not None:
            self._call(self.on_sync, report)

    def _call(self, hook: Callable[[Any], Any], arg: Any) -> None:
        try:
            hook(arg)
        except Exception:  # noqa: BLE001 - a broken hook must not end the schedule
            log.exception("sync hook %r failed", hook)

    def _thread_main(self) -> None:
        try:
            while not self._stop.is_set():
                report, error = self._safe_round()
                if self._stop.is_set() and (report is None or report.cancelled):
                    break
                self._after_round(report, error)
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            self._close_connection()

    async def _async_main(self) -> None:
        loop = asyncio.get_running_loop()
        user_progress = self.progress

        def on_loop(p: SyncProgress) -> None:
            # The round runs in an executor thread; widgets want their updates on the loop.
            if user_progress is not None:
                loop.call_soon_threadsafe(user_progress, p)

        try:
            while not self._stop.is_set():
                report, error = await loop.run_in_executor(None, self._safe_round, on_loop)
                if self._stop.is_set() and (report is None or report.cancelled):
                    break
                self._after_round(report, error)
                deadline = loop.time() + self.interval
                # Poll the thread-safe wake event: cheap, and needs no loop plumbing.
                while not self._wake.is_set() and loop.time() < deadline:
                    await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))
                self._wake.clear()
        finally:
            await loop.run_in_executor(None, self._close_connection)
