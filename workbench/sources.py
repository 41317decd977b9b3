"""Value sources: where a parameter's values in a scan come from.

Each source is a small frozen dataclass that knows how many values it makes
*before* making them (so a 10^12-point request is refused at once), makes
them, and describes itself for people (``parameters.txt``) and for machines
(:meth:`Source.to_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, overload

import numpy as np

from .errors import ExpressionError, ParameterError, ScanError

__all__ = [
    "Source",
    "Value",
    "Values",
    "Linspace",
    "Logspace",
    "Geomspace",
    "Arange",
    "Expr",
    "MAX_AXIS_VALUES",
    "NumericValues",
    "source_from_dict",
    "source_from_text",
    "as_source",
    "spacing",
]

#: The most values one axis may have.  Scans multiply axes; one axis with
#: more than this many values is almost always a typo (``1e8`` for ``1e3``).
MAX_AXIS_VALUES = 10_000_000


def _python_scalar(v: Any) -> Any:
    """numpy scalars -> Python scalars, so values hash, print and serialise plainly."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def _as_number(name: str, field: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ScanError(f"{name}: {field} = {v!r} is not a number; give a number.")
    f = float(v)
    if not math.isfinite(f):
        raise ScanError(f"{name}: {field} = {v!r} is not finite; give a finite number.")
    return f


def _as_count(name: str, field: str, v: Any) -> int:
    # Finite floats only reach int(): int(inf) and int(nan) raise bare OverflowError / ValueError.
    whole = (isinstance(v, (int, np.integer)) and not isinstance(v, bool)) or (
        isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer()
    )
    if not whole:
        raise ScanError(f"{name}: {field} = {v!r} is not a whole number; give a whole number of values.")
    n = int(v)
    if n < 1:
        raise ScanError(f"{name}: {field} = {n} makes no values; give at least 1.")
    if n > MAX_AXIS_VALUES:
        raise ScanError(
            f"{name}: {field} = {n} would make {n:,} values; one axis may have at most "
            f"{MAX_AXIS_VALUES:,}. Check the number, or split the scan."
        )
    return n


#: Axes at least this long are checked with numpy, and those made by numpy
#: (linspace, ..., an expression giving an array) are kept as arrays.
_LONG = 1000


class NumericValues(Sequence[Any]):
    """The values of a long numeric axis, kept as one read-only numpy array.

    It stands for the tuple of Python numbers it holds: indexing and
    iterating give Python ``float`` (or ``int``) values, slices give tuples,
    and it compares equal to that tuple.  Code that needs many values at once
    takes the array without a copy (``np.asarray(values)`` or
    :attr:`array`).  Making a million Python floats and checking them one by
    one takes about a second; counting, first and last values, extremes,
    distinctness and cost samples need only the array.
    """

    __slots__ = ("_array", "_list")

    def __init__(self, array: np.ndarray) -> None:
        # Takes the array over (and makes it read-only): pass one nobody else writes to.
        a = np.asarray(array)
        if a.ndim != 1 or a.dtype.kind not in "fi":
            raise ValueError(f"NumericValues holds a 1-D float or int array, not {a.dtype} of shape {a.shape}")
        a.flags.writeable = False
        self._array = a
        self._list: list[Any] | None = None

    @property
    def array(self) -> np.ndarray:
        """The values as a read-only numpy array (float64 or int64)."""
        return self._array

    def tolist(self) -> list[Any]:
        """The values as Python numbers (made once, then kept)."""
        if self._list is None:
            self._list = self._array.tolist()
        return self._list

    def __len__(self) -> int:
        return len(self._array)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return tuple(self._array[i].tolist())
        return self._array[i].item()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy:
            return np.array(self._array, dtype=dtype, copy=True)
        return self._array if dtype is None else self._array.astype(dtype, copy=False)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NumericValues):
            return bool(np.array_equal(self._array, other._array))
        if isinstance(other, tuple):
            return len(other) == len(self) and tuple(self.tolist()) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.tolist()))  # equal to the tuple it stands for, so the same hash

    def __repr__(self) -> str:
        return f"NumericValues({self._array!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (NumericValues, (np.array(self._array),))


