"""Safe evaluation of the value expressions people type into forms and commands.

A parameter value may be written as ``0.5``, ``[0.05, 0.1, 0.2]``,
``2*pi*1e-3``, ``800*nm`` or ``np.linspace(0.5, 1.5, 41)``.  The text is parsed
with :func:`ast.parse` and evaluated by walking the tree here; :func:`eval` is
never used, no attribute is ever looked up by a name taken from the text, and
nothing is imported.

Evaluation has three steps:

1. **Bounds on the text**: at most :data:`MAX_TEXT_LENGTH` characters,
   :data:`MAX_NODES` syntax-tree nodes and :data:`MAX_DEPTH` levels of nesting
   (checked without recursion, so ``((((...))))`` cannot crash the process).
2. **Static check** of the whole tree against an allow-list *before anything is
   computed*: numbers, plain strings, the names ``pi``, ``e`` and those the
   caller passes, unary ``+ -``, binary ``+ - * / // % **``, parentheses,
   list/tuple displays and calls of :data:`ALLOWED_FUNCTIONS`.
3. **Bounded evaluation**: array sizes are known before an array is made
   (``np.linspace(0, 1, 10**12)`` and ``np.arange(0, 1e12, 1e-6)`` are refused
   at once), integer powers are estimated before they are computed
   (``9**9**9**9`` is refused at once), integer arrays are checked for
   overflow, and every intermediate result must be finite.

Decisions worth knowing
-----------------------
* **Lists are arrays.**  A list or tuple display is a 1-D numpy array, so
  ``[1, 2]*3`` is ``array([3, 6])`` (elementwise, as in numpy), never list
  repetition.  Whole numbers give an ``int64`` array, any float makes it
  ``float64``, any complex ``complex128``; ``[True, False]`` gives a ``bool``
  array and ``['a', 'b']`` a numpy ``str`` array (its elements are
  ``numpy.str_``, a subclass of :class:`str`).  Mixing text, booleans and
  numbers in one list, lists of lists and empty lists are refused: parameter
  values are scalars and scan axes are flat.
* **Text and booleans take no part in arithmetic** (``'a'*3``, ``True + 1`` are
  refused), so no string can grow and no boolean is silently a number.
* **Comparisons, ``and``/``or``/``not`` and conditional expressions are
  refused**: a value needs none of them.
* ``pi`` and ``e`` (and ``np.pi``, ``np.e``) are always defined; ``names`` may
  redefine ``pi`` and ``e`` (a job type may mean the elementary charge by
  ``e``).  ``inf`` and ``nan`` do not exist, and ``1e999`` is refused.
* ``num`` may be written as an integral float (``np.linspace(0, 1, 1e3)``),
  which numpy itself refuses; ``num`` must be at least 1.
* Scalars follow Python: ``7 // 2`` is ``3``, ``7 / 2`` is ``3.5``,
  ``round(2.5)`` is ``2`` and ``(-8)**(1/3)`` is complex; arrays follow numpy.
* All arrays made while evaluating may hold ``4 * max_size`` values together
  (at least 100,000), which bounds time and memory of long chains.
* Results: Python ``int``, ``float``, ``complex``, ``bool`` or ``str``, or a
  non-empty 1-D :class:`numpy.ndarray`; numpy scalars never escape.
"""

from __future__ import annotations

import ast
import cmath
import keyword
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Union

import numpy as np

from .errors import ExpressionError

__all__ = [
    "evaluate",
    "ALLOWED_FUNCTIONS",
    "ALLOWED_OPERATORS",
    "MAX_TEXT_LENGTH",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_INT_BITS",
]

Value = Union[int, float, complex, bool, str, np.ndarray]

#: The longest text accepted, in characters.
MAX_TEXT_LENGTH = 10_000
#: The most syntax-tree nodes accepted (operators and contexts count as nodes).
MAX_NODES = 10_000
#: The deepest nesting of the syntax tree accepted.
MAX_DEPTH = 100
#: The largest whole number allowed anywhere in a computation, in bits (~3000 digits).
MAX_INT_BITS = 10_000
#: Every array value made while evaluating counts against a budget of
#: ``_WORK_FACTOR * max_size`` (at least ``_MIN_WORK``); this bounds time and
#: peak memory of expressions such as ``a + (a + (a + ...))``.
_WORK_FACTOR = 4
_MIN_WORK = 100_000
#: The largest ``ndigits``/``decimals`` accepted by ``round``/``np.round``.
_MAX_NDIGITS = 400
_INT64_LIMIT = 2.0**63
_OVERFLOW_HINT = (
    "floats must be below about 1.8e308, and whole numbers combined with lists of whole numbers below 2**63"
)

ALLOWED_OPERATORS: tuple[str, ...] = ("+", "-", "*", "/", "//", "%", "**")

