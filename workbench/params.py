"""Parameters of a job type: what a value may be, and the check that says so."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ._format import format_number
from .errors import JobTypeError, ParameterError

__all__ = ["Param", "KINDS"]

Kind = Literal["float", "int", "bool", "choice", "str"]
KINDS: tuple[str, ...] = ("float", "int", "bool", "choice", "str")


@dataclass(frozen=True)
class Param:
    """One parameter of a job type.

    Parameters
    ----------
    name
        Identifier used in scans, files and expressions (``[A-Za-z_][A-Za-z0-9_]*``).
    kind
        ``"float"``, ``"int"``, ``"bool"``, ``"choice"`` or ``"str"``.
    default
        The value used when a scan does not set this parameter.
    unit
        Unit shown to people (``"a.u."``, ``"nm"``); informative only.
    min, max
        Inclusive bounds for numbers; ``None`` for none.
    strict_min
        Make ``min`` exclusive (``dx > 0`` rather than ``dx >= 0``).
    choices
        The allowed values of a ``"choice"`` parameter.
    help
        One sentence shown beside the field and in the questionnaire.
    scannable
        Whether a scan may give this parameter more than one value.
    label
        Human-readable name; defaults to ``name``.
    """

    name: str
    kind: Kind
    default: Any
    unit: str = ""
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    choices: tuple[Any, ...] = ()
    help: str = ""
    scannable: bool = True
    label: str = field(default="")

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise JobTypeError(
                f"Parameter name {self.name!r} is not a plain identifier: use letters, digits and "
                "underscores, not starting with a digit or underscore."
            )
        if self.kind not in KINDS:
            raise JobTypeError(
                f"Parameter {self.name!r} has kind {self.kind!r}; use one of {', '.join(KINDS)}."
            )
        if self.kind == "choice":
            if not self.choices:
                raise JobTypeError(f"Choice parameter {self.name!r} needs a non-empty `choices` tuple.")
            object.__setattr__(self, "choices", tuple(self.choices))
        if not self.label:
            object.__setattr__(self, "label", self.name)
        # The default must itself be valid: a job type that cannot be used as
        # declared is a bug of its author, found at import time.
        try:
            object.__setattr__(self, "default", self.check(self.default))
        except ParameterError as e:
            raise JobTypeError(f"The default of parameter {self.name!r} is invalid: {e}") from e

    # -- checking ----------------------------------------------------------
    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int")

    def describe_allowed(self) -> str:
        """What values are allowed, in words (used by every error message)."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "True or False"
        if self.kind == "str":
            return "a text"
        what = "a finite number" if self.kind == "float" else "a whole number"
        lo = hi = ""
        if self.min is not None:
            lo = f"{'>' if self.strict_min else '>='} {format_number(self.min, 6)}"
        if self.max is not None:
            hi = f"<= {format_number(self.max, 6)}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        unit = f" {self.unit}" if self.unit else ""
        return f"{what}{' ' + bounds if bounds else ''}{unit if bounds else ''}"

    def _error(self, value: Any, problem: str) -> ParameterError:
        return ParameterError(
            f"{self.name} = {value!r}: {problem}; use {self.describe_allowed()}.",
            parameter=self.name,
        )

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's kind, or raise :class:`ParameterError`.

        Coercion is conservative: ``3.0`` becomes the int ``3`` for an int
        parameter, numpy scalars become Python scalars, but ``"3"`` is never a
        number and ``True`` is never ``1``.
        """
        kind = self.kind
        if kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise self._error(value, "is not a boolean")
        if kind == "str":
            if isinstance(value, str):
                return value
            raise self._error(value, "is not a text")
        if kind == "choice":
            for c in self.choices:
                # "1" is not 1 and True is not 1: compare only values of the same family.
                same_family = isinstance(c, str) == isinstance(value, str) and isinstance(
                    c, bool
                ) == isinstance(value, bool)
                if same_family and value == c:
                    return c
            raise self._error(value, "is not one of the choices")
        # numbers
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise self._error(value, "is not a number")
        if kind == "int":
            if isinstance(value, numbers.Integral):
                v: float | int = int(value)
            else:
                f = float(value)
                if not math.isfinite(f) or f != int(f):
                    raise self._error(value, "is not a whole number")
                v = int(f)
        else:
            v = float(value)
            if not math.isfinite(v):
                raise self._error(value, "is not finite")
        if self.min is not None and (v <= self.min if self.strict_min else v < self.min):
            raise self._error(value, "is below the lower bound")
        if self.max is not None and v > self.max:
            raise self._error(value, "is above the upper bound")
        return v
