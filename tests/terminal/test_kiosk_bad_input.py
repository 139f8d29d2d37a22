"""Junk sent to the kiosk API gets a clear 4xx and changes nothing: no PIN try spent, no ballot."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from station_harness import StationHarness

from evote.digits import ascii_digits, persian_digits
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
junk_bodies = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    st.fixed_dictionaries({"pin": json_values}).map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"choices": json_values}).map(lambda value: json.dumps(value).encode()),
    st.just(b'{"pin": "\\u0661\\u0662\\u0663\\u0664"}'),
    st.just(b'{"pin": "12345678901234567890"}'),
    st.just(b'{"choices": {"majlis": ["1101", "1101"]}}'),
    st.just(b'{"choices": {"majlis": ["1101", "1102", "1103", "1104"]}}'),
    st.just(b'{"choices": {"experts": ["9999"]}}'),
)
JUNK_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def could_be_a_pin(body: bytes) -> bool:
    """A well-formed PIN (in any digits) would reach the card and spend a try: not junk."""
    try:
        pin = json.loads(body).get("pin")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return False
    return isinstance(pin, str | int) and bool(re.fullmatch(r"[0-9]{4,8}", ascii_digits(str(pin))))


def post_raw(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_refused(status: int, answer: Any) -> None:
    assert 400 <= status < 500, (status, answer)
    assert answer["code"] and answer["message_en"] and answer["message_fa"]


def test_junk_pins_are_refused_without_spending_a_try(
    station: StationHarness, running: RunningTerminal, kiosk: KioskClient
) -> None:
    voter = station.next_voter()
    station.reader.insert(station.card(voter))
    kiosk.wait_for("pin")
    tries_before = station.card(voter).image["pin_tries_left"]

    @JUNK_SETTINGS
    @given(body=junk_bodies.filter(lambda body: not could_be_a_pin(body)))
    def junk_pin(body: bytes) -> None:
        assert_refused(*post_raw(f"{running.url}/api/pin", body))
        assert kiosk.state()["state"] == "pin"

    junk_pin()
    assert station.card(voter).image["pin_tries_left"] == tries_before
    # Typed on a Persian keyboard, the right PIN is still the right PIN.
    assert kiosk.enter_pin(persian_digits(voter.pin))["state"] in {"inquiry", "ballot"}


def test_junk_choices_are_refused_and_nothing_is_cast(
    station: StationHarness, running: RunningTerminal, kiosk: KioskClient
) -> None:
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")

    @JUNK_SETTINGS
    @given(body=junk_bodies)
    def junk_review(body: bytes) -> None:
        status, answer = post_raw(f"{running.url}/api/review", body)
        if status == 200:  # the junk happened to be a valid (e.g. empty) ballot
            assert answer["state"] == "review"
            kiosk.post("edit")
        else:
            assert_refused(status, answer)
        assert kiosk.state()["state"] == "ballot"

    junk_review()
    assert running.booth.journal.counts().cast == 0
