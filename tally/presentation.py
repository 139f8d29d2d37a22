"""Shared helpers for what people read: Persian digits and percentages without floats."""

from __future__ import annotations

from collections.abc import Callable

from evote.digits import persian_percent


def percent_text(part: int, whole: int) -> str:
    """One decimal, computed in integers so the text is identical everywhere."""
    if whole <= 0:
        return "0.0"
    tenths = (1000 * part + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}"


def percent_in(language: str) -> Callable[[str], str]:
    """Percentages in the reader's script: "۱۲٫۵٪" in Persian, "12.5%" in English."""
    return persian_percent if language == "fa" else (lambda text: f"{text}%")
