"""Shared helpers for what people read: Persian digits and percentages without floats."""

from __future__ import annotations

from typing import Final

_PERSIAN_DIGITS: Final = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(value: int | str) -> str:
    """Persian first on screen and print: digits in Persian form."""
    return str(value).translate(_PERSIAN_DIGITS)


def percent_text(part: int, whole: int) -> str:
    """One decimal, computed in integers so the text is identical everywhere."""
    if whole <= 0:
        return "0.0"
    tenths = (1000 * part + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}"
