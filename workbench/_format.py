"""How numbers and durations are written for people, in figures, panels, forms and printed objects.

Numbers are written as a scientist writes them: ``1e14`` and ``3.16e12``, not
``100000000000000.0`` or ``3.162e+12``.  :func:`format_number` rounds for
reading; with ``exact=True`` it gives the shortest text that reads back as the
same number, for the inputs of a form (what is typed back is what was there).
"""

from __future__ import annotations

import math
import re
import signal
from typing import Any

import numpy as np

__all__ = ["format_number", "format_duration", "format_core_time", "describe_signal"]

_EXPONENT = re.compile(r"e([+-])0*(\d)")
#: Floats at or above this (or below 1e-4, not zero) are written with an exponent.
_BIG = 1e5
#: Whole numbers at or above this with trailing zeros are written with an exponent (``10**9`` as ``1e9``).
_BIG_INT = 10**6


def _tidy_exponent(text: str) -> str:
    """``"1e+14"`` -> ``"1e14"``, ``"3.2e-05"`` -> ``"3.2e-5"``."""
    return _EXPONENT.sub(lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def _exact_float(v: float) -> str:
    """The shortest text that reads back as ``v``, with an exponent for very large and small values."""
    if not math.isfinite(v):
        return repr(v)
    if v == 0 or 1e-4 <= abs(v) < _BIG:
        return repr(v)
    text = np.format_float_scientific(v, unique=True, trim="-")
    return _tidy_exponent(text)


def format_number(v: Any, digits: int = 4, *, exact: bool = False) -> str:
    """A number as a scientist writes it: ``1e14``, ``3.162e12``, ``0.05``, ``42``; anything else as ``str``.

    Parameters
    ----------
    v
        The value.  Floats (numpy's too) are rounded to ``digits`` significant
        digits; integers stay whole (``1000000000`` as ``1e9``
        when it has trailing zeros and is 10**6 or more); booleans and other values as ``str``.
    digits
        Significant digits of rounded floats.
    exact
        The shortest text that gives back exactly ``v`` when typed (for the
        inputs of a form): ``1e14`` for ``1e14``, ``3.1622776601683795e12``
        for ``10**12.5``; a float stays a float (``2.0``, not ``2``).
    """
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if exact:
            return _exact_float(f)
        if f == 0 or not math.isfinite(f):
            return f"{f:g}"
        return _tidy_exponent(f"{f:.{digits}g}")
    if isinstance(v, (int, np.integer)):
        i = int(v)
        if abs(i) >= _BIG_INT:
            text = _tidy_exponent(f"{i:e}".replace(".000000", ""))
            # Only where the exponent form is the same whole number (typed back, it is a float of that value).
            if "." not in text.split("e")[0] and float(text) == i:
                return text
        return str(i)
    return str(v)


def format_duration(seconds: float | None, *, digits: int | None = None) -> str:
    """``"42 s"``, ``"3 min 05 s"``, ``"2 h 07 min"``, ``"3 d 4 h"``.

    With ``digits``, a duration under a minute keeps that many significant
    digits (``"0.05 s"``, for estimates of short jobs) instead of whole seconds.
    """
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if digits is not None and seconds < 59.5:
        return f"{max(0.0, seconds):.{digits}g} s"
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s // 60 % 60:02d} min"
    return f"{s // 86400} d {s // 3600 % 24} h"


def format_core_time(core_seconds: float) -> str:
    """Computing time in the unit that fits: ``"2.1 core-seconds"``, ``"4.2 core-minutes"``, ``"1.5e3 core-hours"``."""
    s = max(0.0, float(core_seconds))
    if s < 60:
        return f"{format_number(s, 2)} core-seconds"
    if s < 3600:
        return f"{format_number(s / 60, 2)} core-minutes"
    return f"{format_number(s / 3600, 3)} core-hours"


def describe_signal(number: Any) -> str:
    """``"signal 9 (SIGKILL)"``; without the name for a signal this system does not know."""
    try:
        return f"signal {number} ({signal.Signals(int(number)).name})"
    except (ValueError, TypeError):
        return f"signal {number}"
