"""A voter whose check-in a dead booth holds is released once HQ revokes that booth.

The booth that checked the voter in sealed its release key for the voter's card
(``evote/release_escrow.py``); the ``already_voted`` refusal at another booth of
the station hands the box back, the card opens it, and that booth voids the
authorization for the revoked holder, releases the check-in and checks the voter
in again. Before the revocation the server refuses (the holder might still
deliver a ballot cast with it); a ballot the holder delivered first wins, and
the voter is not released; on PostgreSQL a revocation racing the holder's late
casts and the other booth's recoveries leaves at most one ballot per voter.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from server_harness import Card, Election, Setup, make_setup
from sqlalchemy import select
from test_refusals import refused

from ballot_server.config import ServerConfig
from ballot_server.errors import SetupError
from ballot_server.models import AuditEntry
from ballot_server.setup import revoke_terminal
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol, release_escrow
from evote.client import ServerRefused


def _escrow_signature(setup: Setup, card: Card) -> bytes:
    """What the voter's card signs to open (and seal) its release box."""
    election_id = setup.state.election().election_id
    return card.key.sign_bytes(release_escrow.card_message(election_id))


def _check_in(setup: Setup, terminal: str, card: Card) -> tuple[dict[str, Any], bytes]:
    """A booth's check-in with its release key sealed for the card: (authorization, key)."""
    client = setup.terminals[terminal]
    release_key = os.urandom(protocol.RELEASE_KEY_BYTES)
    challenge = client.inquiry_challenge()
    answer = client.check_in(
        card.certificate,
        card.sign(challenge["challenge"]),
        challenge["challenge_id"],
        release_key,
        release_escrow.seal(_escrow_signature(setup, card), release_key, terminal),
    )
    return answer["authorization"], release_key


def _recover(setup: Setup, terminal: str, card: Card) -> dict[str, Any]:
    """What another booth does on ``already_voted``: open the box, void for its holder,
    release. Answers the release (or raises the refusal)."""
    client = setup.terminals[terminal]
    refusal = refused(lambda: _check_in(setup, terminal, card), "already_voted")
    release_key, holder = release_escrow.open_box(
        _escrow_signature(setup, card), refusal.details["release_escrow"]
    )
    key = protocol.authorization_key(release_key)
    void = client.void(
        "S-101", protocol.authorization_id(key, holder), protocol.REVOKED_HOLDER, (holder, key)
    )["void"]
    national_code = card.certificate["payload"]["national_code"]
    released: dict[str, Any] = client.release(national_code, release_key, void)
    return released


def _revoke(election: Election, urls: tuple[str, str], terminal_id: str) -> None:
    """HQ, from its own process (as ``evote server revoke-terminal`` runs)."""
    hq_state = ServerState(ServerConfig(*urls, election.keys))
    try:
        revoke_terminal(hq_state, terminal_id, "booth dead: power supply burnt")
    finally:
        hq_state.dispose()


def test_a_voter_held_by_a_dead_booth_votes_at_another_once_hq_revoked_it(
    election: Election, database_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, database_urls, terminal_cache_s=0.0)
    try:
        setup.poll("T2", "open")
        voter, other = (election.card(p) for p in election.eligible()[:2])
        held, _ = _check_in(setup, "T1", voter)  # T1 then dies with the voter's session
        journaled = setup.ballot("T1", held, 1, GENESIS_TRACKING_CODE)
        # Not before the holder is revoked: it could still deliver a ballot cast with it.
        refused(lambda: _recover(setup, "T2", voter), "holder_not_revoked")
        # The box opens only with the voter's card.
        refusal = refused(lambda: _check_in(setup, "T2", voter), "already_voted")
        try:
            release_escrow.open_box(
                _escrow_signature(setup, other), refusal.details["release_escrow"]
            )
        except release_escrow.EscrowError:
            pass
        else:
            raise AssertionError("another card opened the voter's release box")
        _revoke(election, database_urls, "T1")
        assert _recover(setup, "T2", voter) == {"released": True}
        second, _ = _check_in(setup, "T2", voter)
        setup.terminals["T2"].cast(setup.ballot("T2", second, 1, GENESIS_TRACKING_CODE))
        # The dead booth's ballot can no longer arrive (its authorization is void too).
        refused(lambda: setup.terminals["T1"].cast(journaled), "terminal_revoked")
        refused(lambda: _check_in(setup, "T2", voter), "already_voted")
        # A voter T2 checked in itself is not its to recover: T2 releases its own.
        _check_in(setup, "T2", other)
        refusal = refused(lambda: _check_in(setup, "T2", other), "already_voted")
        _, holder = release_escrow.open_box(
            _escrow_signature(setup, other), refusal.details["release_escrow"]
        )
        assert holder == "T2"
        setup.poll("T2", "close")
        report = setup.poll_report("S-101")
        assert (report["check_ins"], report["authorizations_issued"]) == (2, 3)
        assert (report["ballots_cast"], report["authorizations_voided"]) == (1, 1)
        assert (report["authorizations_released"], report["authorizations_unused"]) == (1, 1)
        assert report["reconciled"] is True
    finally:
        setup.server.stop()


