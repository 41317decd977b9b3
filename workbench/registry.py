"""Finding job types by name: the built-in ones, those other packages declare, and those registered at run time."""

from __future__ import annotations

import functools
import os
import sys
from importlib.metadata import entry_points

from .errors import JobTypeError
from .jobtype import JobType, _declared, resolve_ref

__all__ = ["get_job_type", "job_types", "register", "exported_env", "ENTRY_POINT_GROUP", "JOB_TYPES_VARIABLE"]

#: Other packages add job types with an entry point in this group, e.g. in
#: their pyproject.toml: ``[project.entry-points."workbench.job_types"]
#: mytype = "mypkg.jobs:my_job_type"``.
ENTRY_POINT_GROUP = "workbench.job_types"

#: Job types this user trusts besides the installed ones: ``module:attribute`` of JobType objects,
#: separated by commas or spaces, imported when a name is not found otherwise. The user's environment
#: decides this, never a bundle: a bundle only names its job type.
JOB_TYPES_VARIABLE = "WORKBENCH_JOB_TYPES"

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


@functools.lru_cache(maxsize=4)
def _configured(value: str) -> dict[str, JobType]:
    """The job types named by :data:`JOB_TYPES_VARIABLE` (its value is the key), by name."""
    out: dict[str, JobType] = {}
    for ref in value.replace(",", " ").split():
        obj = resolve_ref(ref)
        if not isinstance(obj, JobType):
            raise JobTypeError(f"{ref!r} (in ${JOB_TYPES_VARIABLE}) is a {type(obj).__name__}, not a JobType.")
        out.setdefault(obj.name, obj)
    return out


def get_job_type(name: str | JobType) -> JobType:
    """The job type called ``name`` (a :class:`JobType` is returned as it is).

    Looked up, in order, among the job types registered in this process, the
    built-in ones, those made in this process (e.g. by a module the user
    imported), those installed packages declare (entry points), and those the
    ``WORKBENCH_JOB_TYPES`` environment variable names. Nothing else is
    imported: a bundle names its job type, it never chooses the code.
    """
    if isinstance(name, JobType):
        return name
    if not isinstance(name, str):
        raise JobTypeError(f"A job type name must be a text, not {type(name).__name__} ({name!r:.60}).")
    if name in _registered:
        return _registered[name]
    if name not in _BUILTIN and name in _declared:  # made here: found without reading the installed packages
        return _declared[name]
    refs = _known_refs()
    if name not in refs:
        found = _configured(os.environ.get(JOB_TYPES_VARIABLE, "")).get(name)
        if found is not None:
            return found
        refs = _known_refs(fresh=True)
    if name not in refs:
        known = sorted(set(refs) | set(_registered) | set(_declared))
        shown = repr(name) if len(name) <= 60 else repr(name[:57]) + "..."
        raise JobTypeError(
            f"Unknown job type {shown}. Known job types: {', '.join(known)}. "
            "Declare new ones with workbench.JobType and workbench.register(), an entry point "
            f"in the group {ENTRY_POINT_GROUP!r}, or name their module:attribute in ${JOB_TYPES_VARIABLE}."
        )
    obj = resolve_ref(refs[name])
    if not isinstance(obj, JobType):
        raise JobTypeError(f"{refs[name]!r} (job type {name!r}) is a {type(obj).__name__}, not a JobType.")
    return obj


def exported_env(name: object) -> dict[str, str]:
    """The environment that lets a process elsewhere (an SSH run's) find the job type ``name`` as it is found
    here: ``{WORKBENCH_JOB_TYPES: module:attribute}`` of the JobType this process finds by that name, when it
    is neither built in nor unimportable. What the job type is, is decided here, by the user, not by a bundle."""
    if not isinstance(name, str) or name in _BUILTIN:
        return {}
    try:
        ref = get_job_type(name).object_ref
    except JobTypeError:
        return {}
    return {JOB_TYPES_VARIABLE: ref} if ref else {}


def job_types() -> list[str]:
    """Names of every job type that can be found."""
    return sorted(set(_known_refs()) | set(_registered))
