"""Persian digits for people, ASCII digits for machines.

Everything a voter reads uses Persian digits (۰–۹); anything a voter types may
arrive in Persian, Arabic-Indic (٠–٩) or ASCII digits, and is turned into ASCII
before it goes anywhere near a card or a database.
"""

from __future__ import annotations

from typing import Final

_TO_PERSIAN: Final = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_TO_ASCII: Final = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def persian_digits(value: object) -> str:
    return str(value).translate(_TO_PERSIAN)


def persian_number(value: object) -> str:
    """A number as Persian writes it: Persian digits, "٫" as the decimal mark."""
    return persian_digits(value).replace(".", "\u066b")


def persian_percent(text: str) -> str:
    """A percentage such as ``"12.5"`` as Persian writes it: "۱۲٫۵٪"."""
    return f"{persian_number(text)}\u066a"


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits as ASCII; every other character unchanged."""
    return text.translate(_TO_ASCII)
