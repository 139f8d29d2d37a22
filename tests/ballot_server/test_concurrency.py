"""Races against a real server: one check-in per voter, one unbroken chain."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from server_harness import Card, Election, Setup, held, make_setup, wait_for_roots
from test_bad_input import post

from ballot_server import national
from ballot_server.blueprints import intake as intake_blueprint
from ballot_server.board import entry_hash
from ballot_server.chains import GENESIS_HASH
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.canonical import canonical_json
from evote import protocol
from evote.client import ServerRefused


def test_two_stations_racing_for_one_voter_exactly_one_wins(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, postgres_urls)
    other = election.card(election.eligible()[8])
    try:
        for terminal in ("T1", "T3", "T4"):
            setup.poll(terminal, "open")
        for voter in election.eligible()[:8]:
            card = election.card(voter)
            challenges = {t: setup.terminals[t].inquiry_challenge() for t in ("T1", "T3", "T4")}
            barrier = threading.Barrier(len(challenges))

            def attempt(terminal: str) -> str:
                challenge = challenges[terminal]  # noqa: B023
                barrier.wait()  # noqa: B023
                try:
                    setup.terminals[terminal].check_in(
                        card.certificate,  # noqa: B023
                        card.sign(challenge["challenge"]),  # noqa: B023
                        challenge["challenge_id"],
                    )
                    return "won"
                except ServerRefused as refusal:
                    return refusal.code

            with ThreadPoolExecutor(len(challenges)) as pool:
                outcomes = sorted(pool.map(attempt, challenges))
            assert outcomes == ["already_voted", "already_voted", "won"]
            # The losers' challenges are spent too: no other card can answer them.
            for terminal, challenge in challenges.items():
                with pytest.raises(ServerRefused) as late:
                    setup.terminals[terminal].check_in(
                        other.certificate,
                        other.sign(challenge["challenge"]),
                        challenge["challenge_id"],
                    )
                assert late.value.code == "unknown_challenge"
    finally:
        setup.server.stop()


def test_one_challenge_answered_by_several_cards_at_once_admits_exactly_one(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    """A challenge is good for one answer even when the answers arrive together (the
    spent-challenge key decides, as the check-in key does for one voter)."""
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        client = setup.terminals["T1"]
        cards = [election.card(voter) for voter in election.eligible()[:6]]
        challenge = client.inquiry_challenge()
        barrier = threading.Barrier(len(cards))

        def attempt(card: Card) -> str:
            signature = card.sign(challenge["challenge"])
            barrier.wait()
            try:
                client.check_in(card.certificate, signature, challenge["challenge_id"])
                return "won"
            except ServerRefused as refusal:
                return refusal.code

        with ThreadPoolExecutor(len(cards)) as pool:
            outcomes = sorted(pool.map(attempt, cards))
        assert outcomes == ["unknown_challenge"] * (len(cards) - 1) + ["won"]
    finally:
        setup.server.stop()


def test_concurrent_intake_at_several_stations_keeps_every_shard_unbroken(
    setup: Setup,
) -> None:
    for terminal in ("T1", "T3", "T4"):
        setup.poll(terminal, "open")
    voters = iter(setup.election.eligible())
    plan = {
        terminal: [
            setup.check_in(terminal, setup.election.card(next(voters)))["authorization"]
            for _ in range(4)
        ]
        for terminal in ("T1", "T3", "T4")
    }

    def run(terminal: str) -> int:
        previous = GENESIS_TRACKING_CODE
        for sequence, authorization in enumerate(plan[terminal], start=1):
            receipt = setup.terminals[terminal].cast(
                setup.ballot(terminal, authorization, sequence, previous)
            )
            previous = bytes.fromhex(receipt.tracking_code)
        return sequence

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(run, plan)) == [4, 4, 4]
    for station in ("S-101", "S-102", "S-201"):
        board = setup.terminals["T1"]._request(
            "GET", f"/api/v1/board?station={station}&start=0&limit=1000"
        )
        previous = GENESIS_HASH
        for position, entry in enumerate(board["entries"]):
            assert entry["position"] == position and entry["previous_hash"] == previous
            expected = entry_hash(
                previous, station, position, entry["kind"], canonical_json(entry["payload"])
            )
            assert entry["entry_hash"] == expected
            previous = expected
        assert board["length"] == 4 and board["head_hash"] == previous


def _post_all(url: str, envelopes: list[dict[str, object]]) -> list[tuple[int, object]]:
    barrier = threading.Barrier(len(envelopes))

    def send(envelope: dict[str, object]) -> tuple[int, object]:
        barrier.wait()
        return post(url, json.dumps(envelope).encode())

    with ThreadPoolExecutor(len(envelopes)) as pool:
        return list(pool.map(send, envelopes))


def test_ballots_racing_for_one_sequence_get_one_receipt_and_conflicts_never_a_500(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        client = setup.terminals["T1"]
        voters = iter(election.eligible())
        previous = GENESIS_TRACKING_CODE
        for sequence in range(1, 4):
            envelopes = [
                client.sign(
                    "cast",
                    setup.ballot(
                        "T1",
                        setup.check_in("T1", election.card(next(voters)))["authorization"],
                        sequence,
                        previous,
                    ),
                )
                for _ in range(4)
            ]
            answers = _post_all(setup.server.url + protocol.PATH_CAST, envelopes)
            codes = sorted(
                "receipt" if status == 200 else body["code"]  # type: ignore[index]
                for status, body in answers
            )
            assert codes == ["receipt"] + ["sequence_conflict"] * 3
            receipt = next(body for status, body in answers if status == 200)
            previous = bytes.fromhex(receipt["receipt"]["payload"]["tracking_code"])  # type: ignore[index]
    finally:
        setup.server.stop()


def test_concurrent_resends_of_one_signed_cast_all_get_its_one_receipt(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        client = setup.terminals["T1"]
        voters = iter(election.eligible())
        previous = GENESIS_TRACKING_CODE
        for sequence in range(1, 4):
            authorization = setup.check_in("T1", election.card(next(voters)))["authorization"]
            envelope = client.sign("cast", setup.ballot("T1", authorization, sequence, previous))
            answers = _post_all(setup.server.url + protocol.PATH_CAST, [envelope] * 10)
            assert {status for status, _ in answers} == {200}, answers
            receipts = {json.dumps(body, sort_keys=True) for _, body in answers}
            assert len(receipts) == 1
            previous = bytes.fromhex(answers[0][1]["receipt"]["payload"]["tracking_code"])  # type: ignore[index]
        board = client._request("GET", protocol.PATH_BOARD)
        assert board["length"] == 3
    finally:
        setup.server.stop()


def test_a_ballot_never_waits_on_another_stations_lock_nor_on_a_root(
    election: Election, postgres_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The only row a ballot locks is its own station's. Another transaction holds
    station S-101's row and the national log's head (as a ballot there and a root
    being published would) while a ballot at S-102 is cast: it is accepted at once,
    and the root it would have published is left to whoever holds the head.

    The worker tries that root after its answer has gone out: the test waits for the
    attempt to end while the head is still held (on a busy machine it could otherwise
    run after the release and publish the root the test publishes last)."""
    attempted = threading.Event()

    def publish_when_due(state: Any) -> None:
        national.publish_when_due(state)
        attempted.set()

    monkeypatch.setattr(intake_blueprint, "publish_when_due", publish_when_due)
    setup, _ = make_setup(election, postgres_urls, root_interval_s=0)
    try:
        for terminal in ("T1", "T3"):
            setup.poll(terminal, "open")
        voters = iter(election.eligible())
        authorization = setup.check_in("T3", election.card(next(voters)))["authorization"]
        with held(
            setup,
            "SET lock_timeout = '30s'",
            "SELECT 1 FROM stations WHERE station_id = 'S-101' FOR UPDATE",
            "SELECT 1 FROM chains WHERE name = 'national' FOR UPDATE",
        ):
            receipt = setup.terminals["T3"].cast(
                setup.ballot("T3", authorization, 1, GENESIS_TRACKING_CODE)
            )
            assert (receipt.station_id, receipt.board_position) == ("S-102", 0)
            assert attempted.wait(20), "the worker's root attempt waited on the held head"
            assert national.roots(setup.state) == []
        assert national.publish_root(setup.state) is not None
    finally:
        setup.server.stop()


def test_the_ballot_that_makes_a_root_due_is_answered_before_the_root_is_published(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    """A root at the national peak takes seconds to publish, longer than a terminal
    waits for its answer. Another transaction holds the table of stored nodes, as a
    slow publish would keep its worker inside it: the ballot that makes a root due
    still gets its receipt while that is held, and the root follows once it is
    released, covering that ballot."""
    setup, _ = make_setup(election, postgres_urls, root_interval_s=0)
    try:
        setup.poll("T1", "open")
        authorization = setup.check_in("T1", election.card(next(iter(election.eligible()))))[
            "authorization"
        ]
        with held(setup, "LOCK TABLE merkle_nodes IN EXCLUSIVE MODE"):
            receipt = setup.terminals["T1"].cast(
                setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
            )
            assert (receipt.station_id, receipt.board_position) == ("S-101", 0)
            assert national.roots(setup.state) == []
        [root] = wait_for_roots(setup.state, 1)
        assert root["payload"]["tree_size"] == 1
    finally:
        setup.server.stop()
