"""Executors run a bundle's jobs somewhere and record what happens in its event log.

Targets are registered by name: ``local`` (the embedded default), ``ssh`` (a
remote host without a scheduler), ``condor`` (the HTCondor schedd of this
machine) and ``condor-ssh`` (``condor_submit`` on a submit host over SSH);
other packages add theirs through the ``workbench.targets`` entry point
group (a :class:`Target`).  Every target starts a run and attaches to a
recorded one, and both give a :class:`~workbench.executors.handle.RunHandle`
with the same methods.  :func:`run` and :func:`attach` (``wb.run``,
``wb.attach``) are the one lookup the CLI, the form and the monitor use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ExecutorError
from .base import Executor, RunReport, Selection
from .handle import RunHandle

if TYPE_CHECKING:
    from ..bundle import Bundle
    from ..runs import RunRecord

# The remote executors load paramiko / htcondor2 when used, not on import.
_LAZY = {
    "LocalExecutor": "local",
    "LocalRun": "local",
    "SSHExecutor": "ssh",
    "SSHRun": "ssh",
    "CondorExecutor": "condor",
    "CondorSSHExecutor": "condor",
    "CondorRun": "condor",
}

__all__ = ["Executor", "RunHandle", "RunReport", "Target", "attach", "get_target", "register_target", "run",
           "targets", *_LAZY]  # fmt: skip

#: The entry point group through which other packages add targets (each a :class:`Target`).
ENTRY_POINT_GROUP = "workbench.targets"


@dataclass(frozen=True)
class Target:
    """A place runs go: how to start one and how to attach to a recorded one.

    Attributes
    ----------
    name
        The target's name (``target=`` of :func:`run`, ``--target`` of the CLI).
    start
        ``start(bundle, only=..., **options) -> RunHandle``: start a run and
        return at once.
    attach
        ``attach(bundle, record, **options) -> RunHandle``: a handle on the
        recorded run ``record`` (a :class:`~workbench.runs.RunRecord`).
    description
        One line for people (the form's choice, ``workbench list``).
    """

    name: str
    start: Callable[..., RunHandle]
    attach: Callable[..., RunHandle]
    description: str = ""


def _lazy(module: str, name: str, description: str, **bound: Any) -> Target:
    def start(bundle: Bundle, **options: Any) -> RunHandle:
        fn = importlib.import_module(f".{module}", __name__).start
        return fn(bundle, **bound, **options)  # type: ignore[no-any-return]

    def attach(bundle: Bundle, record: RunRecord | None = None, **options: Any) -> RunHandle:
        fn = importlib.import_module(f".{module}", __name__).attach
        return fn(bundle, record, **options)  # type: ignore[no-any-return]

    return Target(name, start, attach, description)


_TARGETS: dict[str, Target] = {
    "local": _lazy("local", "local", "this machine (a process pool)"),
    "ssh": _lazy("ssh", "ssh", "a remote host over SSH (no scheduler)"),
    "condor": _lazy("condor", "condor", "an HTCondor pool (this machine is a submit node)", target="condor"),
    "condor-ssh": _lazy("condor", "condor-ssh", "an HTCondor pool through a submit host over SSH",
                        target="condor-ssh"),  # fmt: skip
}
_entry_points_loaded = False


def register_target(target: Target) -> Target:
    """Add (or replace) a target by its name; returns it."""
    if not target.name or not all(c.isalnum() or c in "-_" for c in target.name):
        raise ExecutorError(f"Target name {target.name!r}: use letters, digits, '-' and '_'.")
    _TARGETS[target.name] = target
    return target


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _TARGETS:
            continue  # the built-in ones are not replaced by an installed package
        try:
            target = ep.load()
        except Exception as e:  # noqa: BLE001 - one broken plug-in must not hide the others
            import warnings

            warnings.warn(f"The target {ep.name!r} ({ep.value}) could not be loaded: {e}", RuntimeWarning, stacklevel=3)
            continue
        if isinstance(target, Target):
            _TARGETS[ep.name] = target


def targets() -> dict[str, str]:
    """The targets runs can go to: name -> description."""
    _load_entry_points()
    return {name: t.description for name, t in _TARGETS.items()}


def get_target(name: str) -> Target:
    """The target called ``name``.

    Raises
    ------
    ExecutorError
        No such target (the message lists those there are).
    """
    if name not in _TARGETS:
        _load_entry_points()
    try:
        return _TARGETS[name]
    except KeyError:
        raise ExecutorError(f"target = {name!r} is not a target workbench knows; use one of {sorted(_TARGETS)}.") from None


def _open(bundle: Any) -> Bundle:
    from ..bundle import open_bundle

    return open_bundle(bundle)


def run(
    bundle: Bundle | str | os.PathLike[str],
    target: str | None = None,
    *,
    only: Selection | Sequence[str] = "unfinished",
    wait: bool = True,
    progress: bool = True,
    **options: Any,
) -> RunReport | RunHandle:
    """Run jobs of ``bundle`` on ``target``: this machine (the default), an SSH host or an HTCondor pool.

    Parameters
    ----------
    bundle
        The bundle (or its path).
    target
        ``"local"``, ``"ssh"``, ``"condor"``, ``"condor-ssh"`` or a plug-in's
        (default: the bundle's ``RunSettings.target``).
    only
        ``"unfinished"`` (jobs without a result), ``"failed"``, ``"all"``, or a list of job ids.
    wait
        Follow the run to its end (Ctrl-C stops it cleanly) and return its
        :class:`RunReport`; else return its :class:`RunHandle` at once.
    progress
        Show a progress bar while waiting.
    **options
        The target's options: ``workers`` (local, ssh); ``host``,
        ``remote_dir``, ``python``, ``env`` and SSH connection options (ssh,
        condor-ssh); ``condor_bin``, ``schedd`` (pools).

    Examples
    --------
    >>> run = wb.run(bundle, target="ssh", host="bigbox", wait=False)  # doctest: +SKIP
    >>> m = wb.monitor(bundle)   # finds the run, pulls its results  # doctest: +SKIP
    """
    b = _open(bundle)
    name = target or b.settings.target or "local"
    if name == "local" and wait:
        # In the foreground: the run owns the main thread, so Ctrl-C stops it where it chooses.
        from .local import run as run_local

        return run_local(b, only=only, progress=progress, **options)
    handle = get_target(name).start(b, only=only, **options)
    if not wait:
        return handle
    try:
        return handle.follow(progress=progress)
    finally:
        handle.close()


def attach(bundle: Bundle | str | os.PathLike[str], **options: Any) -> RunHandle:
    """The handle of the bundle's latest run, whatever its target (e.g. after a kernel restart).

    Raises
    ------
    ExecutorError
        The bundle has never run (the message says how to start it).
    """
    from .. import runs

    b = _open(bundle)
    rec = runs.latest(b)
    if rec is None:
        raise ExecutorError(
            f"{b.path} has not been run yet, so there is no run to attach to. Start one with "
            f"wb.run(bundle, target=...) or `workbench run {b.path}`."
        )
    return get_target(rec.target).attach(b, rec, **options)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