def _check_array(param: Any, arr: np.ndarray) -> NumericValues | None:
    """Check a long numeric array at once; ``None`` when a value needs a closer look (or the axis is short).

    Holds what :meth:`Param.check` would return for each value; the slow
    path then finds the offending value and words the error.
    """
    if len(arr) < _LONG or param.kind not in ("float", "int") or arr.ndim != 1 or arr.dtype.kind not in "fiu":
        return None
    if arr.dtype.kind in "iu":
        if param.kind == "float":
            if np.abs(arr).max() >= 2**53:  # not exactly a float: let the exact path judge
                return None
            arr = arr.astype(float)
        elif arr.dtype != np.int64:
            if arr.dtype.kind == "u" and arr.max() >= 2**63:
                return None
            arr = arr.astype(np.int64)
        ok = np.ones(len(arr), dtype=bool)
    else:
        arr = arr.astype(float, copy=False)
        ok = np.isfinite(arr)
    if param.min is not None:
        ok &= arr > param.min if param.strict_min else arr >= param.min
    if param.max is not None:
        ok &= arr <= param.max
    if param.kind == "int" and arr.dtype.kind == "f":
        # Large ints are not exactly representable as floats: let the exact path judge them.
        ok &= (arr == np.round(arr)) & (np.abs(arr) < 2**53)
        if ok.all():
            arr = arr.astype(np.int64)
    if not ok.all():
        return None
    return NumericValues(arr)


def _check_numbers(param: Any, raw: list[Any]) -> NumericValues | None:
    """:func:`_check_array` for a long list of Python numbers (``None`` when any is not a plain number)."""
    if len(raw) < _LONG or param.kind not in ("float", "int"):
        return None
    if not all(type(v) in (int, float) for v in raw):
        return None
    try:
        arr = np.asarray(raw)
    except (OverflowError, ValueError):
        return None
    return _check_array(param, arr)


@dataclass(frozen=True)
class Source:
    """Base of every value source."""

    kind: ClassVar[str] = ""

    def raw_values(self, name: str, names: Mapping[str, float] | None = None) -> list[Any]:
        """The values, unchecked (Python scalars).  ``name`` is used in messages."""
        raw = self._raw(name, names)
        return raw.tolist() if isinstance(raw, np.ndarray) else raw

    def _raw(self, name: str, names: Mapping[str, float] | None) -> list[Any] | np.ndarray:
        """The values, unchecked: a list of Python scalars, or a 1-D array when numpy made them."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short text for people, e.g. ``linspace(0.5, 1.5, 41)``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description that :func:`source_from_dict` reads back."""
        d: dict[str, Any] = {"kind": self.kind}
        d.update({k: _python_scalar(v) if not isinstance(v, tuple) else list(v) for k, v in self.__dict__.items()})
        return d

    def values(self, param: Any, names: Mapping[str, float] | None = None) -> Sequence[Any]:
        """The values, each checked and coerced by ``param`` (a :class:`~workbench.params.Param`).

        A tuple, or for a long numeric axis a :class:`NumericValues` (which
        behaves as that tuple).
        """
        raw = self._raw(param.name, names)
        fast = _check_array(param, raw) if isinstance(raw, np.ndarray) else _check_numbers(param, raw)
        if fast is not None:
            return fast
        if isinstance(raw, np.ndarray):
            raw = raw.tolist()
        out = []
        for i, v in enumerate(raw):
            try:
                out.append(param.check(_python_scalar(v)))
            except ParameterError as e:
                if len(raw) == 1:
                    raise
                raise ParameterError(
                    f"{param.name}: value {i + 1} of {len(raw)} from {self.describe()} is invalid: {e}",
                    parameter=param.name,
                ) from None
        return tuple(out)


@dataclass(frozen=True)
class Value(Source):
    """A single value (a fixed parameter)."""

    value: Any
    kind: ClassVar[str] = "value"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> list[Any]:
        return [self.value]

    def describe(self) -> str:
        return repr(_python_scalar(self.value))


@dataclass(frozen=True)
class Values(Source):
    """An explicit list of values."""

    items: tuple[Any, ...]
    kind: ClassVar[str] = "list"

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(_python_scalar(v) for v in self.items))

    def _raw(self, name: str, names: Mapping[str, float] | None) -> list[Any]:
        if not self.items:
            raise ScanError(f"{name}: the list of values is empty; give at least one value.")
        if len(self.items) > MAX_AXIS_VALUES:
            raise ScanError(f"{name}: {len(self.items):,} values; one axis may have at most {MAX_AXIS_VALUES:,}.")
        return list(self.items)

    def describe(self) -> str:
        if len(self.items) <= 6:
            return "[" + ", ".join(repr(v) for v in self.items) + "]"
        return f"[{self.items[0]!r}, {self.items[1]!r}, ..., {self.items[-1]!r}] ({len(self.items)} values)"


