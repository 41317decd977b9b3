"""Checking a remote host before running there: can we connect, is there a Python with workbench, is there room?

:func:`check_host` connects as a run would (same host name, same
``~/.ssh/config`` entry, same connection options), runs one short shell
script and returns a :class:`HostCheck`: the Python and workbench versions it
found, the free disk space in the remote folder (or its nearest existing
parent), HTCondor's version on a submit host, and, when something is wrong,
the problem and the fix.  It never raises for a host that cannot be used, and
it writes nothing on the host.  The form's *Check* button shows
:meth:`HostCheck.summary`; the same works from Python::

    >>> from workbench.executors.check import check_host
    >>> print(check_host("bigbox", python="python3", remote_dir="~/scans").summary())  # doctest: +SKIP
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from typing import Any

from ..errors import TransportError

__all__ = ["HostCheck", "check_host"]

# What the script prints comes after these markers (login shells may print before it).
_PY = "wb-check-python"
_DISK = "wb-check-disk"
_CONDOR = "wb-check-condor"
# Printed by the remote Python: its version, then workbench's (or the import error).
_PROBE = (
    "import sys; print(sys.version.split()[0]); "
    "exec('try:\\n import workbench\\n print(workbench.__version__)\\n'"
    "'except Exception as e:\\n print(\"no-workbench\", type(e).__name__, e)')"
)


@dataclass(frozen=True)
class HostCheck:
    """What :func:`check_host` found on a host.

    Attributes
    ----------
    host
        The host as given (a name or a ``~/.ssh/config`` alias).
    ok
        Whether a run can go there: connected, and (unless ``condor``) a Python with workbench found.
    destination
        ``user@hostname:port`` actually reached (empty when the connection failed).
    python
        The Python asked for (a name on the remote ``PATH`` or an absolute path).
    python_version, workbench_version
        What that Python reported (empty when it did not run, or has no workbench).
    local_version
        This machine's workbench version, to compare.
    remote_dir
        The remote folder as given, and ``checked_dir``: the folder whose free space was measured
        (the remote folder, or its nearest existing parent when it does not exist yet: ``dir_exists``).
    free_bytes
        Free space there (``None`` when unknown).
    writable
        Whether that folder is writable.
    condor_version
        ``condor_version`` on a submit host (``condor`` checks only).
    problems
        What stops a run, each with its fix.
    warnings
        What may go wrong (a workbench version other than this machine's, little disk).
    seconds
        How long the check took.
    """

    host: str
    ok: bool
    destination: str = ""
    python: str = ""
    python_version: str = ""
    workbench_version: str = ""
    local_version: str = ""
    remote_dir: str = ""
    checked_dir: str = ""
    dir_exists: bool = False
    free_bytes: int | None = None
    writable: bool | None = None
    condor_version: str = ""
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def summary(self) -> str:
        """The result for people: one line of what was found, then each problem and warning on its own line."""
        if not self.destination:
            return f"✖ {self.host}: cannot connect.\n" + "\n".join(self.problems)
        found = []
        if self.python_version:
            found.append(f"Python {self.python_version} ({self.python})")
        if self.workbench_version:
            same = " as here" if self.workbench_version == self.local_version else f", here {self.local_version}"
            found.append(f"workbench {self.workbench_version}{same}")
        if self.condor_version:
            found.append(self.condor_version)
        if self.free_bytes is not None:
            where = self.checked_dir if self.checked_dir else self.remote_dir
            made = "" if self.dir_exists else f" (where {self.remote_dir} would be made)"
            found.append(f"{_size(self.free_bytes)} free in {where}{made}")
        head = f"{'✔' if self.ok else '✖'} {self.host} ({self.destination}): " + (", ".join(found) or "connected")
        lines = [head + "."]
        lines += [f"✖ {p}" for p in self.problems]
        lines += [f"⚠ {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _size(n: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def _script(python: str, remote_dir: str, condor: bool, condor_bin: str | None) -> str:
    # The nearest existing folder of remote_dir: a run makes the rest, a check makes nothing.
    lines = [
        f"echo {_PY}",
        f"{shlex.quote(python)} -c {shlex.quote(_PROBE)} 2>&1",
        'echo "wb-rc $?"',
        f"d={shlex.quote(remote_dir)}",
        f"echo {_DISK}",
        'if [ -d "$d" ]; then echo exists; else echo missing; fi',
        'while [ ! -d "$d" ]; do p=$(dirname -- "$d"); [ "$p" = "$d" ] && break; d=$p; done',
        'cd -- "$d" 2>/dev/null && pwd -P',
        'if [ -w "$d" ]; then echo writable; else echo read-only; fi',
        'df -Pk -- "$d" 2>/dev/null | tail -n 1',
    ]
    if condor:
        path = f'export PATH={shlex.quote(condor_bin)}:"$PATH"; ' if condor_bin else ""
        lines += [f"echo {_CONDOR}", f"({path}condor_version 2>&1 | head -n 1)", 'echo "wb-rc $?"']
    return "\n".join(lines) + "\n"


def _section(text: str, marker: str, end: str | None) -> str:
    at = text.find(f"{marker}\n")
    if at < 0:
        return ""
    body = text[at + len(marker) + 1 :]
    if end is not None:
        stop = body.find(f"{end}\n")
        body = body if stop < 0 else body[:stop]
    return body


def check_host(
    host: str,
    *,
    python: str = "python3",
    remote_dir: str = "workbench",
    condor: bool = False,
    condor_bin: str | None = None,
    min_free_bytes: int = 1_000_000_000,
    connection: Any = None,
    **connect_options: Any,
) -> HostCheck:
    """Connect to ``host`` and say whether a run can go there.

    Parameters
    ----------
    host
        A host name or a ``Host`` alias of ``~/.ssh/config``.
    python
        The remote Python a run would use (``RunSettings.python``).
    remote_dir
        Where bundles would go on the host (relative to the remote home folder unless absolute).
    condor
        The host is an HTCondor submit host (``condor-ssh``): HTCondor's tools must be there, and the
        Python is only looked at (the jobs run on the pool's nodes, which may have their own).
    condor_bin
        The folder of HTCondor's tools there, when not on the ``PATH``.
    min_free_bytes
        Less free space than this in the remote folder is a warning.
    connection
        An open :class:`~workbench.transport.ssh.SSHConnection` to use (it stays open).
    **connect_options
        Passed to :func:`workbench.transport.connect` (``ssh_config``, ``user``, ``port``,
        ``key_filename``, ``known_hosts``, ...), as a run would take them.

    Returns
    -------
    HostCheck
        Never raises for a host that cannot be used: the reasons are in ``problems``.
    """
    from .. import __version__
    from ..transport.ssh import connect
    from .ssh import _missing_python_fix

    t0 = time.monotonic()
    base = {"host": host, "python": python, "remote_dir": remote_dir, "local_version": __version__}
    conn = connection
    if conn is None:
        connect_options.setdefault("retries", 0)  # a check answers now; a run retries
        try:
            conn = connect(host, **connect_options)
        except TransportError as e:  # HostKeyError too: its message has the fingerprint and how to trust it
            return HostCheck(ok=False, problems=(str(e),), seconds=time.monotonic() - t0, **base)
    problems: list[str] = []
    warnings: list[str] = []
    try:
        dest = conn.settings.destination
        try:
            r = conn.run(_sh(_script(python, conn.remote_path(remote_dir), condor, condor_bin)), timeout=60)
        except TransportError as e:
            return HostCheck(ok=False, destination=dest, problems=(f"Connected to {dest}, but the check failed: {e}",),
                             seconds=time.monotonic() - t0, **base)  # fmt: skip
        text = str(r.stdout)
    finally:
        if connection is None:
            conn.close()

    # Python and workbench.
    py = _section(text, _PY, _DISK)
    m = re.search(r"^wb-rc (\d+)$", py, re.M)
    code = int(m.group(1)) if m else None
    out = py[: m.start()].strip() if m else py.strip()
    lines = out.splitlines()
    py_version = lines[0].strip() if code == 0 and lines and re.fullmatch(r"\d+\.\d+\S*", lines[0].strip()) else ""
    wb_version = ""
    if py_version and len(lines) > 1 and not lines[1].startswith("no-workbench"):
        wb_version = lines[1].strip()
    if not py_version or not wb_version:
        fix = _missing_python_fix(python, host, out if py_version else out or "not found", 127 if not py_version else code)
        if not py_version:
            what = f"No Python {python!r} on {host}" + (f" ({out.splitlines()[-1][:200]})" if out else "") + ". "
        else:
            what = ""  # the fix says it
        (warnings if condor else problems).append(what + (fix if not fix.startswith("See the output") else ""))
    elif wb_version != __version__:
        warnings.append(
            f"workbench {wb_version} on {host}, {__version__} here: install the same version there "
            f"(`{python} -m pip install workbench=={__version__}`) if runs fail."
        )

    # Disk.
    disk = _section(text, _DISK, _CONDOR if condor else None).splitlines()
    exists = bool(disk) and disk.pop(0).strip() == "exists"
    checked = disk[0].strip() if disk else ""
    writable = None
    if len(disk) > 1:
        writable = disk[1].strip() == "writable"
        if not writable:
            problems.append(f"{checked or remote_dir} on {host} is not writable: choose a remote folder you can write to.")
    free = None
    if len(disk) > 2:
        cols = disk[2].split()
        if len(cols) >= 4 and cols[3].isdigit():
            free = int(cols[3]) * 1024
    if free is not None and free < min_free_bytes:
        warnings.append(f"Only {_size(free)} free in {checked or remote_dir} on {host}.")

    # HTCondor.
    condor_version = ""
    if condor:
        section = _section(text, _CONDOR, None)
        m = re.search(r"^wb-rc (\d+)$", section, re.M)
        first = section[: m.start()].strip() if m else ""
        if first.startswith("$CondorVersion"):
            condor_version = "HTCondor " + first.split()[1]
        else:
            problems.append(
                f"{host} has no HTCondor tools on the PATH of a non-interactive shell ({first[:200] or 'no output'}). "
                "Is it a submit node? Give the folder of condor_submit as condor_bin, or load HTCondor in ~/.bashrc."
            )
    return HostCheck(
        ok=not problems, destination=dest, python_version=py_version, workbench_version=wb_version,
        checked_dir=checked, dir_exists=exists, free_bytes=free, writable=writable, condor_version=condor_version,
        problems=tuple(problems), warnings=tuple(warnings), seconds=time.monotonic() - t0, **base,
    )  # fmt: skip


def _sh(script: str) -> str:
    from ..transport.ssh import _sh as sh

    return sh(script)
