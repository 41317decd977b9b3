"""How numbers and durations are written for people, in figures, panels and forms."""

from __future__ import annotations

import math
import signal
from typing import Any

import numpy as np

__all__ = ["format_number", "format_duration", "describe_signal"]


def format_number(v: Any) -> str:
    """A value as figure labels show it: floats (numpy's too) to 4 significant digits, anything else as ``str``."""
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}"
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


def describe_signal(number: Any) -> str:
    """``"signal 9 (SIGKILL)"``; without the name for a signal this system does not know."""
    try:
        return f"signal {number} ({signal.Signals(int(number)).name})"
    except (ValueError, TypeError):
        return f"signal {number}"
