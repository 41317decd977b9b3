"""Finding job types by name: the built-in ones, those other packages declare, and those registered at run time."""

from __future__ import annotations

import functools
import sys
from importlib.metadata import entry_points

from .errors import JobTypeError
from .jobtype import JobType, resolve_ref

__all__ = ["get_job_type", "job_types", "register", "ENTRY_POINT_GROUP"]

#: Other packages add job types with an entry point in this group, e.g. in
#: their pyproject.toml: ``[project.entry-points."workbench.job_types"]
#: mytype = "mypkg.jobs:my_job_type"``.
ENTRY_POINT_GROUP = "workbench.job_types"

_BUILTIN: dict[str, str] = {
    "demo": "workbench.jobtypes.demo:oscillator",
    "tdse": "workbench.jobtypes.tdse:tdse",
    "matmul": "workbench.jobtypes.matmul:matmul",
}

_registered: dict[str, JobType] = {}


@functools.lru_cache(maxsize=4)
def _entry_point_refs(path: tuple[str, ...]) -> dict[str, str]:
    """Job types other packages declare: reading every installed package's metadata takes tens of ms, so
    once per ``sys.path`` (the key) and process, not once per job."""
    refs: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        refs.setdefault(ep.name, ep.value)
    return refs


def _known_refs(*, fresh: bool = False) -> dict[str, str]:
    if fresh:  # a package installed since the last look
        _entry_point_refs.cache_clear()
    refs = dict(_BUILTIN)
    for name, value in _entry_point_refs(tuple(sys.path)).items():
        refs.setdefault(name, value)
    return refs


def register(job_type: JobType, *, replace: bool = False) -> JobType:
    """Make ``job_type`` findable by name in this process (e.g. one declared in a notebook)."""
    if not isinstance(job_type, JobType):
        raise JobTypeError(f"register() takes a JobType, not {type(job_type).__name__}.")
    if not replace and (job_type.name in _registered or job_type.name in _known_refs()):
        existing = _registered.get(job_type.name)
        if existing is not job_type:
            raise JobTypeError(
                f"A job type named {job_type.name!r} already exists; choose another name or pass replace=True."
            )
    _registered[job_type.name] = job_type
    return job_type


def get_job_type(name: str | JobType) -> JobType:
    """The job type called ``name`` (a :class:`JobType` is returned as it is)."""
    if isinstance(name, JobType):
        return name
    if name in _registered:
        return _registered[name]
    refs = _known_refs()
    if name not in refs:
        refs = _known_refs(fresh=True)
    if name not in refs:
        known = sorted(set(refs) | set(_registered))
        raise JobTypeError(
            f"Unknown job type {name!r}. Known job types: {', '.join(known)}. "
            "Declare new ones with workbench.JobType and workbench.register(), or an entry point "
            f"in the group {ENTRY_POINT_GROUP!r}."
        )
    obj = resolve_ref(refs[name])
    if not isinstance(obj, JobType):
        raise JobTypeError(f"{refs[name]!r} (job type {name!r}) is a {type(obj).__name__}, not a JobType.")
    return obj


def job_types() -> list[str]:
    """Names of every job type that can be found."""
    return sorted(set(_known_refs()) | set(_registered))
