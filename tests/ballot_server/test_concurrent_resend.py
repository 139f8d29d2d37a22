"""A ballot resent while its first delivery is still in flight gets its receipt, never a refusal.

The terminal resends a journaled ballot whenever an answer was lost, and an
answer lost on the way back means the first delivery may still be committing
when the resend arrives. Every copy must get the one stored receipt: a refusal
would make the uplink flag a ballot that is on the board.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from server_harness import Setup

from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol
from evote.client import ServerRefused

COPIES = 10


def race(send: Any, envelope: dict[str, Any]) -> list[Any]:
    barrier = threading.Barrier(COPIES)

    def attempt(_: int) -> Any:
        barrier.wait()
        try:
            return send(envelope)
        except ServerRefused as refusal:
            return refusal.code

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(attempt, range(COPIES)))


def board_length(setup: Setup) -> int:
    board = setup.terminals["T1"]._request("GET", "/api/v1/board?start=0&limit=1000")
    return int(board["length"])


def test_ten_concurrent_resends_of_one_cast_all_get_the_same_receipt(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    previous = GENESIS_TRACKING_CODE
    for sequence in (1, 2, 3):
        authorization = setup.check_in(
            "T1", setup.election.card(setup.election.eligible()[sequence])
        )
        envelope = client.sign(
            protocol.ACTION_CAST,
            setup.ballot("T1", authorization["authorization"], sequence, previous),
        )
        outcomes = race(client.submit_cast, envelope)
        envelopes = {str(outcome.envelope) for outcome in outcomes if not isinstance(outcome, str)}
        assert [o for o in outcomes if isinstance(o, str)] == []
        assert len(envelopes) == 1
        previous = bytes.fromhex(outcomes[0].tracking_code)
    assert board_length(setup) == 3


def test_ten_concurrent_resends_of_one_challenge_publish_it_once(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    authorization = setup.check_in("T1", setup.election.card(setup.election.eligible()[0]))
    body = setup.ballot(
        "T1", authorization["authorization"], 1, GENESIS_TRACKING_CODE, challenge=True
    )
    outcomes = race(client.submit_challenge, client.sign(protocol.ACTION_CHALLENGE, body))
    assert [o for o in outcomes if isinstance(o, str)] == []
    assert {outcome["board_position"] for outcome in outcomes} == {0}
    assert board_length(setup) == 1


def test_a_different_ballot_at_a_taken_sequence_is_still_refused(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    first, second = (
        setup.check_in("T1", setup.election.card(voter))["authorization"]
        for voter in setup.election.eligible()[:2]
    )
    client.cast(setup.ballot("T1", first, 1, GENESIS_TRACKING_CODE))
    try:
        client.cast(setup.ballot("T1", second, 1, GENESIS_TRACKING_CODE))
    except ServerRefused as refusal:
        assert refusal.code == "sequence_conflict"
    else:
        raise AssertionError("a second ballot at sequence 1 was accepted")
    assert board_length(setup) == 1
