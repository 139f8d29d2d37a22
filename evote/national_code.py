"""Iranian national codes (کد ملی): 10 digits, the last a mod-11 check digit."""

from __future__ import annotations


def check_digit(first_nine: str) -> int:
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def is_valid_national_code(code: str) -> bool:
    """True for 10 ASCII digits whose check digit matches (all-equal codes are invalid)."""
    if len(code) != 10 or not code.isascii() or not code.isdigit() or len(set(code)) == 1:
        return False
    return check_digit(code[:9]) == int(code[9])


def complete_national_code(first_nine: str) -> str:
    """Append the check digit (used to issue sample rolls)."""
    return first_nine + str(check_digit(first_nine))
