"""A contest copied from another voter's ballot is refused at intake, and nothing is stored.

The copy carries valid proofs (they are bound to the election, not to the
ballot), so only the repeated ciphertext gives it away; casting it would let
the attacker watch the tally move with the victim's vote.
"""

from __future__ import annotations

from typing import Any

from server_harness import Setup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from test_refusals import refused

from ballot_server.models import BoardEntry, CiphertextAlpha, SpentAuthorization
from crypto.ballot import GENESIS_TRACKING_CODE, EncryptedBallot, tracking_code


def _count(setup: Setup, model: Any) -> int:
    with Session(setup.state.engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_copied_contest_is_refused_and_nothing_is_stored(setup: Setup) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    voters = setup.election.eligible()
    victim_authorization, attacker_authorization = (
        setup.check_in("T1", setup.election.card(voter))["authorization"] for voter in voters[:2]
    )
    victim = setup.ballot("T1", victim_authorization, 1, GENESIS_TRACKING_CODE)
    head = bytes.fromhex(client.cast(victim).tracking_code)
    per_ballot = sum(len(c["selections"]) + 1 for c in victim["ballot"]["contests"])
    stored = (_count(setup, BoardEntry), _count(setup, CiphertextAlpha))
    assert stored == (1, per_ballot)

    copy = setup.ballot("T1", attacker_authorization, 2, head)
    copy["ballot"]["contests"][1] = victim["ballot"]["contests"][1]
    copy["tracking_code"] = tracking_code(EncryptedBallot.from_json(copy["ballot"]), head).hex()
    refused(lambda: client.cast(copy), "copied_ciphertext")
    assert (_count(setup, BoardEntry), _count(setup, CiphertextAlpha)) == stored
    assert _count(setup, SpentAuthorization) == 1

    honest = setup.ballot("T1", attacker_authorization, 2, head)
    client.cast(honest)
    assert (_count(setup, BoardEntry), _count(setup, CiphertextAlpha)) == (2, 2 * per_ballot)
