"""HQ sees refusals by reason per station, counted exactly and holding no one's identity."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from server_harness import Card, Election, Setup, make_setup
from sqlalchemy import select

from ballot_server.hq_overview import overview, turnout_table
from ballot_server.registry_models import RefusalCount
from ballot_server.setup import revoke_card
from crypto.signing import SigningKey
from evote import protocol
from evote.client import ServerRefused
from evote.sample import Person


def refused_code(call: Callable[[], Any]) -> str:
    with pytest.raises(ServerRefused) as caught:
        call()
    return caught.value.code


def somebody(election: Election, predicate: Callable[[Person], bool]) -> Person:
    return next(p for p in election.people if predicate(p))


def refusals_at(setup: Setup) -> dict[str, dict[str, int]]:
    return {s["station_id"]: s["refusals"] for s in overview(setup.state)["stations"]}


def test_each_refusal_reason_shows_up_at_its_station_with_its_count(setup: Setup) -> None:
    election = setup.election
    eligible = election.eligible()
    made: Counter[tuple[str, str]] = Counter()

    def refuse(station: str, call: Callable[[], Any]) -> None:
        made[(station, refused_code(call))] += 1

    voter = election.card(eligible[0])
    refuse("S-101", lambda: setup.check_in("T1", voter))  # polls_not_open
    setup.poll("T1", "open")
    setup.poll("T3", "open")
    stranger = election.card(somebody(election, lambda p: not p.on_roll))
    for _ in range(3):
        refuse("S-101", lambda: setup.check_in("T1", stranger))
    dead = election.card(somebody(election, lambda p: p.on_roll and not p.alive))
    refuse("S-101", lambda: setup.check_in("T2", dead))
    young = somebody(election, lambda p: p.on_roll and p.alive and p not in eligible)
    refuse("S-101", lambda: setup.check_in("T1", election.card(young)))
    refuse("S-101", lambda: setup.check_in("T1", setup.official()))
    setup.check_in("T1", voter)
    refuse("S-102", lambda: setup.check_in("T3", voter))
    refuse("S-101", lambda: setup.check_in("T1", voter))
    forged = Card(
        voter.key,
        SigningKey.generate().sign("card-certificate", voter.certificate["payload"]).to_json(),
    )
    refuse("S-101", lambda: setup.check_in("T1", forged))
    client = setup.terminals["T1"]
    card = election.card(eligible[1])
    refuse("S-101", lambda: client.check_in(card.certificate, card.sign("00" * 32), "0" * 32))
    revoked = election.card(eligible[2])
    revoke_card(setup.state, revoked.certificate["payload"]["card_id"])
    refuse("S-101", lambda: setup.check_in("T1", revoked))

    desk = setup.terminals["T2"]
    challenge = desk.inquiry_challenge()
    passed = election.card(eligible[3])
    qr_pass = desk.issue_pass(
        passed.certificate, passed.sign(challenge["challenge"]), challenge["challenge_id"]
    )["qr_pass"]
    refuse("S-102", lambda: setup.terminals["T3"].redeem_pass(qr_pass))
    client.redeem_pass(qr_pass)
    refuse("S-101", lambda: client.redeem_pass(qr_pass))

    challenge = client.inquiry_challenge()
    body = protocol.card_answer_body(
        challenge["challenge_id"], stranger.certificate, stranger.sign(challenge["challenge"])
    )
    envelope = client.sign(protocol.ACTION_CHECK_IN, body)
    made[
        ("S-101", refused_code(lambda: client._request("POST", protocol.PATH_CHECK_IN, envelope)))
    ] += 1
    replayed = refused_code(lambda: client._request("POST", protocol.PATH_CHECK_IN, envelope))
    assert replayed == "replayed_request"

    expected: dict[str, dict[str, int]] = {}
    for (station, code), count in made.items():
        expected.setdefault(station, {})[code] = count
    assert set(expected["S-101"]) >= {
        "polls_not_open",
        "not_on_roll",
        "deceased",
        "underage",
        "not_a_voter_card",
        "already_voted",
        "card_not_genuine",
        "unknown_challenge",
        "card_revoked",
        "pass_used",
    }
    assert expected["S-101"]["not_on_roll"] == 4
    assert expected["S-102"] == {"already_voted": 1, "pass_wrong_station": 1}
    assert "replayed_request" not in expected["S-101"]
    counted = refusals_at(setup)
    assert counted["S-101"] == expected["S-101"]
    assert counted["S-102"] == expected["S-102"]
    assert counted["S-201"] == {}

    with urllib.request.urlopen(f"{setup.server.url}/api/v1/hq", timeout=10) as response:
        figures = json.loads(response.read())
    row = next(s for s in figures["stations"] if s["station_id"] == "S-101")
    assert row["refusals"] == expected["S-101"]
    assert row["refused"] == sum(expected["S-101"].values())
    assert figures["total"]["refused"] == sum(made.values())
    assert figures["refusal_messages"]["deceased"]["en"] == "Registered deceased."

    lines = turnout_table(overview(setup.state))
    assert "refused at S-102: already_voted 1, pass_wrong_station 1" in lines
    header = lines[0].split()
    assert header[:6] == ["station", "polls", "check-ins", "cast", "waiting", "refused"]
    station_line = next(line for line in lines if line.startswith("S-101"))
    assert station_line.split()[5] == str(sum(expected["S-101"].values()))


def test_the_counts_hold_no_voter_card_terminal_or_time(setup: Setup) -> None:
    setup.poll("T1", "open")
    stranger = next(p for p in setup.election.people if not p.on_roll)
    card = setup.election.card(stranger)
    refused_code(lambda: setup.check_in("T1", card))
    with setup.state.registry_engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(select(RefusalCount.__table__))]
    assert rows == [("S-101", "not_on_roll", 1)]
    assert list(RefusalCount.__table__.columns.keys()) == ["station_id", "code", "count"]


def test_concurrent_refusals_on_postgresql_are_all_counted(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        setup.poll("T3", "open")
        voted = election.card(election.eligible()[0])
        setup.check_in("T3", voted)
        stranger = election.card(next(p for p in election.people if not p.on_roll))
        attempts = [
            (terminal, card)
            for _ in range(4)
            for terminal in ("T1", "T2")
            for card in (voted, stranger, voted)
        ]
        challenges = [setup.terminals[t].inquiry_challenge() for t, _ in attempts]
        barrier = threading.Barrier(len(attempts))

        def attempt(index: int) -> str:
            terminal, card = attempts[index]
            challenge = challenges[index]
            barrier.wait()
            return refused_code(
                lambda: setup.terminals[terminal].check_in(
                    card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]
                )
            )

        with ThreadPoolExecutor(len(attempts)) as pool:
            outcomes = Counter(pool.map(attempt, range(len(attempts))))
        assert outcomes == {"already_voted": 16, "not_on_roll": 8}
        assert refusals_at(setup)["S-101"] == {"already_voted": 16, "not_on_roll": 8}
    finally:
        setup.server.stop()
