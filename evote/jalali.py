"""Jalali (Solar Hijri) ⇄ Gregorian dates, and the age rule of the inquiry.

Birth dates on Iranian cards and rolls are Jalali; election day is fixed in
the manifest as a Gregorian ISO date. The conversion is the standard
arithmetic algorithm (33-year cycles), exact for 1300–1500 AP.
"""

from __future__ import annotations

import re
from datetime import date

_JALALI = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH_DAYS = (31, 31, 31, 31, 31, 31, 30, 30, 30, 30, 30, 29)


def _gregorian_days(year: int, month: int, day: int) -> int:
    return date(year, month, day).toordinal()


def jalali_to_gregorian(year: int, month: int, day: int) -> date:
    if not (1 <= month <= 12 and 1 <= day <= _MONTH_DAYS[month - 1] + (month == 12)):
        raise ValueError(f"not a Jalali date: {year}-{month:02d}-{day:02d}")
    year += 1595
    days = -355668 + 365 * year + (year // 33) * 8 + ((year % 33) + 3) // 4 + day
    days += (month - 1) * 31 if month < 7 else (month - 7) * 30 + 186
    gregorian_year = 400 * (days // 146097)
    days %= 146097
    if days > 36524:
        days -= 1
        gregorian_year += 100 * (days // 36524)
        days %= 36524
        if days >= 365:
            days += 1
    gregorian_year += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        gregorian_year += (days - 1) // 365
        days = (days - 1) % 365
    leap = gregorian_year % 4 == 0 and (gregorian_year % 100 != 0 or gregorian_year % 400 == 0)
    month_lengths = [0, 31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    gregorian_day = days + 1
    gregorian_month = 1
    while gregorian_month <= 12 and gregorian_day > month_lengths[gregorian_month]:
        gregorian_day -= month_lengths[gregorian_month]
        gregorian_month += 1
    result = date(gregorian_year, gregorian_month, gregorian_day)
    if gregorian_to_jalali(result) != (year - 1595, month, day):
        raise ValueError(f"not a Jalali date: {year - 1595}-{month:02d}-{day:02d}")
    return result


def gregorian_to_jalali(value: date) -> tuple[int, int, int]:
    gy, gm, gd = value.year, value.month, value.day
    cumulative = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)
    gy2 = gy + 1 if gm > 2 else gy
    days = 355666 + 365 * gy + (gy2 + 3) // 4 - (gy2 + 99) // 100 + (gy2 + 399) // 400
    days += gd + cumulative[gm - 1]
    jy = -1595 + 33 * (days // 12053)
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        return jy, 1 + days // 31, 1 + days % 31
    return jy, 7 + (days - 186) // 30, 1 + (days - 186) % 30


def parse_jalali(text: str) -> date:
    """'1370-05-12' (Jalali) → the Gregorian date; ValueError if malformed."""
    match = _JALALI.fullmatch(text)
    if not match:
        raise ValueError(f"expected a Jalali date YYYY-MM-DD, got {text!r}")
    return jalali_to_gregorian(*(int(part) for part in match.groups()))


def format_jalali(value: date) -> str:
    year, month, day = gregorian_to_jalali(value)
    return f"{year:04d}-{month:02d}-{day:02d}"


def age_on(birth: date, on: date) -> int:
    """Full years completed on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def format_jalali_for_reading(value: date) -> str:
    """'1405/09/02': the form Persian readers expect on screen and paper.

    Slashes, not hyphens, on purpose: after Persian letters, the Unicode bidi
    algorithm turns the digits into Arabic numbers, which a slash keeps
    together but a hyphen splits — '1405-09-02' would show as '02-09-1405'.
    """
    return format_jalali(value).replace("-", "/")
