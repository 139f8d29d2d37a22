"""Inputs that once reached the database and failed there (500) are clear 4xx refusals:
NUL bytes in ids, ids in paths, positions and sequences beyond their columns."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from server_harness import Setup
from test_bad_input import assert_refused, post, stored

from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _signed_post(setup: Setup, path: str, terminal_id: str, action: str, body: Any) -> Any:
    envelope = protocol.build_terminal_request(
        setup.terminals["T1"].signing_key, terminal_id, action, body
    )
    return post(setup.server.url + path, json.dumps(envelope).encode())


def test_a_nul_byte_in_a_terminal_id_is_refused(setup: Setup) -> None:
    before = stored(setup)
    for path, action in (
        (protocol.PATH_INQUIRY_CHALLENGE, protocol.ACTION_INQUIRY_CHALLENGE),
        (protocol.PATH_OFFICIAL_CHALLENGE, protocol.ACTION_OFFICIAL_CHALLENGE),
        (protocol.PATH_TERMINAL_STATUS, protocol.ACTION_STATUS),
    ):
        status, body = _signed_post(setup, path, "T1\x00", action, {})
        assert_refused(status, body)
        assert body["code"] == "malformed_request"
    assert stored(setup) == before


def test_a_nul_byte_or_a_lone_surrogate_in_a_station_id_in_a_path_is_refused(
    setup: Setup,
) -> None:
    for station in ("S-101%00", "%00", "S%ED%A0%80"):
        for template in (protocol.PATH_POLL_STATUS, protocol.PATH_STATION_EXPORT):
            status, body = get(setup.server.url + template.replace("{station_id}", station))
            assert_refused(status, body)


def test_a_nul_byte_in_an_official_challenge_id_is_refused(setup: Setup) -> None:
    official = setup.official()
    body = protocol.poll_action_body("open", "ab\x00cd", official.certificate, b"\x00" * 64)
    status, answer = _signed_post(setup, protocol.PATH_POLL_ACTION, "T1", "poll-action", body)
    assert_refused(status, answer)
    assert answer["code"] == "malformed_request"
    assert setup.terminals["T1"].poll_status("S-101")["state"] == "not_opened"


def test_a_board_position_beyond_64_bits_is_refused(setup: Setup) -> None:
    for start in (10**20, 2**63, -1):
        status, body = get(f"{setup.server.url}{protocol.PATH_BOARD}?start={start}")
        assert_refused(status, body)
    status, body = get(f"{setup.server.url}{protocol.PATH_BOARD}?start={2**63 - 1}")
    assert status == 200 and body["entries"] == []


def test_a_sequence_or_declared_journal_head_of_2_to_the_31_is_refused(setup: Setup) -> None:
    setup.poll("T1", "open")
    authorization = setup.check_in("T1", setup.election.card(setup.election.eligible()[0]))[
        "authorization"
    ]
    before = stored(setup)
    ballot = setup.ballot("T1", authorization, 2**31, GENESIS_TRACKING_CODE)
    status, body = _signed_post(setup, protocol.PATH_CAST, "T1", "cast", ballot)
    assert_refused(status, body)
    assert body["code"] == "malformed_request"
    official = setup.official()
    challenge = setup.terminals["T1"].official_challenge()
    close = protocol.poll_action_body(
        "close",
        challenge["challenge_id"],
        official.certificate,
        official.sign(challenge["challenge"]),
        protocol.JournalDeclaration((2**31, GENESIS_TRACKING_CODE)),
        poll_version=challenge["poll_version"],
    )
    status, body = _signed_post(setup, protocol.PATH_POLL_ACTION, "T1", "poll-action", close)
    assert_refused(status, body)
    assert setup.terminals["T1"].poll_status("S-101")["state"] == "open"
    assert stored(setup) == before


def test_consistency_sizes_beyond_64_bits_are_refused(setup: Setup) -> None:
    """Found by the endpoint fuzz test (a 500 on both backends)."""
    for first, second in ((10**20, 10**20), (1, 2**63), (-1, 1)):
        path = f"{protocol.PATH_CONSISTENCY}?first={first}&second={second}"
        assert_refused(*get(setup.server.url + path))
