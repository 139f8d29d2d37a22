"""The server's pages for people read as Persian: Persian digits in Persian text, Latin
runs isolated so bidi cannot reorder them, and "٫" as the decimal mark in the report."""

from __future__ import annotations

import re
import urllib.request

from server_harness import Setup

from crypto.ballot import GENESIS_TRACKING_CODE
from evote.digits import persian_number, persian_percent
from tally.presentation import percent_in

LATIN_DIGIT = re.compile(r"[0-9]")


def page(setup: Setup, path: str) -> str:
    with urllib.request.urlopen(setup.server.url + path, timeout=10) as response:
        text: str = response.read().decode("utf-8")
        return text


def persian_text(html: str) -> str:
    """What a Persian reader reads: the page without tags, English runs, codes and styles."""
    html = re.sub(r"<style>.*?</style>|<title>.*?</title>", "", html, flags=re.S)
    html = re.sub(
        r'<(bdi|p|span|code)[^>]*(class="en"|dir="ltr")[^>]*>.*?</\1>', "", html, flags=re.S
    )
    html = re.sub(r"<code>.*?</code>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_track_and_turnout_pages_use_persian_digits_in_persian_text(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    voters = setup.election.eligible()[:12]
    code = ""
    for voter in voters:
        authorization = setup.check_in("T1", setup.election.card(voter))["authorization"]
        previous = bytes.fromhex(code) if code else GENESIS_TRACKING_CODE
        body = setup.ballot("T1", authorization, voters.index(voter) + 1, previous)
        code = setup.terminals["T1"].cast(body).tracking_code
    track = page(setup, f"/track/{code}")
    assert "۱۱" in track  # the twelfth ballot sits at position 11
    turnout = page(setup, "/turnout")
    assert "۱۲" in turnout
    for html in (track, turnout):
        assert LATIN_DIGIT.findall(persian_text(html)) == [], persian_text(html)
    total_fa = re.search(r'<p id="total-fa">(.*?)</p>', turnout, re.S)
    assert total_fa is not None and "/" not in total_fa.group(1) and "roll" not in total_fa.group(1)


def test_persian_numbers_use_the_persian_decimal_mark_and_percent_sign() -> None:
    assert persian_number("12.5") == "۱۲٫۵"
    assert persian_percent("0.5") == "۰٫۵٪"
    assert percent_in("fa")("33.3") == "۳۳٫۳٪" and percent_in("en")("33.3") == "33.3%"
