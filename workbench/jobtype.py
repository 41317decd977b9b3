"""Job types: the one declaration from which forms, questionnaires, bundles and runners are made."""

from __future__ import annotations

import importlib
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import JobTypeError, ParameterError
from .params import Param

if TYPE_CHECKING:
    from .checkpoint import Checkpoint

__all__ = ["Cost", "Problem", "error", "warning", "JobContext", "JobType", "resolve_ref"]


@dataclass(frozen=True)
class Cost:
    """Estimated resources of one job: wall seconds on one core, peak memory and disk in MB."""

    seconds: float
    memory_mb: float = 100.0
    disk_mb: float = 10.0


@dataclass(frozen=True)
class Problem:
    """One finding of a cross-parameter check."""

    level: Literal["error", "warning"]
    message: str
    params: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def error(message: str, *params: str) -> Problem:
    """A finding that makes the scan invalid; ``params`` names the fields it concerns."""
    return Problem("error", message, tuple(params))


def warning(message: str, *params: str) -> Problem:
    """A finding shown to the user that does not block the scan."""
    return Problem("warning", message, tuple(params))


@dataclass
class JobContext:
    """What a running job may use besides its parameters.

    Attributes
    ----------
    job_id
        The point id of the job (a hex string).
    checkpoint
        A :class:`~workbench.checkpoint.Checkpoint` for job types that checkpoint, else ``None``.
    log
        A callable that writes one line to the job's log (stdout on a pool).
    """

    job_id: str
    checkpoint: Checkpoint | None = None
    log: Callable[[str], None] = print


#: What a job type's name may be: it is written into submit descriptions, file names and command lines.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,99}")

#: Every job type made in this process, by name (the latest of a name): job types declared in a module
#: the user imported are found by name, as registered ones are, without a bundle naming their module.
_declared: weakref.WeakValueDictionary[str, JobType] = weakref.WeakValueDictionary()

RunFunction = Callable[[Mapping[str, Any], JobContext], Mapping[str, Any]]
CheckFunction = Callable[[Mapping[str, Any]], Iterable[Problem]]
CostFunction = Callable[[Mapping[str, Any]], Cost]