def test_a_ballot_the_revoked_holder_delivered_first_keeps_its_voter_checked_in(
    election: Election, database_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, database_urls, terminal_cache_s=0.0)
    try:
        setup.poll("T1", "open")
        voter = election.card(election.eligible()[2])
        held, _ = _check_in(setup, "T1", voter)
        setup.terminals["T1"].cast(setup.ballot("T1", held, 1, GENESIS_TRACKING_CODE))
        _revoke(election, database_urls, "T1")
        refused(lambda: _recover(setup, "T2", voter), "authorization_used")
        refused(lambda: _check_in(setup, "T2", voter), "already_voted")
    finally:
        setup.server.stop()


def test_a_void_for_a_revoked_holder_must_name_the_authorizations_real_holder(
    election: Election, database_urls: tuple[str, str]
) -> None:
    """Naming a revoked terminal for an authorization a live one holds: the id does not
    derive from the key and that terminal, so the request is malformed; and a box's
    key with a wrong holder releases nothing."""
    setup, _ = make_setup(election, database_urls, terminal_cache_s=0.0)
    try:
        setup.poll("T2", "open")
        voter = election.card(election.eligible()[3])
        _, release_key = _check_in(setup, "T2", voter)  # live T2 holds it
        _revoke(election, database_urls, "T1")
        key = protocol.authorization_key(release_key)
        real_id = protocol.authorization_id(key, "T2")
        client = setup.terminals["T2"]
        refused(
            lambda: client.void("S-101", real_id, protocol.REVOKED_HOLDER, ("T1", key)),
            "malformed_request",
        )
        # Self-consistent for T1, but not what the inquiry issued: releases nothing.
        fake_id = protocol.authorization_id(key, "T1")
        void = client.void("S-101", fake_id, protocol.REVOKED_HOLDER, ("T1", key))["void"]
        national_code = voter.certificate["payload"]["national_code"]
        assert client.release(national_code, release_key, void) == {"released": False}
        refused(lambda: _check_in(setup, "T2", voter), "already_voted")
    finally:
        setup.server.stop()


