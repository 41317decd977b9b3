"""Run settings of a bundle, and the layered user defaults they start from.

Resolution order for user defaults: explicit argument > ``WORKBENCH_*``
environment variable > the user's TOML file (``~/.config/workbench/settings.toml``,
or ``$WORKBENCH_CONFIG``) > built-in defaults.  Nothing is read at import time.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal

from .errors import ParameterError

__all__ = ["RunSettings", "user_defaults", "config_path"]

Target = Literal["local", "ssh", "condor", "condor-ssh"]
TARGETS: tuple[str, ...] = ("local", "ssh", "condor", "condor-ssh")


@dataclass(frozen=True)
class RunSettings:
    """How and where a bundle's jobs run.

    Attributes
    ----------
    target
        ``"local"`` (embedded executor), ``"ssh"`` (a remote host), ``"condor"``
        (a schedd on this machine) or ``"condor-ssh"`` (``condor_submit`` on a submit host).
    batch_name
        HTCondor ``+JobBatchName``; also the bundle's display name.
    request_cpus, request_memory_mb, request_disk_mb
        Resources per job; ``None`` means "from the job type's cost model".
    max_idle
        Late materialisation: at most this many idle jobs in the queue (0: no limit).
    checkpoint_seconds
        Wall time between checkpoints for job types that checkpoint.
    max_retries
        Automatic releases of a job held for a transient failure.
    workers
        Processes for the local executor (``None``: as many jobs as fit this machine's cores at
        ``request_cpus`` each).
    host
        Remote host (``ssh`` targets), as in ``~/.ssh/config``.
    remote_dir
        Where bundles live on the remote host.
    python
        Python on the execute side (a path or a name on ``PATH``); on a pool, the
        interpreter of an environment that has workbench installed (a shared or
        pre-installed environment), or the base Python the wheels are installed
        into (see ``wheels``).
    container_image
        Run pool jobs in this container image (``docker://...``, a ``.sif`` file,
        ...) instead of a Python on the node; ``python`` names the interpreter
        inside the image.
    wheels
        A wheel file, or a folder of wheels (the project's and its dependencies,
        e.g. from ``pip wheel --wheel-dir wheels .``), transferred with every pool
        job and installed into the job's sandbox before it runs.
    """

    target: str = "local"
    batch_name: str = ""
    request_cpus: int = 1
    request_memory_mb: float | None = None
    request_disk_mb: float | None = None
    max_idle: int = 0
    checkpoint_seconds: float = 600.0
    max_retries: int = 3
    workers: int | None = None
    host: str = ""
    remote_dir: str = "workbench"
    python: str = "python3"
    container_image: str = ""
    wheels: str = ""

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ParameterError(
                f"target = {self.target!r} is not a known place to run; use one of {', '.join(TARGETS)}.",
                parameter="target",
            )
        for name in ("request_cpus", "max_idle", "max_retries"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or (name == "request_cpus" and v < 1):
                raise ParameterError(f"{name} = {v!r} must be a whole number >= {1 if name == 'request_cpus' else 0}.", parameter=name)
        for name in ("request_memory_mb", "request_disk_mb", "checkpoint_seconds"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0):
                raise ParameterError(f"{name} = {v!r} must be a positive number.", parameter=name)
        if self.workers is not None and (not isinstance(self.workers, int) or self.workers < 1):
            raise ParameterError(f"workers = {self.workers!r} must be a whole number >= 1 (or None: as many as fit the cores).", parameter="workers")
        for name in ("target", "batch_name", "host", "remote_dir", "python", "container_image", "wheels"):
            v = getattr(self, name)
            if not isinstance(v, str):
                raise ParameterError(f"{name} = {v!r:.80} must be a text.", parameter=name)
            if any(ord(c) < 32 or ord(c) == 127 for c in v):
                shown = repr(v) if len(v) <= 60 else repr(v[:57]) + "..."
                raise ParameterError(
                    f"{name} = {shown} holds a control character (a newline, a tab, ...); it would change the "
                    "submit description or the commands it goes into. Remove it.",
                    parameter=name,
                )
        if any(c.isspace() for c in self.container_image):
            raise ParameterError(f"container_image = {self.container_image!r:.80} must not hold spaces.", parameter="container_image")
        if not self.python or (any(c.isspace() for c in self.python) and not self.python.startswith("/")):
            raise ParameterError(
                f"python = {self.python!r} must be a command name without spaces (e.g. 'python3') or an absolute path.",
                parameter="python",
            )
        if self.target in ("ssh", "condor-ssh") and not self.host:
            raise ParameterError(f"target = {self.target!r} needs a host (as in ~/.ssh/config); set host.", parameter="host")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def with_cost(self, memory_mb: float, disk_mb: float) -> RunSettings:
        """Fill unset resource requests from a cost estimate (with head room, rounded up)."""
        mem = self.request_memory_mb if self.request_memory_mb is not None else _round_up(memory_mb * 1.25, 64)
        disk = self.request_disk_mb if self.request_disk_mb is not None else _round_up(disk_mb * 1.25 + 50, 64)
        return replace(self, request_memory_mb=mem, request_disk_mb=disk)


def _round_up(x: float, step: int) -> float:
    return float(step * math.ceil(x / step))


def config_path() -> Path:
    """Where the user's settings file is looked for."""
    env = os.environ.get("WORKBENCH_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "workbench" / "settings.toml"


def user_defaults(**explicit: Any) -> RunSettings:
    """Run settings from explicit values, ``WORKBENCH_*`` variables, the TOML file and defaults."""
    values: dict[str, Any] = {}
    path = config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ParameterError(f"The settings file {path} is not valid TOML ({e}); fix or remove it.") from e
        values.update(data.get("run", data))
    types = {f.name: f.type for f in fields(RunSettings)}
    for name in types:
        env = os.environ.get(f"WORKBENCH_{name.upper()}")
        if env is None:
            continue
        default = getattr(RunSettings, name, None)
        try:
            values[name] = type(default)(env) if default is not None and not isinstance(default, str) else env
        except ValueError as e:
            raise ParameterError(f"WORKBENCH_{name.upper()}={env!r} is not a valid {name}: {e}", parameter=name) from e
    values.update({k: v for k, v in explicit.items() if v is not None})
    return RunSettings.from_dict(values)
