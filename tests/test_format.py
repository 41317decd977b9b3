"""Numbers and durations as people read them: the formatter every view uses."""

from __future__ import annotations

import numpy as np
import pytest

from workbench._format import format_core_time, format_number


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1e14, "1e14"),
        (2e14, "2e14"),
        (10**12.5, "3.162e12"),
        (np.float64(1e-5), "1e-5"),
        (0.05, "0.05"),
        (800.0, "800"),
        (1_000_000_000, "1e9"),
        (123_456_789, "123456789"),
        (True, "True"),
        ("sin2", "sin2"),
    ],
)
def test_numbers_read_as_a_scientist_writes_them(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize("value", [1e14, 2e14, 10**12.5, 1e-5, 3.2e-12, 0.05, 2.0, 99999.0, 1e5, -1e20, 1_000_000_000_000, 5e-324])
def test_exact_numbers_read_back_as_the_same_value(value):
    text = format_number(value, exact=True)
    assert "e+" not in text and "00000" not in text.split("e")[0]
    assert float(text) == value
    if isinstance(value, float):
        assert "." in text or "e" in text  # typed back, still a float


def test_exact_keeps_every_digit():
    assert format_number(10**12.5, exact=True) == "3.1622776601683794e12"
    assert format_number(1e14, exact=True) == "1e14"
    assert format_number(2.0, exact=True) == "2.0"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(2.0706, "2.1 core-seconds"), (300.0, "5 core-minutes"), (7200.0, "2 core-hours"), (2.07, "2.1 core-seconds")],
)
def test_core_time_in_the_unit_that_fits(seconds, shown):
    assert format_core_time(seconds) == shown
