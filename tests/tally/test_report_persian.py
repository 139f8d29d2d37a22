"""The results report's Persian half reads as Persian: digits, decimal mark, percent sign."""

from __future__ import annotations

import re
from pathlib import Path


def test_the_persian_report_uses_persian_digits_decimal_mark_and_percent_sign(
    pristine_record: Path,
) -> None:
    report = (pristine_record / "results" / "report.html").read_text(encoding="utf-8")
    persian = re.search(r'<section lang="fa" dir="rtl">(.*?)</section>', report, re.S)
    english = re.search(r'<section lang="en" dir="ltr">(.*?)</section>', report, re.S)
    assert persian is not None and english is not None
    text = re.sub(r"<[^>]+>", " ", persian.group(1))
    assert re.findall(r"[0-9]", text) == []
    assert re.search(r"[۰-۹]+٫[۰-۹]٪", text) and "%" not in text and "." not in text
    assert re.search(r"[0-9]+\.[0-9]%", english.group(1))
