"""One parameter of a job type as a form field: a control that fits its kind, a value-source switch, a live preview.

A :class:`ParamField` turns what is typed into a :class:`~workbench.sources.Source`
and asks the model whether it is valid: the source is checked by building a
:class:`~workbench.scan.Scan` that sets only this parameter, so every rule
(kind, bounds, choices, finite numbers, counts, scannable or not, repeated
values) is the model's, and the message shown is the model's message.

Text is turned into values only through :func:`workbench.sources.source_from_text`
and :func:`workbench.expr.evaluate`, which check an expression against an
allow-list before computing anything: nothing typed is ever passed to ``eval``.

Update policy
-------------
Text inputs send every keystroke (``continuous_update=True``) so the preview
follows the typing.  A field whose last check took longer than
:data:`SLOW_SECONDS` (an axis of some 10^5 values or more, where the model
checks every value) switches its inputs to update on Enter or when the input
loses focus, and switches back once a check is fast again; this keeps the
kernel from queueing seconds of work behind a burst of keystrokes.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np

from .._format import format_number
from ..designs import Adaptive
from ..errors import ExpressionError, ParameterError, WorkbenchError
from ..jobtype import JobType, Problem
from ..params import Param
from ..scan import Scan
from ..sources import (
    Arange,
    Expr,
    Geomspace,
    Linspace,
    Logspace,
    NumericValues,
    Source,
    Value,
    Values,
    source_from_text,
    spacing,
)
from .canvas import close_tree

__all__ = ["ParamField", "MODES", "ZIP_GROUPS", "SLOW_SECONDS", "format_value", "describe_values"]

#: Value-source modes and their labels in the switch, in the order shown.
MODES: dict[str, str] = {
    "value": "single value",
    "list": "list",
    "linspace": "linspace",
    "logspace": "logspace",
    "geomspace": "geomspace",
    "arange": "range",
    "adaptive": "adaptive",  # float parameters only: wb.adapt places the points between the bounds
    "expr": "expression",
}

#: Letters of zip groups: axes with the same letter are paired instead of crossed.
ZIP_GROUPS: tuple[str, ...] = ("A", "B", "C", "D")

#: A field whose check took longer than this stops updating on every keystroke.
SLOW_SECONDS = 0.1

# Inputs of the spaced modes: (key, label, tooltip).
_SPACED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "linspace": (("start", "start", "first value"), ("stop", "stop", "last value (included)"), ("num", "num", "number of values")),
    "logspace": (
        ("start", "from base^", "exponent of the first value"),
        ("stop", "to base^", "exponent of the last value (included)"),
        ("num", "num", "number of values"),
        ("base", "base", "base of the powers (usually 10)"),
    ),
    "geomspace": (("start", "start", "first value (non-zero)"), ("stop", "stop", "last value (included, same sign)"), ("num", "num", "number of values")),
    "arange": (("start", "start", "first value"), ("stop", "stop", "end (excluded)"), ("step", "step", "step between values")),
    "adaptive": (("lo", "from", "low bound"), ("hi", "to", "high bound")),
}
_SPACED_CLASS: dict[str, type[Source]] = {
    "linspace": Linspace, "logspace": Logspace, "geomspace": Geomspace, "arange": Arange, "adaptive": Adaptive,
}

_PLACEHOLDER = {
    "list": "0.1, 0.2, 0.5",
    "expr": "np.linspace(0, 1, 11)",
}

#: Checked inputs are remembered (typing back and forth costs nothing), except axes longer than this.
_CACHE_SIZE = 64
_CACHE_MAX_VALUES = 10_000


def format_value(v: Any) -> str:
    """A value as it is shown in previews and tables (numbers as ``1e14``, ``3.16228e12``: 6 significant digits)."""
    if isinstance(v, str):
        return repr(v)
    return format_number(v, 6)


def _number_text(v: Any) -> str:
    """What to type for a number so that it reads back exactly (``1e14``, not ``100000000000000.0``)."""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return format_number(v, exact=True)
    return repr(v)


def _source_text(src: Source) -> str:
    """A spaced source as an expression, its numbers as :func:`_number_text` writes them."""
    if isinstance(src, Arange):
        args = [src.start, src.stop, src.step]
    else:
        args = [src.start, src.stop, src.num]  # type: ignore[attr-defined]
    text = ", ".join(_number_text(a) for a in args)
    if isinstance(src, Logspace) and src.base != 10.0:
        text += f", base={_number_text(src.base)}"
    return f"np.{type(src).kind}({text})"


#: Inputs never get narrower than this (characters of text), nor wider than the second.
_MIN_CHARS, _MAX_CHARS = 8, 60


def _fit_width(widget: w.Text, base_chars: int, extra_em: float) -> None:
    """Size a text input to what it holds (and to its placeholder), within bounds, so no number is cut off."""
    chars = max(_MIN_CHARS, base_chars, len(widget.value or ""), len(widget.placeholder or ""))
    width = f"calc({min(chars, _MAX_CHARS) + 1}ch + {extra_em:g}em)"
    if widget.layout.width != width:
        widget.layout.width = width


def _spacing(src: Source, values: Sequence[Any]) -> str:
    """``step x`` / ``ratio r`` / ``uneven`` for numeric axes, from the source when it says, else from the values."""
    n = len(values)
    if n < 3 and not isinstance(src, (Linspace, Arange, Geomspace, Logspace)):
        return ""
    if n < 2:
        return ""
    if isinstance(src, Linspace):
        return f"step {format_value((values[-1] - values[0]) / (n - 1))}"
    if isinstance(src, Arange):
        return f"step {format_value(values[1] - values[0])}"
    if isinstance(src, (Geomspace, Logspace)) and values[0] != 0:
        return f"ratio {format_value((values[-1] / values[0]) ** (1.0 / (n - 1)))}"
    if not isinstance(values, NumericValues) and not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        return ""
    even = spacing(values)
    if even is None:
        return "uneven spacing"
    kind, by = even
    return f"{kind} {format_value(by)}"


def describe_values(src: Source, values: Sequence[Any]) -> str:
    """Count, first and last values and spacing, e.g. ``41 values: 0.5, 0.525, …, 1.5 · step 0.025``."""
    n = len(values)
    if n == 1:
        return f"1 value: {format_value(values[0])}"
    shown = ", ".join(format_value(v) for v in values) if n <= 4 else (
        f"{format_value(values[0])}, {format_value(values[1])}, …, {format_value(values[-1])}"
    )
    spacing = _spacing(src, values)
    return f"{n:,} values: {shown}" + (f" · {spacing}" if spacing else "")


def _text_of(param: Param, v: Any) -> str:
    """What to type to get ``v`` back through :func:`source_from_text`."""
    if isinstance(v, str) and param.kind in ("str", "choice") and not v.startswith(("'", '"', "[", "(")) and v == v.strip() and v:
        return v
    return _number_text(v)


class ParamField:
    """The form field of one parameter.

    Parameters
    ----------
    param
        The parameter.
    job_type
        Its job type: the field checks its source with a scan of this job type.
    on_change
        Called with this field after its source, error or zip group changed.

    Attributes
    ----------
    source
        The source the inputs describe, or ``None`` while they are invalid.
    values
        The values of ``source`` (checked and coerced by the model), or ``None``.
    error
        The model's message when the inputs are invalid, else ``None``.
    widget
        The field's widget (a ``VBox``).
    """

    def __init__(self, param: Param, job_type: JobType, on_change: Callable[[ParamField], None] | None = None) -> None:
        self.param = param
        self.job_type = job_type
        self.constants: Mapping[str, float] = job_type.constants
        self.on_change = on_change
        self.source: Source | None = None
        self.values: tuple[Any, ...] | None = None
        self.error: str | None = None
        self.seconds = 0.0  # time of the last check
        self._problems: tuple[Problem, ...] = ()
        self._extra_error: str | None = None
        self._slow = False  # the last check took longer than SLOW_SECONDS
        self._cache: dict[tuple[Any, ...], tuple[Source | None, tuple[Any, ...] | None, str | None]] = {}
        self._quiet = 0  # >0 while inputs are set programmatically
        p = param
        kind = p.kind

        self.modes: tuple[str, ...] = (
            ("value",) if not p.scannable
            else tuple(m for m in MODES if m != "adaptive" or kind == "float") if p.numeric else ("value", "list")
        )
        unit = f' <span class="wb-unit">[{html.escape(p.unit)}]</span>' if p.unit else ""
        self._label = w.HTML(
            f'<span class="wb-name" title="{html.escape(p.name)}">{html.escape(p.label)}</span>{unit}',
            layout=w.Layout(width="11em", min_width="11em"),
        )
        self._label.add_class("wb-label")
        self.mode = w.Dropdown(
            options=[(MODES[m], m) for m in self.modes],
            value="value",
            layout=w.Layout(width="9.5em", min_width="9.5em", display="" if len(self.modes) > 1 else "none"),
            tooltip="where the values come from",
        )
        self.mode.add_class("wb-mode")

        # One input widget per key; the mode decides which are shown.
        self.inputs: dict[str, w.Widget] = {}
        if kind == "bool":
            self.inputs["value"] = w.Checkbox(value=bool(p.default), indent=False, layout=w.Layout(width="auto"))
        elif kind == "choice":
            self.inputs["value"] = w.Dropdown(options=[(str(c), c) for c in p.choices], value=p.default, layout=w.Layout(width="16em"))
        else:
            self.inputs["value"] = w.Text(value=_text_of(p, p.default), layout=w.Layout(), continuous_update=True)
        if "list" in self.modes:
            if kind == "choice":
                self.inputs["list"] = w.SelectMultiple(
                    options=[(str(c), c) for c in p.choices], value=(p.default,), rows=min(4, len(p.choices)),
                    layout=w.Layout(width="16em"),
                )
            else:
                self.inputs["list"] = w.Text(
                    value="", placeholder=_PLACEHOLDER["list"] if p.numeric else ("False, True" if kind == "bool" else "a, b, c"),
                    layout=w.Layout(), continuous_update=True,
                )
        for mode, keys in _SPACED.items():
            if mode not in self.modes:
                continue
            for key, label, tip in keys:
                ident = f"{mode}.{key}"
                self.inputs[ident] = w.Text(
                    value="10" if key == "base" else "", placeholder=label, tooltip=tip,
                    description=label, style={"description_width": "initial"},
                    layout=w.Layout(), continuous_update=True,
                )
        if "expr" in self.modes:
            self.inputs["expr"] = w.Text(value="", placeholder=_PLACEHOLDER["expr"], layout=w.Layout(), continuous_update=True)
        # (least characters, extra em for the label) of each text input, sized to its content by _fit_inputs.
        self._widths: dict[str, tuple[int, float]] = {"value": (14, 1.0), "list": (22, 1.0), "expr": (26, 1.0)}
        for mode, keys in _SPACED.items():
            for key, label, _ in keys:
                self._widths[f"{mode}.{key}"] = (4 if key == "base" else _MIN_CHARS, 0.6 * len(label) + 1.5)
        for key, widget in self.inputs.items():
            widget.add_class(f"wb-input-{key.replace('.', '-')}")
            widget.observe(self._input_changed, names="value")

        self.zip = w.Dropdown(
            options=[("not paired", "")] + [(f"pair {g}", g) for g in ZIP_GROUPS],
            value="",
            layout=w.Layout(width="8.5em", min_width="8.5em", display="" if p.scannable else "none"),
            tooltip="Axes with the same letter are paired element by element (zipped) instead of crossed.",
        )
        self.zip.add_class("wb-zip")
        self.zip.observe(self._zip_changed, names="value")
        self.mode.observe(self._mode_changed, names="value")

        self._inputs_box = w.HBox(layout=w.Layout(flex="1 1 auto", flex_flow="row wrap", align_items="center"))
        self._inputs_box.add_class("wb-inputs")
        self.message = w.HTML(layout=w.Layout(margin="0 0 0 11.5em"))
        self.message.add_class("wb-message")
        allowed = f"Allowed: {p.describe_allowed()}" + ("; not scannable" if not p.scannable else "")
        allowed += "" if allowed.endswith(".") else "."  # a unit such as "a.u." ends the sentence itself
        helptext = html.escape(p.help) + (" " if p.help else "") + f'<span class="wb-allowed">{html.escape(allowed)}</span>'
        self._help = w.HTML(helptext, layout=w.Layout(margin="0 0 0 11.5em"))
        self._help.add_class("wb-help")
        top = w.HBox([self._label, self.mode, self._inputs_box, self.zip], layout=w.Layout(align_items="center", width="100%"))
        self.widget = w.VBox([top, self._help, self.message], layout=w.Layout(margin="0 0 6px 0"))
        self.widget.add_class("wb-field")
        self.widget.add_class(f"wb-field-{p.name}")
        self._show_inputs()
        self._recompute()

    # -- public --------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.param.name

    @property
    def zip_group(self) -> str:
        """The zip group letter, or ``""``."""
        return str(self.zip.value)

    def set_source(self, src: Source) -> None:
        """Show ``src`` in the inputs (used to fill the form from a scan or bundle)."""
        p = self.param
        mode, texts = "expr", {"expr": getattr(src, "text", None) or src.describe()}
        if isinstance(src, Value):
            mode, texts = "value", {"value": src.value}
        elif isinstance(src, Values) and "list" in self.modes:
            mode = "list"
            if p.kind == "choice":
                texts = {"list": tuple(src.items)}
            elif p.kind == "str" and all(isinstance(v, str) and "," not in v and v == v.strip() and v for v in src.items):
                texts = {"list": ", ".join(src.items)}
            else:
                texts = {"list": ", ".join(_number_text(v) for v in src.items)}
        elif type(src).kind in _SPACED and type(src).kind in self.modes:
            mode = type(src).kind
            texts = {f"{mode}.{k}": _number_text(getattr(src, k)) for k, _, _ in _SPACED[mode]}
        elif isinstance(src, Values):  # a list for a field without list mode: it is the model's error to report
            mode, texts = "value", {"value": src.items[0] if len(src.items) == 1 else repr(list(src.items))}
        if mode not in self.modes:
            mode, texts = "value", {"value": src.describe()}
        self._quiet += 1
        try:
            self.mode.value = mode
            for key, v in texts.items():
                widget = self.inputs[key]
                if isinstance(widget, w.Text) and not isinstance(v, str):
                    v = _text_of(p, v)
                widget.value = v
        finally:
            self._quiet -= 1
        self._settle()

    def _settle(self) -> None:
        """Show the inputs of the current mode, check them and tell the form."""
        self._show_inputs()
        self._recompute()
        if self.on_change is not None:
            self.on_change(self)

    def set_zip_group(self, group: str) -> None:
        """Put this parameter in zip group ``group`` (a letter of :data:`ZIP_GROUPS`, or ``""`` for none)."""
        self.zip.value = group

    def close(self) -> None:
        """Close the field's widgets, the inputs of the modes not shown included."""
        close_tree([self.widget, *self.inputs.values()])

    def set_problems(self, problems: Sequence[Problem], extra_error: str | None = None) -> None:
        """Show findings of the job type's checks (and scan-level errors) that concern this field."""
        self._problems = tuple(problems)
        self._extra_error = extra_error
        self._render()

    # -- internals -----------------------------------------------------------
    def _key(self) -> tuple[Any, ...]:
        mode = self.mode.value
        keys = ["value"] if mode == "value" else ["list"] if mode == "list" else ["expr"] if mode == "expr" else [
            f"{mode}.{k}" for k, _, _ in _SPACED[mode]
        ]
        return (mode, *(self.inputs[k].value for k in keys))

    def _scalar(self, key: str, label: str) -> Any:
        text = str(self.inputs[key].value).strip()
        if not text:
            raise ParameterError(f"{self.name}: {label} is empty; type a number.", parameter=self.name)
        try:
            from ..expr import evaluate

            v = evaluate(text, names=self.constants, max_size=1)
        except ExpressionError as e:
            raise ParameterError(f"{self.name}: {label} = {text!r}: {e}", parameter=self.name) from None
        if isinstance(v, np.ndarray):
            raise ParameterError(f"{self.name}: {label} = {text!r} is a list; give one number.", parameter=self.name)
        if isinstance(v, float) and key.endswith(".num") and v.is_integer():
            v = int(v)
        return v

    def _build_source(self) -> Source:
        p = self.param
        mode = self.mode.value
        if mode == "value":
            widget = self.inputs["value"]
            if not isinstance(widget, w.Text):
                return Value(widget.value)
            text = widget.value
            src = source_from_text(p, text)
            if isinstance(src, Expr):
                raw = src.raw_values(p.name, self.constants)
                if len(raw) != 1:
                    raise ParameterError(
                        f"{p.name} = {text.strip()!r} gives {len(raw)} values, but 'single value' takes one; "
                        "to scan, pick 'list', a spacing or 'expression'.",
                        parameter=p.name,
                    )
                return Value(raw[0])
            return src
        if mode == "list":
            widget = self.inputs["list"]
            if isinstance(widget, w.SelectMultiple):
                chosen = set(widget.value)
                return Values(tuple(c for c in p.choices if c in chosen))
            text = widget.value.strip()
            if p.kind == "str" and not text.startswith(("[", "(")):
                return Values(tuple(s.strip() for s in text.split(",") if s.strip()))
            if not text:
                return Values(())
            if not text.startswith(("[", "(")):
                text = f"[{text}]"
            return Values(tuple(Expr(text).raw_values(p.name, self.constants)))
        if mode == "expr":
            text = self.inputs["expr"].value.strip()
            if not text:
                raise ParameterError(f"{p.name}: the expression is empty; type one, e.g. {_PLACEHOLDER['expr']}.", parameter=p.name)
            return Expr(text)
        args = {k: self._scalar(f"{mode}.{k}", label) for k, label, _ in _SPACED[mode]}
        return _SPACED_CLASS[mode](**args)

    def _check(self) -> tuple[Source | None, tuple[Any, ...] | None, str | None]:
        try:
            src = self._build_source()
            # The model checks this source: a scan that sets only this parameter.
            scan = Scan(self.job_type, {self.name: src})
            return src, scan.values(self.name), None
        except WorkbenchError as e:
            return None, None, str(e)

    def _recompute(self) -> None:
        key = self._key()
        t0 = time.perf_counter()
        hit = self._cache.get(key)
        if hit is None:
            hit = self._check()
            if hit[1] is None or len(hit[1]) <= _CACHE_MAX_VALUES:  # long axes would pin their values in memory
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = hit
        self.source, self.values, self.error = hit
        self.seconds = time.perf_counter() - t0
        self._set_continuous(self.seconds < SLOW_SECONDS)
        self._problems = ()
        self._extra_error = None
        self._render()

    def _set_continuous(self, on: bool) -> None:
        self._slow = not on
        for widget in self.inputs.values():
            if isinstance(widget, w.Text) and widget.continuous_update != on:
                widget.continuous_update = on

    def _render(self) -> None:
        parts: list[str] = []
        if self.error:  # one line (the form's CSS), the whole message on hover and beside the buttons
            parts.append(f'<span class="wb-error" title="{html.escape(self.error)}">✖ {html.escape(self.error)}</span>')
        elif self.source is not None and self.values is not None:
            note = " · large: updates on Enter" if self._slow else ""
            parts.append(f'<span class="wb-preview">{html.escape(describe_values(self.source, self.values) + note)}</span>')
        if self._extra_error:
            parts.append(f'<span class="wb-error">✖ {html.escape(self._extra_error)}</span>')
        for pr in self._problems:
            cls, mark = ("wb-error", "✖") if pr.level == "error" else ("wb-warning", "⚠")
            parts.append(f'<span class="{cls}">{mark} {html.escape(pr.message)}</span>')
        text = "<br>".join(parts)
        if self.message.value != text:
            self.message.value = text
        invalid = bool(self.error or self._extra_error or any(p.level == "error" for p in self._problems))
        if invalid:
            self.widget.add_class("wb-invalid")
        else:
            self.widget.remove_class("wb-invalid")

    def _show_inputs(self) -> None:
        mode = self.mode.value
        if mode in _SPACED:
            children = [self.inputs[f"{mode}.{k}"] for k, _, _ in _SPACED[mode]]
        else:
            children = [self.inputs[mode]]
        self._inputs_box.children = children
        self._fit_inputs()

    def _fit_inputs(self) -> None:
        """Size the shown text inputs to what they hold."""
        for widget in self._inputs_box.children:
            key = next(k for k, v in self.inputs.items() if v is widget)
            if isinstance(widget, w.Text):
                _fit_width(widget, *self._widths[key])

    def _input_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._fit_inputs()
        self._recompute()
        if self.on_change is not None:
            self.on_change(self)

    def _mode_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        self._quiet += 1
        try:
            self._prefill(change["old"], change["new"])
        finally:
            self._quiet -= 1
        self._settle()

    def _prefill(self, old: str, new: str) -> None:
        """Start a newly picked mode from the current values, so switching modes keeps what was there."""
        values = self.values
        if self.param.kind == "bool":
            if new == "list" and not self.inputs["list"].value:
                self.inputs["list"].value = "False, True"  # a boolean scanned takes both values
            return
        if values is None or not self.param.numeric:
            if new == "list" and self.param.kind != "choice" and not self.inputs["list"].value and values:
                self.inputs["list"].value = ", ".join(_text_of(self.param, v) for v in values)
            return
        lo, hi = values[0], values[-1]
        if new == "list" and not self.inputs["list"].value:
            self.inputs["list"].value = ", ".join(_number_text(v) for v in values[:20]) if len(values) <= 20 else ""
        elif new == "expr" and not self.inputs["expr"].value:
            src = self.source
            if isinstance(src, (Linspace, Logspace, Geomspace, Arange)):
                text = _source_text(src)
            elif len(values) > 1:
                text = "[" + ", ".join(_number_text(v) for v in values) + "]" if len(values) <= 20 else ""
            else:
                text = _number_text(lo)
            self.inputs["expr"].value = text
        elif new in _SPACED and not any(self.inputs[f"{new}.{k}"].value for k, _, _ in _SPACED[new] if k != "base"):
            num = len(values) if len(values) > 1 else 11
            start, stop = (lo, hi) if len(values) > 1 else (lo, lo * 2 if lo else 1)
            if new == "logspace":
                if lo > 0 and hi > 0:
                    start, stop = math.log10(start), math.log10(stop)
                else:
                    start, stop = 0, 1
            if new == "geomspace" and (start == 0 or stop == 0 or (start < 0) != (stop < 0)):
                start, stop = 1, 10
            fill = {"start": start, "stop": stop, "num": num}
            if new == "arange":
                step = (stop - start) / (num - 1) if num > 1 else 1
                # Half a step past the last value: the end is excluded, and rounding must not add a value.
                fill = {"start": start, "stop": stop + step / 2, "step": step} if self.param.kind == "float" else {
                    "start": int(start), "stop": int(stop) + 1, "step": max(1, round(step))
                }
            if new == "adaptive":
                fill = {"lo": min(start, stop), "hi": max(start, stop) if start != stop else start + 1.0}
            for k, v in fill.items():
                v = float(f"{v:.12g}") if isinstance(v, float) else v  # 12 significant digits: 1e14 stays 1e14
                self.inputs[f"{new}.{k}"].value = _number_text(v)

    def _zip_changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if self.on_change is not None:
            self.on_change(self)
