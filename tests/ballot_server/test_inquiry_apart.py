"""The inquiry runs on the registry database alone; challenges are one answer each.

An inquiry-only server is given an intake database URL it could not open (a
directory that does not exist): it must never need it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from server_harness import STATION_OF_TERMINAL, Card, Election, Setup
from test_refusals import refused

from ballot_server.config import ServerConfig
from ballot_server.keys import MissingKey
from ballot_server.runner import RunningServer, start_server
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol
from evote.client import BallotServerClient


def _inquiry_only(election: Election, registry_url: str, tmp_path: Path) -> RunningServer:
    """An inquiry host: no intake database it could open, no server private key."""
    unreachable = f"sqlite:///{tmp_path / 'no-such-dir' / 'ballot.sqlite'}"
    keys = election.keys.for_services(("inquiry",))
    return start_server(ServerConfig(unreachable, registry_url, keys, services=("inquiry",)))


def _status(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_an_inquiry_only_server_checks_voters_in_without_the_intake_database(
    setup: Setup, election: Election, database_urls: tuple[str, str], tmp_path: Path
) -> None:
    inquiry = _inquiry_only(election, database_urls[1], tmp_path)
    try:
        assert not (tmp_path / "no-such-dir").exists()
        hq = setup.terminals["T1"]
        booth = BallotServerClient(inquiry.url, "T1", hq.signing_key)
        voter, other = election.eligible()[:2]
        card = election.card(voter)
        setup.poll("T1", "open")  # the zero report counts the registry's check-ins too
        setup.poll("T3", "open")
        authorization = _answer(booth, card, booth.inquiry_challenge())["authorization"]
        assert authorization["payload"]["station_id"] == STATION_OF_TERMINAL["T1"]
        # The intake takes the ballot that authorization allows, and the full server
        # sees the check-in (one registry): the voter is refused there.
        body = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
        assert hq.lookup(hq.cast(body).tracking_code)["kind"] == "ballot"
        refused(lambda: setup.check_in("T3", card), "already_voted")
        # And the inquiry-only server refuses as the full one does.
        stranger = election.card(other)
        spent = booth.inquiry_challenge()
        signature = stranger.sign(spent["challenge"])
        _answer(booth, stranger, spent)
        other_booth = BallotServerClient(inquiry.url, "T2", setup.terminals["T2"].signing_key)
        refused(
            lambda: other_booth.check_in(stranger.certificate, signature, spent["challenge_id"]),
            "unknown_challenge",
        )
        # No intake endpoint is served there.
        assert _status(inquiry.url + protocol.PATH_CAST, {}) == 404
        assert _status(inquiry.url + protocol.PATH_POLL_ACTION, {}) == 404
        assert not (tmp_path / "no-such-dir").exists()
    finally:
        inquiry.stop()


def test_an_intake_only_server_takes_ballots_without_the_inquiry_key(
    setup: Setup, election: Election, database_urls: tuple[str, str]
) -> None:
    keys = election.keys.for_services(("intake",))
    assert keys.inquiry_key is None and keys.hq is None and keys.registry is None
    intake = start_server(ServerConfig(*database_urls, keys, services=("intake",)))
    try:
        url = intake.url
        assert _status(url + protocol.PATH_INQUIRY_CHALLENGE, {}) == 404
        assert _status(url + protocol.PATH_CHECK_IN, {}) == 404
        setup.poll("T1", "open")
        authorization = setup.check_in("T1", election.card(election.eligible()[6]))["authorization"]
        booth = BallotServerClient(url, "T1", setup.terminals["T1"].signing_key)
        receipt = booth.cast(setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE))
        assert booth.lookup(receipt.tracking_code)["kind"] == "ballot"
    finally:
        intake.stop()


def test_a_host_without_its_service_key_refuses_to_start(
    election: Election, database_urls: tuple[str, str]
) -> None:
    for services, missing in ((("intake",), "server"), (("inquiry",), "inquiry")):
        other = ("inquiry",) if services == ("intake",) else ("intake",)
        keys = election.keys.for_services(other)
        with pytest.raises(MissingKey) as caught:
            ServerState(ServerConfig(*database_urls, keys, services=services))
        assert caught.value.role == missing


def _answer(client: BallotServerClient, card: Card, challenge: dict[str, Any]) -> Any:
    signature = card.sign(challenge["challenge"])
    return client.check_in(card.certificate, signature, challenge["challenge_id"])


def test_a_challenge_answers_once_even_when_the_answer_was_refused(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    young = next(
        p
        for p in setup.election.people
        if p.on_roll and p.alive and p not in setup.election.eligible()
    )
    young_card = setup.election.card(young)
    challenge = client.inquiry_challenge()
    refused(lambda: _answer(client, young_card, challenge), "underage")
    voter = setup.election.card(setup.election.eligible()[3])
    refused(lambda: _answer(client, voter, challenge), "unknown_challenge")
    setup.check_in("T1", voter)


def test_a_challenge_expires(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    voter = setup.election.card(setup.election.eligible()[4])
    challenge = client.inquiry_challenge()
    setup.clock.now += setup.state.config.challenge_ttl_s + 1
    refused(lambda: _answer(client, voter, challenge), "unknown_challenge")
    setup.check_in("T1", voter)


def test_a_replayed_check_in_request_is_refused_as_a_replay(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    voter = setup.election.card(setup.election.eligible()[5])
    challenge = client.inquiry_challenge()
    body = protocol.card_answer_body(
        challenge["challenge_id"], voter.certificate, voter.sign(challenge["challenge"])
    )
    signed = client.sign(protocol.ACTION_CHECK_IN, body)
    client._request("POST", protocol.PATH_CHECK_IN, signed)
    refused(lambda: client._request("POST", protocol.PATH_CHECK_IN, signed), "replayed_request")