_BINOPS: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_UNARYOPS: dict[type[ast.unaryop], tuple[str, Callable[[Any], Any]]] = {
    ast.UAdd: ("+", operator.pos),
    ast.USub: ("-", operator.neg),
}
_OTHER_OPERATORS: dict[type[ast.AST], str] = {
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}


@dataclass(frozen=True)
class _Spec:
    """How an allowed function may be called (checked before evaluation)."""

    params: tuple[str, ...]
    required: int
    keywords: tuple[str, ...] = ()
    variadic: bool = False
    example: str = ""


_ELEMENTWISE: dict[str, Callable[[Any], Any]] = {
    "np.sqrt": np.sqrt,
    "np.exp": np.exp,
    "np.log": np.log,
    "np.log10": np.log10,
    "np.sin": np.sin,
    "np.cos": np.cos,
    "np.tan": np.tan,
    "np.abs": np.abs,
}

_SPECS: dict[str, _Spec] = {
    "np.linspace": _Spec(("start", "stop", "num", "endpoint"), 2, ("num", "endpoint"), example="np.linspace(0, 1, 11)"),
    "np.logspace": _Spec(
        ("start", "stop", "num", "endpoint", "base"), 2, ("num", "endpoint", "base"), example="np.logspace(-3, 0, 4)"
    ),
    "np.geomspace": _Spec(
        ("start", "stop", "num", "endpoint"), 2, ("num", "endpoint"), example="np.geomspace(1, 1000, 4)"
    ),
    "np.arange": _Spec(("start", "stop", "step"), 1, example="np.arange(0, 1, 0.1)"),
    "np.array": _Spec(("values",), 1, example="np.array([1, 2, 3])"),
    **{name: _Spec(("x",), 1, example=f"{name}(0.5)") for name in _ELEMENTWISE},
    "np.round": _Spec(("x", "decimals"), 1, example="np.round(2.345, 2)"),
    "abs": _Spec(("x",), 1, example="abs(-1)"),
    "min": _Spec((), 1, variadic=True, example="min(1, 2)"),
    "max": _Spec((), 1, variadic=True, example="max(1, 2)"),
    "round": _Spec(("x", "ndigits"), 1, example="round(2.345, 2)"),
}
#: The functions an expression may call; ``numpy.xxx`` is the same as ``np.xxx``.
ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(_SPECS)

_NP_CONSTANTS: dict[str, float] = {"np.pi": math.pi, "np.e": math.e}
_BUILTIN_NAMES: dict[str, float] = {"pi": math.pi, "e": math.e}
_RESERVED_NAMES = frozenset({"np", "numpy", *(f for f in _SPECS if "." not in f)})

_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignments (:=) are not allowed",
    ast.Compare: "comparisons are not allowed",
    ast.BoolOp: "'and' and 'or' are not allowed",
    ast.IfExp: "conditional expressions (... if ... else ...) are not allowed",
    ast.Set: "sets {...} are not allowed",
    ast.Dict: "dictionaries {...} are not allowed",
    ast.Subscript: "indexing and slicing ([...]) are not allowed",
    ast.Slice: "slicing is not allowed",
    ast.Starred: "unpacking with * is not allowed",
    ast.Await: "'await' is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
}