@dataclass(frozen=True)
class JobType:
    """A kind of job: its parameters, checks, cost model and the function that runs one point.

    Parameters
    ----------
    name
        Registry name (``"demo"``, ``"tdse"``).
    params
        The parameters, in the order forms and tables show them.
    run
        ``run(point, ctx) -> results``: computes one point.  ``results`` maps
        names to scalars (float, int, bool, str) or numpy arrays.  Must be
        importable by module and name (not a lambda) so pool jobs can find it.
    title, description
        Shown in forms and ``workbench list``.
    checks
        Functions of a point returning :class:`Problem` s (cross-parameter checks).
    cost
        Function of a point returning a :class:`Cost`.
    cost_uses
        The parameters ``cost`` depends on; the total cost of a scan is then
        computed over those axes only.  ``None`` means all.
    constants
        Extra names allowed in value expressions, e.g. units (``{"nm": 1e-9}``).
    checkpointing
        The run function uses ``ctx.checkpoint`` to save and resume its state.
    outputs
        Names of the scalar outputs, for forms and panels (optional).
    """

    name: str
    params: tuple[Param, ...]
    run: RunFunction
    title: str = ""
    description: str = ""
    checks: tuple[CheckFunction, ...] = ()
    cost: CostFunction | None = None
    cost_uses: tuple[str, ...] | None = None
    constants: Mapping[str, float] = field(default_factory=dict)
    checkpointing: bool = False
    outputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            shown = repr(self.name) if len(repr(self.name)) <= 60 else repr(self.name)[:57] + "..."
            raise JobTypeError(
                f"Job type name {shown} is not a name: use letters, digits, '_', '-' and '.', starting with a "
                "letter, at most 100 characters (e.g. 'my-scan')."
            )
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "checks", tuple(self.checks))
        names = [p.name for p in self.params]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise JobTypeError(f"Job type {self.name!r} declares parameter(s) {dupes} twice; give each a unique name.")
        if self.cost_uses is not None:
            unknown = sorted(set(self.cost_uses) - set(names))
            if unknown:
                raise JobTypeError(f"Job type {self.name!r}: cost_uses names unknown parameter(s) {unknown}.")
            object.__setattr__(self, "cost_uses", tuple(self.cost_uses))
        clash = sorted(set(self.constants) & set(names))
        if clash:
            raise JobTypeError(f"Job type {self.name!r}: constant(s) {clash} shadow parameters; rename them.")
        if not self.title:
            object.__setattr__(self, "title", self.name)
        _declared[self.name] = self

    # -- lookup ----------------------------------------------------------
    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(
            f"Job type {self.name!r} has no parameter {name!r}; its parameters are: "
            + ", ".join(self.param_names)
            + ".",
            parameter=name,
        )

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    @property
    def ref(self) -> str:
        """``module:qualname`` of the run function, for runners in other processes."""
        mod = getattr(self.run, "__module__", None)
        qual = getattr(self.run, "__qualname__", "")
        if not mod or "<" in qual:
            raise JobTypeError(
                f"The run function of job type {self.name!r} ({self.run!r}) cannot be imported by "
                "name; define it with `def` at module level."
            )
        return f"{mod}:{qual}"

    @property
    def object_ref(self) -> str | None:
        """``module:name`` of this JobType object itself, when its run function's module holds it."""
        import sys

        module = sys.modules.get(getattr(self.run, "__module__", ""), None)
        if module is None or module.__name__ == "__main__":
            return None
        for name, value in vars(module).items():
            if value is self:
                return f"{module.__name__}:{name}"
        return None

    # -- checking --------------------------------------------------------
    def coerce(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """Check every value of a full point; return it coerced, in parameter order."""
        unknown = sorted(set(point) - set(self.param_names))
        if unknown:
            self.param(unknown[0])  # raises with the list of known names
        values = {**self.defaults(), **point}
        return {p.name: p.check(values[p.name]) for p in self.params}

    def problems(self, point: Mapping[str, Any]) -> list[Problem]:
        """Run the cross-parameter checks on one (coerced) point."""
        found: list[Problem] = []
        for check in self.checks:
            found.extend(check(point) or ())
        return found

    def estimate(self, point: Mapping[str, Any]) -> Cost:
        """The cost model for one point (a nominal one-second job without a model)."""
        if self.cost is None:
            return Cost(seconds=1.0)
        return self.cost(point)

    # -- display ---------------------------------------------------------
    def _rows(self) -> list[tuple[str, str, str, str]]:
        from ._format import format_number

        return [(p.name, format_number(p.default, 6), p.unit, p.describe_allowed()) for p in self.params]

    def __repr__(self) -> str:
        return f"<JobType {self.name}: {len(self.params)} parameters ({', '.join(self.param_names)})>"

    def __str__(self) -> str:
        """The job type and its parameters with their defaults, units and allowed values, one per line."""
        rows = self._rows()
        w0, w1, w2 = (max((len(r[k]) for r in rows), default=0) for k in range(3))
        lines = [f"{self.title} ({self.name})" if self.title != self.name else self.name]
        lines += [f"  {n:<{w0}}  {d:>{w1}} {u:<{w2}}  {a}" for n, d, u, a in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The parameters as a table in a notebook: name, default and unit, allowed values."""
        import html

        cell = "<td style='text-align:{};padding:1px 8px'>{}</td>"
        body = "".join(
            "<tr>" + cell.format("left", f"<code>{html.escape(n)}</code>") + cell.format("right", html.escape(d))
            + cell.format("left", html.escape(u)) + cell.format("left", html.escape(a)) + "</tr>"
            for n, d, u, a in self._rows()
        )
        head = "".join(f"<th style='text-align:left;padding:1px 8px'>{h}</th>" for h in ("parameter", "default", "unit", "allowed"))
        title = html.escape(self.title) + (f" (<code>{html.escape(self.name)}</code>)" if self.title != self.name else "")
        desc = f"<br><small>{html.escape(self.description)}</small>" if self.description else ""
        return f"<div><b>{title}</b>{desc}<table><tr>{head}</tr>{body}</table></div>"


def resolve_ref(ref: str) -> Any:
    """Import ``module:qualname`` and return the object it names."""
    module, _, qual = ref.partition(":")
    if not module or not qual:
        raise JobTypeError(f"Reference {ref!r} is not of the form 'module:name'.")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as e:
        raise JobTypeError(
            f"Cannot import module {module!r} (from {ref!r}): {e}. Install the package that "
            "defines this job type where the job runs."
        ) from e
    for part in qual.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            raise JobTypeError(f"Module {module!r} has no {qual!r} (from {ref!r}).") from e
    return obj
