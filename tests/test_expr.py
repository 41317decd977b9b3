"""Tests of :mod:`workbench.expr`: value expressions are evaluated safely and exactly."""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest

from workbench.errors import ExpressionError
from workbench.expr import ALLOWED_FUNCTIONS, evaluate

# Not `from workbench import expr`: the package exports `wb.expr` (the Expr
# value source) under the same name as this module.
expr = importlib.import_module("workbench.expr")

UNITS = {"nm": 1e-9, "fs": 41.34}


# -- correct values ---------------------------------------------------------------
ARRAYS = [
    ("np.linspace(0.5, 1.5, 41)", np.linspace(0.5, 1.5, 41)),
    ("np.linspace(0, 1)", np.linspace(0, 1)),
    ("np.linspace(0, 1, 5, False)", np.linspace(0, 1, 5, False)),
    ("numpy.linspace(0, 1, num=5, endpoint=False)", np.linspace(0, 1, num=5, endpoint=False)),
    ("np.linspace(0, 1, 1e3)", np.linspace(0, 1, 1000)),
    ("np.logspace(-3, 0, 4)", np.logspace(-3, 0, 4)),
    ("np.logspace(0, 3, 4, base=2)", np.logspace(0, 3, 4, base=2)),
    ("np.logspace(0, 1, num=3, endpoint=False, base=3)", np.logspace(0, 1, num=3, endpoint=False, base=3)),
    ("np.geomspace(1e13, 1e15, 9)", np.geomspace(1e13, 1e15, 9)),
    ("np.geomspace(1, 1000, num=3, endpoint=False)", np.geomspace(1, 1000, num=3, endpoint=False)),
    ("np.geomspace(-1, -100, 3)", np.geomspace(-1, -100, 3)),
    ("np.arange(5)", np.arange(5)),
    ("np.arange(2, 10, 3)", np.arange(2, 10, 3)),
    ("np.arange(5, 0, -1)", np.arange(5, 0, -1)),
    ("np.arange(0, 1, 0.1)", np.arange(0, 1, 0.1)),
    ("np.arange(0.5, 3)", np.arange(0.5, 3)),
    ("np.arange(1, 0, -0.25)", np.arange(1, 0, -0.25)),
    ("np.array([1, 2, 3])", np.array([1, 2, 3])),
    ("[0.05, 0.1, 0.2]", np.array([0.05, 0.1, 0.2])),
    ("(1, 2, 3)", np.array([1, 2, 3])),
    ("[1, 2.5]", np.array([1.0, 2.5])),
    ("[1j, 2]", np.array([1j, 2])),
    ("[-1, 2**70, 0.5]", np.array([-1, 2.0**70, 0.5])),
    ("2*np.linspace(0, 1, 5)", 2 * np.linspace(0, 1, 5)),
    ("np.linspace(0, 1, 5)**2", np.linspace(0, 1, 5) ** 2),
    ("2**np.arange(4)", 2 ** np.arange(4)),
    ("np.linspace(0, 1, 5) + np.linspace(1, 2, 5)", np.linspace(0, 1, 5) + np.linspace(1, 2, 5)),
    ("1/np.linspace(1, 2, 5)", 1 / np.linspace(1, 2, 5)),
    ("np.arange(10) // 3", np.arange(10) // 3),
    ("np.arange(10) % 3", np.arange(10) % 3),
    ("np.arange(10) / 4", np.arange(10) / 4),
    ("-np.arange(3)", -np.arange(3)),
    ("+np.linspace(0, 1, 3)", np.linspace(0, 1, 3)),
    ("[1, 2]*3", np.array([3, 6])),
    ("[1, 2] + [10, 20]", np.array([11, 22])),
    ("np.sin(2*pi*np.linspace(0, 1, 9))", np.sin(2 * np.pi * np.linspace(0, 1, 9))),
    ("np.cos([0, 1])", np.cos([0, 1])),
    ("np.tan([0, 0.5])", np.tan([0, 0.5])),
    ("np.sqrt(np.array([1, 4, 9]))", np.sqrt(np.array([1, 4, 9]))),
    ("np.exp(np.linspace(-1, 1, 3))", np.exp(np.linspace(-1, 1, 3))),
    ("np.log(np.geomspace(1, 100, 3))", np.log(np.geomspace(1, 100, 3))),
    ("np.log10([1, 10, 100])", np.log10([1, 10, 100])),
    ("np.abs(np.linspace(-1, 1, 5))", np.abs(np.linspace(-1, 1, 5))),
    ("abs(np.arange(-2, 3))", np.abs(np.arange(-2, 3))),
    ("np.round(np.linspace(0, 1, 4), 2)", np.round(np.linspace(0, 1, 4), 2)),
    ("round(np.linspace(0, 1, 4), 1)", np.round(np.linspace(0, 1, 4), 1)),
    ("np.sqrt([-1+0j, 4])", np.sqrt([-1 + 0j, 4])),
    ("800*nm*np.linspace(1, 2, 3)", 800 * 1e-9 * np.linspace(1, 2, 3)),
]


@pytest.mark.parametrize("text, expected", ARRAYS, ids=[t for t, _ in ARRAYS])
def test_array_forms_equal_numpy(text: str, expected: np.ndarray) -> None:
    result = evaluate(text, names=UNITS)
    assert isinstance(result, np.ndarray)
    assert result.ndim == 1
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


SCALARS = [
    ("0.5", 0.5),
    ("2*pi*1e-3", 2 * math.pi * 1e-3),
    ("800*nm", 800 * 1e-9),
    ("3*fs", 3 * 41.34),
    ("-2**2", -4),
    ("(-2)**2", 4),
    ("2**3**2", 512),
    ("2 + 3*4", 14),
    ("(2 + 3)*4", 20),
    ("10 - 4 - 3", 3),
    ("2**-1", 0.5),
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("7 / 2", 3.5),
    ("6 / 3", 2.0),
    ("-7 % 3", 2),
    ("7.5 % 2", 1.5),
    ("+5", 5),
    ("--5", 5),
    ("1_000", 1000),
    ("1e3", 1000.0),
    ("0x10", 16),
    ("2**100", 2**100),
    ("2j*2", 4j),
    ("e", math.e),
    ("np.pi", math.pi),
    ("numpy.e", math.e),
    ("np.sqrt(2)", float(np.sqrt(2))),
    ("np.exp(1)", float(np.exp(1))),
    ("np.log(e)", float(np.log(math.e))),
    ("np.log10(1000)", 3.0),
    ("np.sin(pi/2)", float(np.sin(np.pi / 2))),
    ("np.abs(-3)", 3),
    ("np.round(2.567, 1)", float(np.round(2.567, 1))),
    ("abs(-2.5)", 2.5),
    ("abs(3+4j)", 5.0),
    ("round(2.567, 2)", 2.57),
    ("round(2.5)", 2),
    ("min(3, 1, 2)", 1),
    ("max(1, 2.5)", 2.5),
    ("min([3, 1, 2])", 1),
    ("max(np.linspace(0, 1, 3))", 1.0),
    ("np.sqrt(2**70)", float(np.sqrt(2.0**70))),
    ("'hello'", "hello"),
    ("'ab' 'cd'", "abcd"),
    ("True", True),
    ("False", False),
    ("  42  ", 42),
    ("(1 +\n 2)", 3),
]


@pytest.mark.parametrize("text, expected", SCALARS, ids=[t for t, _ in SCALARS])
def test_scalar_forms_give_python_scalars(text: str, expected: object) -> None:
    result = evaluate(text, names=UNITS)
    # int stays int, float stays float, and numpy scalars never escape.
    assert type(result) is type(expected)
    assert result == expected


def test_lists_of_text_and_booleans_become_arrays() -> None:
    words = evaluate("['a', 'bb']")
    assert isinstance(words, np.ndarray) and words.dtype.kind == "U"
    assert words.tolist() == ["a", "bb"]
    flags = evaluate("[True, False]")
    assert isinstance(flags, np.ndarray) and flags.dtype == bool
    assert flags.tolist() == [True, False]


def test_names_may_redefine_pi_and_e() -> None:
    assert evaluate("e", names={"e": 1.602e-19}) == 1.602e-19
    assert evaluate("np.e", names={"e": 1.602e-19}) == math.e
    assert evaluate("k", names={"k": np.int64(3)}) == 3
    assert type(evaluate("k", names={"k": np.int64(3)})) is int


@pytest.mark.parametrize(
    "names, fragment",
    [
        ({"np": 1.0}, "'np'"),
        ({"abs": 1.0}, "'abs'"),
        ({"_x": 1.0}, "'_x'"),
        ({"two words": 1.0}, "'two words'"),
        ({"lambda": 1.0}, "'lambda'"),
        ({"k": "3"}, "'k'"),
        ({"k": True}, "'k'"),
        ({"k": float("inf")}, "'k'"),
        ({"k": np.array([1.0])}, "'k'"),
    ],
)
def test_bad_names_are_refused(names: dict[str, object], fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        evaluate("1", names=names)  # type: ignore[arg-type]


def test_unknown_name_lists_the_allowed_names() -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate("800*nmm", names=UNITS)
    assert str(info.value).startswith('"nmm": unknown name \'nmm\'; allowed names: pi, e, nm, fs')


def test_refused_call_quotes_it_and_lists_the_allowed_functions() -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate("__import__('os')")
    message = str(info.value)
    assert message.startswith('"__import__(\'os\')": calling \'__import__\' is not allowed; allowed functions: ')
    for name in ALLOWED_FUNCTIONS:
        assert name in message


def test_allowed_functions_are_listed_for_uis() -> None:
    assert ALLOWED_FUNCTIONS[:5] == ("np.linspace", "np.logspace", "np.geomspace", "np.arange", "np.array")
    assert {"np.sqrt", "np.exp", "np.log", "np.log10", "np.sin", "np.cos", "np.tan", "np.abs", "np.round"} <= set(
        ALLOWED_FUNCTIONS
    )
    assert {"abs", "min", "max", "round"} <= set(ALLOWED_FUNCTIONS)


def test_expression_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        evaluate("os")


def test_text_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        evaluate(3)  # type: ignore[arg-type]


# -- refusals with a clear reason ---------------------------------------------------
REFUSED = [
    # (text, fragments the message must contain)
    ("1/0", ["1/0", "division by zero"]),
    ("1 // 0.0", ["division by zero"]),
    ("5 % 0", ["division by zero"]),
    ("np.arange(3) // 0", ["division by zero"]),
    ("0**-1", ["division by zero"]),
    ("np.log(0)", ["np.log(0)", "infinite"]),
    ("np.sqrt(-1)", ["np.sqrt(-1)", "not a number"]),
    ("np.log(np.array([1, 0]))", ["value 1", "infinite"]),
    ("np.exp(1000)", ["infinite"]),
    ("1e308*10", ["infinite"]),
    ("2.0**10000", ["too large"]),
    ("2**9000*1.0", ["too large"]),
    ("np.logspace(0, 400, 3)", ["infinite"]),
    ("np.geomspace(0, 1, 3)", ["cannot start or stop at 0"]),
    ("np.arange(5)**100", ["64-bit"]),
    ("np.arange(3) + 2**70", ["too large"]),
    ("-np.array([-9223372036854775807 - 1])", ["64-bit"]),
    ("[2**70]", ["64 bits"]),
    ("np.arange(3)**-1", ["negative integer powers"]),
    ("np.linspace(0, 1, 5) + np.linspace(0, 1, 3)", ["different lengths (5 and 3)"]),
    ("[]", ["empty list"]),
    ("[[1, 2], [3, 4]]", ["[1, 2]", "single values"]),
    ("[1, 'a']", ["mix"]),
    ("[True, 1]", ["mix"]),
    ("True + 1", ["True/False"]),
    ("-True", ["True/False"]),
    ("'a' + 'b'", ["text cannot be used"]),
    ("np.sqrt('a')", ["'a'", "text"]),
    ("np.linspace(0, 1, 5.5)", ["5.5", "whole number"]),
    ("np.linspace(0, 1, 0)", ["makes no values"]),
    ("np.linspace(0, 1, 5, 1)", ["True or False"]),
    ("np.linspace(0, 1, 5, num=3)", ["num=3", "given twice"]),
    ("np.linspace(start=0, stop=1)", ["start=0", "allowed keywords: num, endpoint"]),
    ("np.arange(1, 2, 3, 4)", ["at most 3"]),
    ("np.arange()", ["at least 1"]),
    ("np.arange(0, 1, 0)", ["step is 0"]),
    ("np.arange(5, 0)", ["makes no values"]),
    ("np.array(5)", ["needs a list"]),
    ("min()", ["at least one value"]),
    ("min(5)", ["min(5)"]),
    ("max(np.linspace(0, 1, 3), 2)", ["real numbers"]),
    ("round(1.5, 10**9)", ["number of digits"]),
    ("1 < 2", ["1 < 2", "comparisons are not allowed"]),
    ("1 and 2", ["'and' and 'or' are not allowed"]),
    ("not 1", ["'not'"]),
    ("1 << 2", ["'<<'", "allowed operators: + - * / // % **"]),
    ("1 if 1 else 2", ["conditional"]),
    ("inf", ['"inf": not a number; type a number', "allowed names: pi, e"]),
    ("abc", ['"abc": not a number; type a number (e.g. 1e14), a list (e.g. [1, 2, 5]) or np.linspace(0, 1, 11)']),
    ("2 * abc", ["unknown name 'abc'; allowed names: pi, e"]),
    ("np.linspace", ["is a function"]),
    ("abs", ["is a function"]),
    ("1 +", ['"1 +"', "at the end"]),
    ("np.linspace(0, 1,, 5)", ["column 18", "near"]),
    ("(1", ["never closed"]),
    ("", ["empty"]),
    ("   ", ["empty"]),
]


@pytest.mark.parametrize("text, fragments", REFUSED, ids=[t or "<empty>" for t, _ in REFUSED])
def test_refused_with_a_clear_message(text: str, fragments: list[str]) -> None:
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_no_numpy_warnings_leak() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for text in ("np.log(0)", "np.sqrt(-1)", "np.exp(1e5)", "np.linspace(0, 1, 3) / 0", "np.log([-1, 1])"):
            with pytest.raises(ExpressionError):
                evaluate(text)
        assert np.geterr()["divide"] == "warn"  # errstate is restored


def test_max_size_bounds_every_array() -> None:
    assert evaluate("np.linspace(0, 1, 10)", max_size=10).size == 10
    assert evaluate("np.arange(10)", max_size=10).size == 10
    for text in ("np.linspace(0, 1, 11)", "np.arange(11)", "np.arange(0, 1.1, 0.1)", "[0,1,2,3,4,5,6,7,8,9,10]"):
        with pytest.raises(ExpressionError, match="at most 10 are allowed"):
            evaluate(text, max_size=10)


def test_total_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without a total budget, a + (a + (a + ...)) holds one array per level.
    monkeypatch.setattr(expr, "_MIN_WORK", 0)
    # linspace, then three products: 4 arrays of 100 values = 4 * max_size.
    assert evaluate("np.linspace(0, 1, 100)*2*3*4", max_size=100).size == 100
    with pytest.raises(ExpressionError, match="more than 400 array values in total"):
        evaluate("np.linspace(0, 1, 100)*2*3*4*5", max_size=100)


def test_max_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        evaluate("1", max_size=0)


# -- hostile input ------------------------------------------------------------------
HOSTILE = [
    # (text, a fragment of it the message must quote)
    ("__import__('os').system('touch canary')", "__import__('os')"),
    ("__import__('subprocess').call(['touch', 'canary'])", "__import__('subprocess')"),
    ("os.system('touch canary')", "os.system"),
    ("open('canary', 'w')", "open('canary', 'w')"),
    ("open('canary', 'w').write('x')", "open('canary', 'w')"),
    ("exec(\"open('canary', 'w')\")", "exec("),
    ("eval(\"open('canary', 'w')\")", "eval("),
    ("compile('1', 'f', 'eval')", "compile("),
    ("np.save('canary', 1)", "np.save"),
    ("np.savetxt('canary', [1])", "np.savetxt"),
    ("numpy.save('canary', [1])", "numpy.save"),
    ("np.memmap('canary', mode='w+', shape=(1,))", "np.memmap"),
    ("np.lib.npyio.savetxt('canary', [1])", "np.lib.npyio.savetxt"),
    ("np.load('x')", "np.load('x')"),
    ("np.fromfile('x')", "np.fromfile"),
    ("np.loadtxt('x')", "np.loadtxt"),
    ("().__class__.__bases__[0].__subclasses__()", "().__class__"),
    ("().__class__.__base__.__subclasses__()[0]('canary')", "__class__"),
    ("object.__subclasses__()", "object.__subclasses__"),
    ("np.__dict__", "np.__dict__"),
    ("np.linspace.__globals__", "np.linspace.__globals__"),
    ("np.linspace(0, 1, 5).__class__", "np.linspace(0, 1, 5).__class__"),
    ("np.sqrt.__self__", "np.sqrt.__self__"),
    ("numpy.ctypeslib.load_library('x', '.')", "numpy.ctypeslib.load_library"),
    ("getattr(np, 'load')", "getattr(np, 'load')"),
    ("globals()", "globals()"),
    ("vars(np)", "vars(np)"),
    ("type(1)", "type(1)"),
    ("breakpoint()", "breakpoint()"),
    ("__builtins__", "__builtins__"),
    ("os", '"os"'),
    ("np", '"np"'),
    ("lambda: open('canary', 'w')", "lambda"),
    ("(lambda: open('canary', 'w'))()", "lambda"),
    ("[open('canary', 'w') for x in [1]]", "for x in"),
    ("f\"{open('canary', 'w')}\"", "f\"{open"),
    ("(c := open('canary', 'w'))", "c := open"),
    ("{open('canary', 'w')}", "{open('canary', 'w')}"),
    ("{'a': open('canary', 'w')}", "{'a': open"),
    ("1 if 1 else open('canary', 'w')", "1 if 1 else"),
    ("1 and open('canary', 'w')", "1 and open"),
    ("1 < open('canary', 'w')", "1 < open"),
    ("np.linspace(0, 1, open('canary', 'w'))", "open('canary', 'w')"),
    ("np.linspace(0, 1, num=5, **{'a': 1})", "**{'a': 1}"),
    ("np.linspace(*[0, 1])", "*[0, 1]"),
    ("np.linspace(0, 1, 5, dtype=object)", "dtype=object"),
    ("np.linspace(0, 1, 5)(0)", "np.linspace(0, 1, 5)(0)"),
    ("[1, 2][0]", "[1, 2][0]"),
    ("'abc'[0]", "'abc'[0]"),
    ("'a'.join('b')", "'a'.join"),
    ("b'canary'", "b'canary'"),
    ("None", "None"),
    ("(yield)", "yield"),
    ("10**10**10", "10**10**10"),
    ("9**9**9**9", "9**9**9"),
    ("2**10**5", "2**10**5"),
    ("np.linspace(0, 1, 10**12)", "np.linspace(0, 1, 10**12)"),
    ("np.logspace(0, 1, 1e300)", "np.logspace(0, 1, 1e300)"),
    ("np.arange(0, 1e12, 1e-6)", "np.arange(0, 1e12, 1e-6)"),
    ("np.arange(10**400)", "np.arange(10**400)"),
    ("'a'*10**9", "'a'*10**9"),
    ("[[1]]*10**9", "[1]"),
    ("1e999", "1e999"),
    ("1" * 5000, "1111111111"),
    ("0x" + "f" * 3000, "0xffffffff"),
    ("1\x00", "null bytes"),
    ("1+" * 6000 + "1", "1+1+1+1+"),  # too long
    ("(" * 100_000 + "1" + ")" * 100_000, "(((((((("),  # too long
    ("(" * 4000 + "1" + ")" * 4000, "(((((((("),  # too many parentheses for the parser
    ("[" * 300 + "]" * 300, "[[[[[[[["),
    ("-" * 9000 + "1", "--------"),  # the parser runs out of stack
    ("1+" * 3000 + "1", "1+1+1+1+"),  # the parser runs out of recursion
    ("1+" * 150 + "1", "1+1+1+1+"),  # parses, but deeper than MAX_DEPTH
    ("np.abs(" * 99 + "1" + ")" * 99, "np.abs(np.abs("),
]


@pytest.mark.parametrize("text, fragment", HOSTILE, ids=[t[:40] for t, _ in HOSTILE])
def test_hostile_input_is_refused_and_nothing_runs(
    text: str, fragment: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError) as info:
        evaluate(text)
    assert fragment in str(info.value)
    # The canary: had anything been executed, 'canary' would exist now.
    assert list(tmp_path.iterdir()) == []  # type: ignore[attr-defined]


def test_hostile_corpus_is_large_enough() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100_000 + "1" + ")" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        "-" * 100_000 + "1",
        "not " * 100_000 + "1",
        "1+" * 100_000 + "1",
        "2**" * 100_000 + "2",
        "np" + ".a" * 100_000,
        "f" + "()" * 100_000,
        "np.abs(" * 100_000 + "1" + ")" * 100_000,
    ],
    ids=["parens", "lists", "unary", "not", "sum", "power", "attributes", "calls", "functions"],
)
def test_deep_nesting_is_an_expression_error_even_without_the_length_limit(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The length limit refuses these first; without it the parser itself must
    # not turn them into a RecursionError or MemoryError crash.
    monkeypatch.setattr(expr, "MAX_TEXT_LENGTH", 10**7)
    with pytest.raises(ExpressionError):
        evaluate(text)


def test_a_long_list_within_the_limits_is_accepted() -> None:
    values = [round(0.001 * i, 3) for i in range(1200)]
    text = "[" + ", ".join(str(v) for v in values) + "]"
    assert len(text) <= expr.MAX_TEXT_LENGTH
    np.testing.assert_array_equal(evaluate(text), np.array(values))