# -- small helpers -------------------------------------------------------------
def _short(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut in the middle when long, for quoting in messages."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 20] + " ... " + text[-15:]


def _amount(n: int | float) -> str:
    """A count for messages: exact when readable (``1000000000000``), else ``1e+300``."""
    return str(int(n)) if n < 1e15 else f"about 10**{int(math.log10(n))}"


def _is_real(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _size(v: Any) -> int:
    return v.size if isinstance(v, np.ndarray) else 1


def _describe(v: Any) -> str:
    """What a value is, in words, for messages (never the whole value)."""
    if isinstance(v, np.ndarray):
        kind = {"b": "True/False", "U": "text", "c": "complex", "f": "float", "i": "whole-number"}.get(
            v.dtype.kind, str(v.dtype)
        )
        return f"a list of {v.size} {kind} values"
    if isinstance(v, bool):
        return f"{v}"
    if isinstance(v, str):
        return "a text"
    if isinstance(v, int) and v.bit_length() > 64:
        return "a very large whole number"
    return repr(v)


def _nonfinite(v: Any) -> str | None:
    """A description of the first non-finite value in ``v``, or ``None``."""
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "fc":
            return None
        bad = ~np.isfinite(v)
        if not bad.any():
            return None
        i = int(np.argmax(bad))
        return f"value {i} of the result is {_what_nonfinite(v[i].item())}"
    if isinstance(v, (float, complex)) and not cmath.isfinite(v):
        return f"the result is {_what_nonfinite(v)}"
    return None


def _what_nonfinite(v: float | complex) -> str:
    if cmath.isnan(v):
        return f"not a number ({v!r})"
    return f"infinite ({v!r})"


def _dotted(node: ast.AST) -> str | None:
    """``np.linspace`` for an ``Attribute`` chain ending in a ``Name``, else ``None``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _canonical(dotted: str) -> str:
    return "np." + dotted[len("numpy.") :] if dotted.startswith("numpy.") else dotted


def _constants(names: Mapping[str, Any] | None) -> dict[str, int | float | complex]:
    """The names an expression may use: ``pi``, ``e`` and the caller's, checked."""
    out: dict[str, int | float | complex] = dict(_BUILTIN_NAMES)
    for key, value in (names or {}).items():
        if not isinstance(key, str) or not key.isidentifier() or keyword.iskeyword(key) or key.startswith("_"):
            raise ExpressionError(
                f"Name {key!r} in `names` is not a plain identifier; use letters, digits and underscores, "
                "not starting with a digit or underscore."
            )
        if key in _RESERVED_NAMES:
            raise ExpressionError(f"Name {key!r} in `names` would hide a function or module; rename it.")
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Number):
            raise ExpressionError(f"Name {key!r} in `names` is {value!r}, not a number; give a number.")
        if isinstance(value, numbers.Integral):
            value = int(value)
            if value.bit_length() > MAX_INT_BITS:
                raise ExpressionError(f"Name {key!r} in `names` is a whole number of more than {MAX_INT_BITS} bits.")
        elif isinstance(value, numbers.Real):
            value = float(value)
        else:
            value = complex(value)  # type: ignore[arg-type]
        if _nonfinite(value):
            raise ExpressionError(f"Name {key!r} in `names` is {value!r}, not finite; give a finite number.")
        out[key] = value
    return out


def _parse(text: str) -> ast.Expression:
    """Parse ``text`` (already stripped and short enough), as ExpressionError on failure."""
    quoted = f'"{_short(text)}"'
    hint = "write a number, a list such as [1, 2, 3] or a call such as np.linspace(0, 1, 11)"
    if not text:
        raise ExpressionError(f"The expression is empty; {hint}.")
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as e:
        msg = e.msg or "invalid syntax"
        if "integer string conversion" in msg:
            raise ExpressionError(
                f"{quoted}: a whole number in it has more than 4300 digits; whole numbers may have at most "
                f"{MAX_INT_BITS} bits (about {int(MAX_INT_BITS * math.log10(2))} digits)."
            ) from None
        lines = text.splitlines() or [text]
        lineno = e.lineno if e.lineno and 0 < e.lineno <= len(lines) else 1
        line = lines[lineno - 1]
        if e.offset is None:
            where = ""
        elif e.offset == 0 or e.offset > len(line):
            where = " at the end" if lineno == len(lines) else f" at the end of line {lineno}"
        else:
            where = f" at column {e.offset}" if len(lines) == 1 else f" at line {lineno}, column {e.offset}"
            near = line[e.offset - 1 : e.offset + 9]
            if near.strip():
                where += f' (near "{near}")'
        raise ExpressionError(f"{quoted}: {msg}{where}; {hint}.") from None
    except (MemoryError, RecursionError, ValueError) as e:
        # CPython's parser gives up on very deep nesting with MemoryError or
        # RecursionError (and ValueError for null bytes on some versions).
        what = "contains a null byte" if isinstance(e, ValueError) else "is nested too deeply to read"
        raise ExpressionError(f"{quoted}: the expression {what}; {hint}.") from None


def _check_shape(tree: ast.AST, text: str) -> None:
    """Refuse trees with too many nodes or too deep nesting, without recursion."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise ExpressionError(
                f'"{_short(text)}": the expression is too long (more than {MAX_NODES} syntax nodes); '
                "write it more simply, e.g. with np.linspace or np.arange instead of a long list."
            )
        if depth > MAX_DEPTH:
            raise ExpressionError(
                f'"{_short(text)}": the expression is nested too deeply (more than {MAX_DEPTH} levels); '
                "write it more simply."
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


# -- the evaluator ---------------------------------------------------------------
class _Evaluator:
    """Checks a parsed expression against the allow-list, then evaluates it.

    Recursion depth is bounded by :data:`MAX_DEPTH` (checked beforehand).
    """

    def __init__(self, text: str, names: dict[str, int | float | complex], max_size: int) -> None:
        self.text = text
        self.names = names
        self.max_size = max_size
        self.budget = max(_WORK_FACTOR * max_size, _MIN_WORK)
        self.work = 0

    # -- messages --------------------------------------------------------
    def message(self, node: ast.AST, problem: str, hint: str | None = None) -> str:
        """``"<offending text>": <problem>; <hint>.``"""
        segment = ast.get_source_segment(self.text, node) or ast.unparse(node)
        message = f'"{_short(segment)}": {problem}'
        if hint:
            message += f"; {hint}"
        return message + "."

    def fail(self, node: ast.AST, problem: str, hint: str | None = None) -> NoReturn:
        raise ExpressionError(self.message(node, problem, hint))

    def names_hint(self) -> str:
        return "allowed names: " + ", ".join(self.names)

    @staticmethod
    def functions_hint() -> str:
        return "allowed functions: " + ", ".join(ALLOWED_FUNCTIONS)

    def grammar_hint(self) -> str:
        return (
            "an expression may use numbers, quoted text, the names "
            + ", ".join(self.names)
            + ", the operators "
            + " ".join(ALLOWED_OPERATORS)
            + ", parentheses, lists [a, b, ...] and the functions "
            + ", ".join(ALLOWED_FUNCTIONS)
        )

    # -- static check: nothing is computed here -----------------------------
    def check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            self.check(node.body)
        elif isinstance(node, ast.Constant):
            self.check_constant(node)
        elif isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARYOPS:
                symbol = _OTHER_OPERATORS.get(type(node.op), "?")
                self.fail(node, f"operator {symbol!r} is not allowed", self.grammar_hint())
            self.check(node.operand)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self.fail(
                    node,
                    f"operator {_OTHER_OPERATORS.get(type(node.op), '?')!r} is not allowed",
                    "allowed operators: " + " ".join(ALLOWED_OPERATORS),
                )
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for elt in node.elts:
                self.check(elt)
        elif isinstance(node, ast.Call):
            self.check_call(node)
        elif isinstance(node, ast.Attribute):
            self.check_attribute(node)
        elif isinstance(node, ast.Subscript):
            self.check(node.value)  # report the innermost problem first
            self.fail(node, _REFUSED[ast.Subscript], self.grammar_hint())
        else:
            problem = _REFUSED.get(type(node), f"{type(node).__name__} expressions are not allowed")
            self.fail(node, problem, self.grammar_hint())

    def check_constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool) or isinstance(v, str):
            return
        if isinstance(v, int):
            if v.bit_length() > MAX_INT_BITS:
                self.fail(node, f"the number has more than {MAX_INT_BITS} bits", "write a smaller number")
            return
        if isinstance(v, (float, complex)):
            if _nonfinite(v):
                self.fail(node, "the number is too large (not finite)", "numbers must be below about 1.8e308")
            return
        what = {bytes: "bytes", type(None): "None", type(...): "..."}.get(type(v), type(v).__name__)
        self.fail(node, f"{what} is not allowed", self.grammar_hint())

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name in self.names:
            return
        if name in ("np", "numpy"):
            self.fail(node, f"{name!r} may only be used to call its allowed functions", self.functions_hint())
        if name in _SPECS:
            self.fail(node, f"{name!r} is a function; call it, e.g. {_SPECS[name].example}")
        if name == self.text.strip():  # a word typed where a value goes: say first what is expected
            self.fail(
                node,
                "not a number; type a number (e.g. 1e14), a list (e.g. [1, 2, 5]) or np.linspace(0, 1, 11)",
                self.names_hint(),
            )
        self.fail(node, f"unknown name {name!r}", self.names_hint())

    def check_attribute(self, node: ast.Attribute) -> None:
        dotted = _dotted(node)
        if dotted is None:
            self.check(node.value)  # report the innermost problem first
            self.fail(node, f"attribute {node.attr!r} is not allowed", self.grammar_hint())
        canon = _canonical(dotted)
        if canon in _NP_CONSTANTS:
            return
        if canon in _SPECS:
            self.fail(node, f"{canon} is a function; call it, e.g. {_SPECS[canon].example}")
        root = dotted.split(".", 1)[0]
        if root in ("np", "numpy"):
            self.fail(node, f"{dotted!r} is not allowed", self.functions_hint() + ", and the constants np.pi, np.e")
        self.fail(node, f"attribute {node.attr!r} of {root!r} is not allowed", self.grammar_hint())

    def check_call(self, node: ast.Call) -> None:
        dotted = _dotted(node.func)
        if dotted is None:
            self.check(node.func)  # report the innermost problem first
            self.fail(node, "calling the result of an expression is not allowed", self.functions_hint())
        canon = _canonical(dotted)
        spec = _SPECS.get(canon)
        if spec is None:
            self.fail(node, f"calling {dotted!r} is not allowed", self.functions_hint())
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "unpacking with * is not allowed", f"write the arguments out, e.g. {spec.example}")
        for kw in node.keywords:
            if kw.arg is None:
                self.fail(kw, "unpacking with ** is not allowed", f"write the arguments out, e.g. {spec.example}")
            if kw.arg not in spec.keywords:
                allowed = (
                    f"allowed keywords: {', '.join(spec.keywords)}" if spec.keywords else f"{canon} takes no keywords"
                )
                self.fail(kw, f"keyword {kw.arg!r} is not allowed for {canon}", allowed)
        n = len(node.args)
        if spec.variadic:
            if n < 1:
                self.fail(node, f"{canon} needs at least one value", f"e.g. {spec.example}")
        else:
            signature = f"{canon}({', '.join(spec.params)})"
            if n < spec.required:
                self.fail(node, f"{canon} needs at least {spec.required} argument(s)", f"call it as {signature}")
            if n > len(spec.params):
                self.fail(node, f"{canon} takes at most {len(spec.params)} argument(s)", f"call it as {signature}")
            for kw in node.keywords:
                if spec.params.index(kw.arg) < n:  # type: ignore[arg-type]
                    self.fail(kw, f"{kw.arg!r} is given twice", f"call it as {signature}")
        for arg in node.args:
            self.check(arg)
        for kw in node.keywords:
            self.check(kw.value)

    # -- evaluation -------------------------------------------------------
    def charge(self, node: ast.AST, n: int) -> None:
        """Account for making an array of ``n`` values, refusing it when too many."""
        if n > self.max_size:
            self.fail(node, f"would make {n} values; at most {self.max_size} are allowed", "use fewer values")
        self.work += n
        if self.work > self.budget:
            self.fail(
                node,
                f"computing this expression would make more than {self.budget} array values in total",
                "simplify it or use fewer values",
            )

    def finish(self, node: ast.AST, r: Any) -> Value:
        """Turn numpy scalars into Python scalars and refuse non-finite or oversized results."""
        if isinstance(r, np.ndarray) and r.ndim == 0:
            r = r[()]
        if isinstance(r, np.generic):
            r = r.item()
        if isinstance(r, np.ndarray):
            if r.ndim != 1 or r.dtype.kind not in "biufcU":
                self.fail(node, f"gives an array of shape {r.shape} and type {r.dtype}", "results must be flat lists")
            if r.size == 0:
                self.fail(node, "gives no values", "check the arguments")
            if r.size > self.max_size:
                self.fail(node, f"gives {r.size} values; at most {self.max_size} are allowed", "use fewer values")
        elif isinstance(r, int) and not isinstance(r, bool):
            if r.bit_length() > MAX_INT_BITS:
                self.fail(node, f"the result has more than {MAX_INT_BITS} bits", "whole numbers must be smaller")
        elif not isinstance(r, (bool, float, complex, str)):
            self.fail(node, f"gives a value of type {type(r).__name__}", self.grammar_hint())
        bad = _nonfinite(r)
        if bad:
            self.fail(node, bad, "results must be finite numbers")
        return r

    def guard_int64(self, node: ast.AST, r: Any, shadow: Callable[[], Any]) -> None:
        """Refuse a wrapped-around integer array: ``shadow()`` recomputes it in float64."""
        if isinstance(r, np.ndarray) and r.dtype.kind in "iu":
            f = shadow()
            if not np.all(np.isfinite(f)) or np.any(np.abs(f) >= _INT64_LIMIT):
                self.fail(
                    node,
                    "the result does not fit in 64-bit whole numbers",
                    "write one of the numbers as a float (e.g. 2.0 instead of 2) to compute in floating point",
                )

    def numeric(self, node: ast.AST, v: Any, what: str) -> None:
        """Refuse text and booleans where a number or numeric array is needed."""
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "iufc":
                return
            v = v.flat[0]
        if isinstance(v, (bool, np.bool_)):
            self.fail(node, f"True/False cannot be used {what}", "write 1 or 0 if you mean a number")
        if isinstance(v, str):
            self.fail(node, f"text cannot be used {what}", "only numbers and lists of numbers can")

    def eval(self, node: ast.AST) -> Value:
        if isinstance(node, ast.Expression):
            return self.eval(node.body)
        if isinstance(node, ast.Constant):
            return node.value  # checked: bool, int, float, complex or str
        if isinstance(node, ast.Name):
            return self.names[node.id]
        if isinstance(node, ast.Attribute):
            return _NP_CONSTANTS[_canonical(_dotted(node) or "")]
        if isinstance(node, ast.UnaryOp):
            return self.eval_unary(node)
        if isinstance(node, ast.BinOp):
            return self.eval_binop(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.eval_sequence(node)
        if isinstance(node, ast.Call):
            return self.eval_call(node)
        self.fail(node, "is not allowed", self.grammar_hint())  # unreachable after check()

    def eval_unary(self, node: ast.UnaryOp) -> Value:
        v = self.eval(node.operand)
        symbol, fn = _UNARYOPS[type(node.op)]
        self.numeric(node, v, f"with unary {symbol}")
        if isinstance(v, np.ndarray):
            self.charge(node, v.size)
        r = fn(v)
        self.guard_int64(node, r, lambda: fn(np.asarray(v, dtype=float)))
        return self.finish(node, r)

    def eval_binop(self, node: ast.BinOp) -> Value:
        a = self.eval(node.left)
        b = self.eval(node.right)
        symbol, fn = _BINOPS[type(node.op)]
        self.numeric(node, a, f"with {symbol}")
        self.numeric(node, b, f"with {symbol}")
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.size != b.size:
            self.fail(node, f"lists of different lengths ({a.size} and {b.size}) cannot be combined with {symbol}")
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            self.charge(node, max(_size(a), _size(b)))
        if symbol in ("/", "//", "%") and np.any(np.asarray(b) == 0):
            self.fail(node, "division by zero", "check the divisor")
        if symbol == "**":
            self.check_power(node, a, b)
        try:
            r = fn(a, b)
        except ZeroDivisionError:
            self.fail(node, "division by zero", "check the divisor")
        except OverflowError as e:
            raise ExpressionError(
                self.message(node, f"a number is too large ({str(e).rstrip('.')})", _OVERFLOW_HINT)
            ) from e
        except (ArithmeticError, ValueError, TypeError) as e:
            raise ExpressionError(self.message(node, f"cannot compute {symbol}: {str(e).rstrip('.')}")) from e
        self.guard_int64(node, r, lambda: fn(np.asarray(a, dtype=float), np.asarray(b, dtype=float)))
        return self.finish(node, r)

    def check_power(self, node: ast.AST, a: Any, b: Any) -> None:
        """Refuse whole-number powers that would be huge, before computing them."""
        if not (isinstance(a, int) and isinstance(b, int)) or b <= 0 or abs(a) <= 1:
            return
        if b.bit_length() > 64 or b * math.log2(abs(a)) > MAX_INT_BITS:
            try:
                d = float(b) * math.log10(abs(a))
                digits = f"about {d:.0f}" if d < 1e9 else f"about {d:.3g}"
            except OverflowError:
                digits = "an astronomical number of"
            self.fail(
                node,
                f"the result would have {digits} digits; whole numbers may have at most "
                f"{MAX_INT_BITS} bits (about {int(MAX_INT_BITS * math.log10(2))} digits)",
                "check the exponent, or write a float base (e.g. 10.0**300) for an approximate value",
            )

    def eval_sequence(self, node: ast.List | ast.Tuple) -> np.ndarray:
        values: list[Any] = []
        for elt in node.elts:
            v = self.eval(elt)
            if isinstance(v, np.ndarray):
                self.fail(
                    elt,
                    "a list may hold single values only, not lists or arrays",
                    "parameter values are single values and scans need a flat list such as [1, 2, 3]",
                )
            values.append(v)
        if not values:
            self.fail(node, "an empty list has no values", "give at least one value, e.g. [1, 2, 3]")
        self.charge(node, len(values))
        kinds = {type(v) for v in values}
        if str in kinds or bool in kinds:
            if len(kinds) > 1:
                self.fail(node, "a list may not mix text, True/False and numbers", "give values of one kind")
            return np.array(values, dtype=str if str in kinds else bool)
        if kinds == {int}:
            if any(not -_INT64_LIMIT <= v < _INT64_LIMIT for v in values):
                self.fail(node, "a whole number in the list does not fit in 64 bits", "write it as a float, e.g. 1e20")
            return np.array(values, dtype=np.int64)
        try:
            r = np.array(values, dtype=np.complex128 if complex in kinds else np.float64)
        except OverflowError:
            self.fail(node, "a number in the list is too large for a float", "numbers must be below about 1.8e308")
        return self.finish(node, r)  # type: ignore[return-value]

    def eval_call(self, node: ast.Call) -> Value:
        canon = _canonical(_dotted(node.func) or "")
        spec = _SPECS[canon]
        args: list[tuple[ast.AST, Any]] = []
        for arg in node.args:
            v = self.eval(arg)
            if spec.variadic and len(node.args) > 1 and not _is_real(v):
                self.fail(
                    arg, f"{canon} of several values needs real numbers, not {_describe(v)}", f"e.g. {spec.example}"
                )
            args.append((arg, v))
        bound: dict[str, tuple[ast.AST, Any]] = dict(zip(spec.params, args))
        for kw in node.keywords:
            bound[kw.arg] = (kw, self.eval(kw.value))  # type: ignore[index]
        try:
            if spec.variadic:
                r = self.call_minmax(node, canon, args)
            else:
                r = self.dispatch().get(canon, self.call_elementwise)(node, canon, bound)
        except ExpressionError:
            raise
        except OverflowError as e:
            raise ExpressionError(
                self.message(node, f"a number is too large ({str(e).rstrip('.')})", _OVERFLOW_HINT)
            ) from e
        except (ArithmeticError, ValueError, TypeError) as e:
            raise ExpressionError(self.message(node, f"{canon} failed: {str(e).rstrip('.')}")) from e
        return self.finish(node, r)

    def dispatch(self) -> dict[str, Callable[[ast.Call, str, dict[str, tuple[ast.AST, Any]]], Any]]:
        """The implementation of each allowed function (elementwise ones are the default)."""
        return {
            "np.linspace": self.call_np_linspace,
            "np.logspace": self.call_np_logspace,
            "np.geomspace": self.call_np_geomspace,
            "np.arange": self.call_np_arange,
            "np.array": self.call_np_array,
            "np.round": self.call_np_round,
            "abs": self.call_abs,
            "round": self.call_round,
        }

    # -- argument helpers -------------------------------------------------
    def real(self, arg: tuple[ast.AST, Any], what: str) -> int | float:
        """A real number for a numpy function; whole numbers beyond int64 become floats."""
        node, v = arg
        if not _is_real(v):
            self.fail(node, f"{what} must be a real number, not {_describe(v)}")
        if isinstance(v, int) and abs(v) >= _INT64_LIMIT:
            try:
                return float(v)  # numpy would make an object array of it
            except OverflowError:
                self.fail(node, f"{what} is too large", "numbers must be below about 1.8e308")
        return v  # type: ignore[no-any-return]

    def count(self, call: ast.Call, arg: tuple[ast.AST, Any], canon: str) -> int:
        node, v = arg
        if not _is_real(v) or (isinstance(v, float) and v != int(v)):
            self.fail(node, f"num must be a whole number, not {_describe(v)}", f"e.g. {_SPECS[canon].example}")
        if v > self.max_size:
            self.fail(call, f"would make {_amount(v)} values; at most {self.max_size} are allowed", "use fewer values")
        if v < 1:
            self.fail(node, f"num = {v!r} makes no values", "give at least 1")
        return int(v)

    def flag(self, arg: tuple[ast.AST, Any], what: str) -> bool:
        node, v = arg
        if not isinstance(v, bool):
            self.fail(node, f"{what} must be True or False, not {_describe(v)}")
        return v

    def ndigits(self, arg: tuple[ast.AST, Any] | None) -> int | None:
        if arg is None:
            return None
        node, v = arg
        if not isinstance(v, int) or isinstance(v, bool) or abs(v) > _MAX_NDIGITS:
            self.fail(node, f"the number of digits must be a whole number from -{_MAX_NDIGITS} to {_MAX_NDIGITS}")
        return v

    def operand(self, arg: tuple[ast.AST, Any], canon: str) -> Any:
        """A number or numeric array for an elementwise function (huge ints become floats)."""
        node, v = arg
        self.numeric(node, v, f"in {canon}")
        if isinstance(v, int) and abs(v) >= _INT64_LIMIT:
            return self.real(arg, "the number")
        return v

    # -- the functions ----------------------------------------------------
    def _spaced(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "start": self.real(bound["start"], "start"),
            "stop": self.real(bound["stop"], "stop"),
        }
        if "num" in bound:
            kw["num"] = self.count(node, bound["num"], canon)
        if "endpoint" in bound:
            kw["endpoint"] = self.flag(bound["endpoint"], "endpoint")
        self.charge(node, kw.get("num", 50))
        return kw

    def call_np_linspace(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        return np.linspace(**self._spaced(node, canon, bound))

    def call_np_geomspace(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        kw = self._spaced(node, canon, bound)
        if kw["start"] == 0 or kw["stop"] == 0:
            self.fail(node, "a geometric sequence cannot start or stop at 0", "use np.linspace, or a positive start")
        return np.geomspace(**kw)

    def call_np_logspace(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        kw = self._spaced(node, canon, bound)
        if "base" in bound:
            kw["base"] = self.real(bound["base"], "base")
        return np.logspace(**kw)

    def call_np_arange(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        args = [bound[p] for p in ("start", "stop", "step") if p in bound]
        roles = {1: ("stop",), 2: ("start", "stop"), 3: ("start", "stop", "step")}[len(args)]
        for (arg, v), role in zip(args, roles):
            if not _is_real(v):
                self.fail(arg, f"{role} must be a real number, not {_describe(v)}")
        given = dict(zip(roles, (v for _, v in args)))
        start, stop, step = given.get("start", 0), given["stop"], given.get("step", 1)
        if step == 0:
            self.fail(node, "the step is 0", "give a step that is not 0, e.g. np.arange(0, 1, 0.1)")
        if all(isinstance(x, int) for x in (start, stop, step)):
            length = max(0, -((start - stop) // step))  # exact ceil((stop - start) / step)
        else:
            try:
                q = (float(stop) - float(start)) / float(step)
            except OverflowError:
                q = math.inf
            if not math.isfinite(q):
                self.fail(node, "would make too many values", f"at most {self.max_size} are allowed")
            length = max(0, math.ceil(q))
        if length > self.max_size:
            self.fail(
                node, f"would make {_amount(length)} values; at most {self.max_size} are allowed", "use a larger step"
            )
        if length == 0:
            self.fail(node, "makes no values", "check the order of start and stop and the sign of the step")
        self.charge(node, length)
        # numpy would make an object array of whole numbers beyond int64.
        start, stop, step = (
            float(x) if isinstance(x, int) and abs(x) >= _INT64_LIMIT else x for x in (start, stop, step)
        )
        return np.arange(start, stop, step)

    def call_np_array(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        arg, v = bound["values"]
        if not isinstance(v, np.ndarray):
            self.fail(node, f"np.array needs a list, not {_describe(v)}", "e.g. np.array([1, 2, 3])")
        return v

    def call_np_round(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        x = self.operand(bound["x"], canon)
        digits = self.ndigits(bound.get("decimals")) or 0
        self.charge(node, _size(x))
        return np.round(x, digits)

    def call_elementwise(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        x = self.operand(bound["x"], canon)
        self.charge(node, _size(x))
        fn = _ELEMENTWISE[canon]
        r = fn(x)
        self.guard_int64(node, r, lambda: fn(np.asarray(x, dtype=float)))
        return r

    def call_abs(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        x = self.operand(bound["x"], canon)
        if isinstance(x, np.ndarray):
            self.charge(node, x.size)
            r = np.abs(x)
            self.guard_int64(node, r, lambda: np.abs(x.astype(float)))
            return r
        return abs(x)

    def call_round(self, node: ast.Call, canon: str, bound: dict[str, tuple[ast.AST, Any]]) -> Any:
        x = self.operand(bound["x"], canon)
        digits = self.ndigits(bound.get("ndigits"))
        if isinstance(x, np.ndarray):
            self.charge(node, x.size)
            return np.round(x, digits or 0)
        if isinstance(x, complex):
            self.fail(node, "a complex number cannot be rounded")
        return round(x, digits)

    def call_minmax(self, node: ast.Call, canon: str, args: list[tuple[ast.AST, Any]]) -> Any:
        if len(args) > 1:
            return (min if canon == "min" else max)(v for _, v in args)
        arg, v = args[0]
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "iuf":
            self.fail(
                node,
                f"{canon} needs a list of real numbers or several numbers, not {_describe(v)}",
                f"e.g. {canon}([1, 2])",
            )
        return (np.min if canon == "min" else np.max)(v)


def evaluate(
    text: str,
    *,
    names: Mapping[str, float] | None = None,
    max_size: int = 10_000_000,
) -> int | float | complex | bool | str | np.ndarray:
    """Evaluate a value expression safely, without :func:`eval`.

    Parameters
    ----------
    text
        What a person typed, e.g. ``"np.linspace(0.5, 1.5, 41)"``, ``"[0.05, 0.1]"``
        or ``"800*nm"``.  Leading and trailing white space is ignored.
    names
        Extra constants, typically the units of a job type (``{"nm": 1e-9}``).
        ``pi`` and ``e`` are always defined, and may be redefined here.  Keys
        must be plain identifiers that do not hide ``np``, ``numpy`` or an
        allowed function; values must be finite numbers.
    max_size
        The most values any array may have, checked before the array is made.
        All arrays made while evaluating may hold at most
        ``4 * max_size`` (at least 100,000) values together.

    Returns
    -------
    int, float, complex, bool, str or numpy.ndarray
        A Python scalar, or a non-empty 1-D array (``int64``, ``float64``,
        ``complex128``, ``bool`` or ``str``) for lists and array functions.
        Numeric results are always finite.

    Raises
    ------
    ExpressionError
        The text does not parse, uses anything outside the allow-list, would
        be too large or too costly to compute, or gives a non-finite value.
        The message quotes the offending part of the text and says what is
        allowed.
    TypeError
        ``text`` is not a string.

    Examples
    --------
    >>> evaluate("2*pi*1e-3")
    0.006283185307179587
    >>> evaluate("np.linspace(0, 1, 5)", names={"nm": 1e-9})
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> evaluate("800*nm", names={"nm": 1e-9})
    8.000000000000001e-07
    >>> evaluate("[1, 2]*3")
    array([3, 6])
    """
    if not isinstance(text, str):
        raise TypeError(f"evaluate() needs the expression as a str, not {type(text).__name__}.")
    if isinstance(max_size, bool) or not isinstance(max_size, numbers.Integral) or max_size < 1:
        raise ValueError(f"max_size = {max_size!r} must be a whole number >= 1.")
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionError(
            f'"{_short(text)}": the expression has {len(text)} characters; at most {MAX_TEXT_LENGTH} are '
            "allowed. Use np.linspace, np.arange or np.geomspace instead of long lists."
        )
    text = text.strip()
    constants = _constants(names)
    tree = _parse(text)
    _check_shape(tree, text)
    evaluator = _Evaluator(text, constants, int(max_size))
    evaluator.check(tree)
    with np.errstate(all="ignore"):  # every result is checked for finiteness instead
        result = evaluator.eval(tree)
    if isinstance(result, np.ndarray) and result.size > max_size:  # pragma: no cover - charged before
        evaluator.fail(tree.body, f"would make {result.size} values; at most {max_size} are allowed")
    return result