@dataclass(frozen=True)
class Linspace(Source):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``numpy.linspace``)."""

    start: float
    stop: float
    num: int
    kind: ClassVar[str] = "linspace"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> np.ndarray:
        a, b = _as_number(name, "start", self.start), _as_number(name, "stop", self.stop)
        return np.linspace(a, b, _as_count(name, "num", self.num))

    def describe(self) -> str:
        return f"linspace({self.start!r}, {self.stop!r}, {self.num!r})"


@dataclass(frozen=True)
class Logspace(Source):
    """``num`` values ``base**x`` for x evenly spaced from ``start`` to ``stop`` (``numpy.logspace``)."""

    start: float
    stop: float
    num: int
    base: float = 10.0
    kind: ClassVar[str] = "logspace"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> np.ndarray:
        a, b = _as_number(name, "start", self.start), _as_number(name, "stop", self.stop)
        base = _as_number(name, "base", self.base)
        if base <= 0:
            raise ScanError(f"{name}: base = {base!r} must be positive; the usual base is 10.")
        if max(abs(a), abs(b)) * math.log10(max(base, 1.0000001)) > 300:
            raise ScanError(
                f"{name}: logspace({a!r}, {b!r}) with base {base!r} overflows a float; the exponents "
                "are powers of the base (logspace(12, 14, 3) is 1e12, 1e13, 1e14)."
            )
        return np.logspace(a, b, _as_count(name, "num", self.num), base=base)

    def describe(self) -> str:
        base = "" if self.base == 10.0 else f", base={self.base!r}"
        return f"logspace({self.start!r}, {self.stop!r}, {self.num!r}{base})"


@dataclass(frozen=True)
class Geomspace(Source):
    """``num`` values in geometric progression from ``start`` to ``stop`` inclusive."""

    start: float
    stop: float
    num: int
    kind: ClassVar[str] = "geomspace"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> np.ndarray:
        a, b = _as_number(name, "start", self.start), _as_number(name, "stop", self.stop)
        if a == 0 or b == 0 or (a < 0) != (b < 0):
            raise ScanError(
                f"{name}: geomspace({a!r}, {b!r}) needs start and stop of the same sign and non-zero; "
                "use linspace for ranges through zero."
            )
        return np.geomspace(a, b, _as_count(name, "num", self.num))

    def describe(self) -> str:
        return f"geomspace({self.start!r}, {self.stop!r}, {self.num!r})"


@dataclass(frozen=True)
class Arange(Source):
    """Values from ``start`` up to but excluding ``stop`` in steps of ``step`` (``numpy.arange``)."""

    start: float
    stop: float
    step: float = 1
    kind: ClassVar[str] = "arange"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> np.ndarray:
        a, b = _as_number(name, "start", self.start), _as_number(name, "stop", self.stop)
        s = _as_number(name, "step", self.step)
        if s == 0:
            raise ScanError(f"{name}: arange step is 0; give a non-zero step.")
        q = (b - a) / s
        if not math.isfinite(q):  # finite ends can still be 1e308 apart
            raise ScanError(
                f"{name}: arange({a!r}, {b!r}, {s!r}) would make more than {MAX_AXIS_VALUES:,} values; "
                "check the numbers, or split the scan."
            )
        n = math.ceil(q)
        if n < 1:
            raise ScanError(
                f"{name}: arange({a!r}, {b!r}, {s!r}) makes no values; stop must be beyond start in the "
                "direction of step."
            )
        _as_count(name, "the number of values", n)
        ints = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (self.start, self.stop, self.step))
        return np.arange(self.start, self.stop, self.step) if ints else np.arange(a, b, s)

    def describe(self) -> str:
        return f"arange({self.start!r}, {self.stop!r}, {self.step!r})"


@dataclass(frozen=True)
class Expr(Source):
    """A safe expression (see :mod:`workbench.expr`), e.g. ``"2*pi*np.linspace(0, 1, 11)"``."""

    text: str
    kind: ClassVar[str] = "expr"

    def _raw(self, name: str, names: Mapping[str, float] | None) -> list[Any] | np.ndarray:
        from .errors import ExpressionError
        from .expr import evaluate

        try:
            result = evaluate(self.text, names=names, max_size=MAX_AXIS_VALUES)
        except ExpressionError as e:
            raise ParameterError(f"{name}: {e}", parameter=name) from None
        if isinstance(result, np.ndarray):
            if result.ndim != 1 or result.size == 0:
                raise ParameterError(
                    f"{name} = {self.text!r} gives an array of shape {result.shape}; give one value or a "
                    "non-empty 1-D list of values.",
                    parameter=name,
                )
            return result
        if isinstance(result, (list, tuple)):
            return list(result)
        return [result]

    def describe(self) -> str:
        return self.text


_KINDS: dict[str, type[Source]] = {
    cls.kind: cls for cls in (Value, Values, Linspace, Logspace, Geomspace, Arange, Expr)
}


def source_from_dict(d: Mapping[str, Any]) -> Source:
    """Rebuild a source from :meth:`Source.to_dict` output."""
    d = dict(d)
    kind = d.pop("kind", None)
    if kind == "design":
        from .designs import DesignColumn

        return DesignColumn.from_dict(d)
    if kind == "adaptive":
        from .designs import Adaptive

        return Adaptive(**d)
    if kind not in _KINDS:
        raise ScanError(f"Unknown value source kind {kind!r}; known kinds: {', '.join(_KINDS)}.")
    cls = _KINDS[kind]
    try:
        return cls(**d)
    except TypeError as e:
        raise ScanError(f"Value source {kind!r} cannot be built from {d!r}: {e}") from e


def as_source(value: Any) -> Source:
    """Interpret a plain Python value as a source.

    A :class:`Source` is returned as it is; a list, tuple, range or 1-D
    array becomes :class:`Values`; anything else is a single :class:`Value`.
    Strings are values, never expressions: use :class:`Expr` for those.
    """
    if isinstance(value, Source):
        return value
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return Value(value.item())
        if value.ndim != 1:
            raise ScanError(f"An array of shape {value.shape} is not a list of values; give a 1-D array.")
        return Values(tuple(value.tolist()))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return Values(tuple(value))
    return Value(_python_scalar(value))


def source_from_text(param: Any, text: str) -> Source:
    """The value source for ``text`` typed for ``param`` (the command line's ``--set``, the form's fields).

    Parameters
    ----------
    param
        The :class:`~workbench.params.Param` the text is for.
    text
        What was typed.  For ``str`` and ``choice`` parameters it is the value
        itself unless it starts with a quote or a bracket; ``true``/``false``
        (``yes``/``no``, ``y``/``n``, ``1``/``0``) are booleans for ``bool``
        parameters; anything else is a safe expression (:class:`Expr`).

    Returns
    -------
    Source
        A :class:`Value` or an :class:`Expr` (checked when its values are made).
    """
    text = text.strip()
    if not text:
        raise ParameterError(f"{param.name}: no value given; type a value or press Enter for the default.", parameter=param.name)
    if param.kind in ("str", "choice") and not text.startswith(("'", '"', "[", "(")):
        if param.kind == "choice" and not isinstance(param.choices[0], str):
            return Expr(text)
        return Value(text)
    if text.startswith(("adaptive(", "sobol(", "halton(", "latin_hypercube(", "lhs(", "uniform(")):
        from .designs import source_from_call

        try:
            called = source_from_call(param.name, text)
        except (ExpressionError, ScanError) as e:
            raise ParameterError(f"{param.name}: {e}", parameter=param.name) from None
        if called is not None:
            return called
    if param.kind == "bool" and text.lower() in ("true", "false", "yes", "no", "y", "n", "1", "0"):
        return Value(text.lower() in ("true", "yes", "y", "1"))
    return Expr(text)


def _spacing_array(values: Sequence[Any]) -> np.ndarray | None:
    # The values as an array whose arithmetic is Python's: int64 where ints are exact as floats
    # too (b/a is then Python's int/int), object (Python ints) beyond; None when not numbers.
    if isinstance(values, NumericValues):
        return values.array
    if isinstance(values, np.ndarray):
        return values if values.ndim == 1 and values.dtype.kind in "fi" else None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    try:
        a = np.asarray(values)
    except OverflowError:
        a = np.asarray(values, dtype=object)
    if a.dtype.kind not in "fi" or (a.dtype.kind == "i" and (a.max() >= 2**53 or a.min() <= -(2**53))):
        a = np.empty(len(values), dtype=object)
        a[:] = list(values)
    return a


def spacing(values: Sequence[Any]) -> tuple[Literal["step", "ratio"], float] | None:
    """How evenly spaced numeric values are: a constant step, a constant ratio, or neither.

    Parameters
    ----------
    values
        At least three numbers: a tuple or list (of ``int``/``float``, not
        ``bool``), a 1-D array or a :class:`NumericValues`.

    Returns
    -------
    tuple or None
        ``("step", d)`` when every difference is ``d`` to a relative 1e-9
        (``d`` the first difference, an ``int`` for integers); else
        ``("ratio", r)`` when all values have one sign and every ratio of
        neighbours is ``r`` to a relative 1e-9; else ``None`` (also for fewer
        than three values or values that are not all numbers).

    Examples
    --------
    >>> spacing((0.5, 1.0, 1.5))
    ('step', 0.5)
    >>> spacing((1, 10, 100))
    ('ratio', 10.0)
    """
    if len(values) < 3:
        return None
    a = _spacing_array(values)
    if a is None:
        return None
    steps = a[1:] - a[:-1]
    hi, lo = steps.max(), steps.min()
    if abs(hi - lo) <= 1e-9 * max(abs(hi), abs(lo)):  # the largest |step|, without an |steps| array
        return ("step", _python_scalar(steps[0]))
    if (a > 0).all() or (a < 0).all():
        ratios = a[1:] / a[:-1]
        if ratios.max() - ratios.min() <= 1e-9 * ratios.max():
            return ("ratio", float(ratios[0]))
    return None
