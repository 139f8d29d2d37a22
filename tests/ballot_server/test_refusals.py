"""Every refusal reason answers 4xx with its catalogue code and both messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from server_harness import Setup

from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.signing import SigningKey
from evote.client import BallotServerClient, ServerRefused
from evote.protocol import build_terminal_request
from evote.refusals import CATALOGUE
from evote.sample import Person


def refused(call: Callable[[], Any], code: str) -> ServerRefused:
    with pytest.raises(ServerRefused) as caught:
        call()
    assert caught.value.code == code, caught.value
    entry = CATALOGUE[code]
    assert caught.value.status == entry.status
    assert caught.value.message_fa == entry.message_fa
    return caught.value


def person(setup: Setup, predicate: Callable[[Person], bool]) -> Person:
    return next(p for p in setup.election.people if predicate(p))


def test_voter_refusals_name_the_reason(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    setup.poll("T3", "open")
    eligible = setup.election.eligible()
    card = setup.election.card(eligible[0])
    setup.check_in("T1", card)
    answer = refused(lambda: setup.check_in("T3", card), "already_voted")
    assert answer.details["station_id"] == "S-101"
    refused(
        lambda: setup.check_in("T1", setup.election.card(person(setup, lambda p: not p.on_roll))),
        "not_on_roll",
    )
    dead = person(setup, lambda p: p.on_roll and not p.alive)
    refused(lambda: setup.check_in("T1", setup.election.card(dead)), "deceased")
    young = next(p for p in setup.election.people if p.on_roll and p.alive and p not in eligible)
    refused(lambda: setup.check_in("T1", setup.election.card(young)), "underage")
    official = setup.official()
    refused(lambda: setup.check_in("T1", official), "not_a_voter_card")


def test_card_refusals(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    voter = setup.election.eligible()[1]
    forged_registry = SigningKey.generate()
    card = setup.election.card(voter)
    forged = dict(card.certificate)
    forged_card = type(card)(
        card.key, forged_registry.sign("card-certificate", card.certificate["payload"]).to_json()
    )
    refused(lambda: setup.check_in("T1", forged_card), "card_not_genuine")
    client = setup.terminals["T1"]
    challenge = client.inquiry_challenge()
    bad_signature = SigningKey.generate().sign_bytes(bytes.fromhex(challenge["challenge"]))
    refused(
        lambda: client.check_in(forged, bad_signature, challenge["challenge_id"]),
        "card_signature_invalid",
    )
    refused(lambda: client.check_in(forged, bad_signature, "0" * 32), "unknown_challenge")
    other = setup.terminals["T2"].inquiry_challenge()
    refused(
        lambda: client.check_in(forged, card.sign(other["challenge"]), other["challenge_id"]),
        "unknown_challenge",
    )
    from ballot_server.setup import revoke_card

    revoke_card(setup.state, card.certificate["payload"]["card_id"])
    refused(lambda: setup.check_in("T1", card), "card_revoked")
    someone = setup.election.eligible()[2]
    mismatched = setup.election.card(
        Person(**{**someone.__dict__, "birth_date": "1350-01-01"})  # type: ignore[arg-type]
    )
    refused(lambda: setup.check_in("T1", mismatched), "card_roll_mismatch")


def test_terminal_request_refusals(setup: Setup) -> None:
    stranger = BallotServerClient(setup.server.url, "T9", SigningKey.generate())
    refused(stranger.inquiry_challenge, "unknown_terminal")
    impostor = BallotServerClient(setup.server.url, "T1", SigningKey.generate())
    refused(impostor.inquiry_challenge, "bad_signature")
    client = setup.terminals["T1"]
    envelope = client.sign("inquiry-challenge", {})
    client._request("POST", "/api/v1/inquiry/challenge", envelope)
    refused(
        lambda: client._request("POST", "/api/v1/inquiry/challenge", envelope), "replayed_request"
    )
    signed_before = client.sign("inquiry-challenge", {})
    setup.clock.now += 1000
    refused(
        lambda: client._request("POST", "/api/v1/inquiry/challenge", signed_before),
        "stale_request",
    )


def test_poll_refusals(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    refused(lambda: setup.poll("T1", "pause"), "illegal_transition")
    voter_card = setup.election.card(setup.election.eligible()[0])
    refused(lambda: setup.poll("T1", "open", voter_card), "not_an_official")
    refused(lambda: setup.poll("T1", "open", setup.official("S-102")), "official_wrong_station")
    setup.poll("T1", "open")
    authorization = setup.check_in("T1", voter_card)["authorization"]
    setup.poll("T1", "pause")
    body = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
    refused(lambda: setup.terminals["T1"].cast(body), "polls_not_open")
    setup.poll("T1", "resume")
    setup.terminals["T1"].cast(body)
    setup.poll("T1", "close")
    from ballot_server.polls import hq_reopen

    assert hq_reopen(setup.state, "S-101") == "paused"


def test_ballot_refusals(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    setup.poll("T3", "open")
    client = setup.terminals["T1"]
    authorization = setup.check_in("T1", setup.election.card(setup.election.eligible()[0]))[
        "authorization"
    ]
    other = setup.check_in("T3", setup.election.card(setup.election.eligible()[1]))["authorization"]
    refused(
        lambda: client.cast(setup.ballot("T1", other, 1, GENESIS_TRACKING_CODE)),
        "authorization_wrong_station",
    )
    forged = SigningKey.generate().sign("authorization", authorization["payload"]).to_json()
    refused(
        lambda: client.cast(setup.ballot("T1", forged, 1, GENESIS_TRACKING_CODE)),
        "authorization_invalid",
    )
    body = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
    wrong_sequence = {**body, "sequence": 5}
    answer = refused(lambda: client.cast(wrong_sequence), "sequence_conflict")
    assert answer.details["expected_sequence"] == 1
    bad_proof = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
    bad_proof["ballot"]["contests"][0]["selections"][0]["proof"] = body["ballot"]["contests"][0][
        "selections"
    ][1]["proof"]
    from crypto.ballot import EncryptedBallot, tracking_code

    bad_proof["tracking_code"] = tracking_code(
        EncryptedBallot.from_json(bad_proof["ballot"]), GENESIS_TRACKING_CODE
    ).hex()
    refused(lambda: client.cast(bad_proof), "invalid_proof")
    refused(lambda: client.cast({**body, "tracking_code": "ab" * 32}), "tracking_code_mismatch")
    first = client.cast(body)
    second = setup.ballot("T1", authorization, 2, bytes.fromhex(first.tracking_code))
    refused(lambda: client.cast(second), "authorization_used")
    refused(
        lambda: client.cast(setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)),
        "sequence_conflict",
    )
    expiring = setup.check_in("T1", setup.election.card(setup.election.eligible()[2]))[
        "authorization"
    ]
    setup.clock.now += 3600
    late = setup.ballot("T1", expiring, 2, bytes.fromhex(first.tracking_code))
    signed_late = build_terminal_request(
        client.signing_key, "T1", "cast", late, now=setup.clock.now
    )
    refused(lambda: client.submit_cast(signed_late), "authorization_expired")


def test_qr_pass_is_redeemed_once_at_its_station(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    desk = setup.terminals["T2"]
    card = setup.election.card(setup.election.eligible()[0])
    challenge = desk.inquiry_challenge()
    qr_pass = desk.issue_pass(
        card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]
    )["qr_pass"]
    refused(lambda: setup.terminals["T3"].redeem_pass(qr_pass), "pass_wrong_station")
    authorization = setup.terminals["T1"].redeem_pass(qr_pass)["authorization"]
    assert authorization["kind"] == "authorization"
    refused(lambda: setup.terminals["T1"].redeem_pass(qr_pass), "pass_used")
    forged = SigningKey.generate().sign("qr-pass", qr_pass["payload"]).to_json()
    refused(lambda: setup.terminals["T1"].redeem_pass(forged), "pass_invalid")
    setup.clock.now += 7200
    redeem = build_terminal_request(
        setup.terminals["T1"].signing_key,
        "T1",
        "redeem-pass",
        {"qr_pass": qr_pass},
        now=setup.clock.now,
    )
    refused(
        lambda: setup.terminals["T1"]._request("POST", "/api/v1/inquiry/passes/redeem", redeem),
        "pass_expired",
    )
