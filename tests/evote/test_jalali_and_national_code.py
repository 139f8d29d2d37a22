"""Jalali conversion and national-code check digits, as the inquiry relies on them."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.jalali import age_on, format_jalali, gregorian_to_jalali, parse_jalali
from evote.national_code import complete_national_code, is_valid_national_code


@pytest.mark.parametrize(
    ("gregorian", "jalali"),
    [
        (date(2024, 3, 20), (1403, 1, 1)),
        (date(2025, 3, 21), (1404, 1, 1)),
        (date(1979, 2, 11), (1357, 11, 22)),
        (date(2026, 11, 23), (1405, 9, 2)),
    ],
)
def test_known_dates_convert_both_ways(gregorian: date, jalali: tuple[int, int, int]) -> None:
    assert gregorian_to_jalali(gregorian) == jalali
    assert parse_jalali("{:04d}-{:02d}-{:02d}".format(*jalali)) == gregorian


@given(st.dates(min_value=date(1925, 1, 1), max_value=date(2120, 12, 31)))
def test_every_day_round_trips(day: date) -> None:
    assert parse_jalali(format_jalali(day)) == day


@pytest.mark.parametrize("text", ["1403-13-01", "1403-07-31", "1403/01/01", "۱۴۰۳-۰۱-۰۱", ""])
def test_malformed_jalali_dates_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_jalali(text)


def test_age_counts_full_years_only() -> None:
    election_day = date(2026, 11, 23)
    assert age_on(date(2008, 11, 24), election_day) == 17
    assert age_on(date(2008, 11, 23), election_day) == 18


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_completed_codes_validate_and_a_wrong_check_digit_fails(prefix: int) -> None:
    code = complete_national_code(f"{prefix:09d}")
    if len(set(code)) == 1:
        return
    assert is_valid_national_code(code)
    for digit in "0123456789":
        if digit != code[9]:
            assert not is_valid_national_code(code[:9] + digit)


@pytest.mark.parametrize(
    "code", ["1111111111", "123456789", "12345678901", "abcdefghij", "٠٤٩٩٣٧٠٨٩٩"]
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not is_valid_national_code(code)
