"""The whole path of a vote through a real server: open, check in, challenge, cast, close."""

from __future__ import annotations

import pytest
from server_harness import Setup

from crypto.ballot import GENESIS_TRACKING_CODE
from evote.client import ServerRefused


def test_a_voter_checks_in_challenges_casts_and_the_station_closes_reconciled(
    setup: Setup,
) -> None:
    opened = setup.poll("T1", "open")
    assert opened["state"] == "open"
    assert opened["report"]["payload"]["report"] == "zero"
    voter = setup.election.card(setup.election.eligible()[0])
    authorization = setup.check_in("T1", voter)["authorization"]

    spoiled = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE, challenge=True)
    challenged = setup.terminals["T1"].challenge(spoiled)
    assert challenged["choices"] == {"majlis": ["1101"], "experts": ["2201"]}

    body = setup.ballot("T1", authorization, 2, bytes.fromhex(spoiled["tracking_code"]))
    envelope = setup.terminals["T1"].sign("cast", body)
    receipt = setup.terminals["T1"].submit_cast(envelope)
    assert receipt.board_position == 1 and receipt.sequence == 2
    again = setup.terminals["T1"].submit_cast(envelope)
    assert again == receipt
    lookup = setup.terminals["T1"].lookup(receipt.tracking_code)
    assert lookup["found"] and lookup["kind"] == "ballot"

    closed = setup.poll("T1", "close")
    report = closed["report"]["payload"]
    assert report["reconciled"] and report["ballots_cast"] == 1 and report["challenged"] == 1
    assert report["terminals"][0]["last_sequence"] == 2
    with pytest.raises(ServerRefused) as refused:
        setup.poll("T1", "open")
    assert refused.value.code == "illegal_transition"