def test_one_ballot_per_voter_when_revocation_races_late_casts_and_recoveries(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    """T1 checked eight voters in and journaled a ballot for each; it delivers them
    late while HQ revokes it and T2 recovers each voter and has them vote again:
    whatever the interleaving, each voter has at most one ballot on the board, and
    every voter either has T1's ballot or was released and voted at T2."""
    setup, _ = make_setup(election, postgres_urls, terminal_cache_s=0.0)
    try:
        setup.poll("T1", "open")
        voters = [election.card(person) for person in election.eligible()[4:12]]
        held = [_check_in(setup, "T1", card)[0] for card in voters]
        previous, journaled = GENESIS_TRACKING_CODE, []
        for sequence, authorization in enumerate(held, start=1):
            body = setup.ballot("T1", authorization, sequence, previous)
            journaled.append(setup.terminals["T1"].sign(protocol.ACTION_CAST, body))
            previous = bytes.fromhex(body["tracking_code"])
        barrier = threading.Barrier(3)

        def deliver() -> set[str]:
            barrier.wait()
            delivered = set()
            for envelope, authorization in zip(journaled, held, strict=True):
                try:
                    setup.terminals["T1"].submit_cast(envelope)
                except ServerRefused as refusal:
                    assert refusal.code == "terminal_revoked", refusal.code
                    break
                delivered.add(authorization["payload"]["authorization_id"])
            return delivered

        def revoke() -> None:
            barrier.wait()
            _revoke(election, postgres_urls, "T1")

        def recover_all() -> int:
            barrier.wait()
            voted_again = 0
            for card in voters:
                while True:
                    try:
                        released = _recover(setup, "T2", card)
                    except ServerRefused as refusal:
                        if refusal.code == "holder_not_revoked":
                            continue  # not yet: HQ's revocation is on its way
                        assert refusal.code == "authorization_used", refusal.code
                        break
                    assert released == {"released": True}
                    second, _ = _check_in(setup, "T2", card)
                    head = setup.terminals["T2"].status()
                    setup.terminals["T2"].cast(
                        setup.ballot(
                            "T2",
                            second,
                            head["last_sequence"] + 1,
                            bytes.fromhex(head["chain_head"]),
                        )
                    )
                    voted_again += 1
                    break
            return voted_again

        with ThreadPoolExecutor(3) as pool:
            delivering = pool.submit(deliver)
            revoking = pool.submit(revoke)
            recovering = pool.submit(recover_all)
            delivered, voted_again = delivering.result(), recovering.result()
            revoking.result()
        assert len(delivered) + voted_again == len(voters)
        setup.poll("T2", "close")
        report = setup.poll_report("S-101")
        assert report["ballots_cast"] == len(voters)
        assert report["authorizations_voided"] == voted_again
        assert report["authorizations_released"] == voted_again
        assert report["authorizations_unused"] == 0 and report["reconciled"] is True
    finally:
        setup.server.stop()


def test_revoking_a_terminal_with_ballots_declared_but_not_delivered_needs_abandoning_them(
    election: Election, database_urls: tuple[str, str]
) -> None:
    """Its journaled ballots may carry printed receipts: revoking would refuse them for
    good, so HQ must say so (the booth's journal is lost); the audit event names them."""
    setup, _ = make_setup(election, database_urls, terminal_cache_s=0.0)
    try:
        setup.poll("T1", "open")
        voter = election.card(election.eligible()[12])
        held, _ = _check_in(setup, "T1", voter)
        body = setup.ballot("T1", held, 1, GENESIS_TRACKING_CODE)
        journaled = setup.terminals["T1"].sign(protocol.ACTION_CAST, body)
        head = (1, bytes.fromhex(body["tracking_code"]))
        setup.terminals["T1"].status(protocol.JournalDeclaration(head, waiting=1))
        hq_state = ServerState(ServerConfig(*database_urls, election.keys))
        try:
            with pytest.raises(SetupError, match=r"sequences 1\.\.1.*--abandon-backlog"):
                revoke_terminal(hq_state, "T1", "stolen")
            setup.terminals["T1"].submit_cast(journaled)  # delivered: nothing waits now
            revoke_terminal(hq_state, "T1", "stolen")
        finally:
            hq_state.dispose()
        # T2's booth had a ballot waiting when it was lost with its journal.
        other = election.card(election.eligible()[13])
        held, _ = _check_in(setup, "T2", other)
        body = setup.ballot("T2", held, 1, GENESIS_TRACKING_CODE)
        head = (1, bytes.fromhex(body["tracking_code"]))
        setup.terminals["T2"].status(protocol.JournalDeclaration(head, waiting=1))
        hq_state = ServerState(ServerConfig(*database_urls, election.keys))
        try:
            revoke_terminal(hq_state, "T2", "journal lost", abandon_backlog=True)
            with hq_state.sessions() as session:
                fields = [
                    json.loads(row.fields)
                    for row in session.execute(select(AuditEntry)).scalars()
                    if row.event_id == "terminal.revoked"
                ]
        finally:
            hq_state.dispose()
        assert "abandoned_backlog" not in fields[0]
        assert fields[1]["abandoned_backlog"] == {
            "terminal_id": "T2",
            "first": 1,
            "last": 1,
            "count": 1,
        }
    finally:
        setup.server.stop()
