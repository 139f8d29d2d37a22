"""No voter locked out, at most one ballot per voter: voids and releases at the server.

A terminal voids the authorization it will not use and releases the check-in with
the signed void and its release key; the voter checks in again at the same station.
A void and a cast of one authorization race on one primary key: exactly one wins,
on PostgreSQL under concurrency too.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from server_harness import Card, Election, Setup, make_setup
from test_refusals import refused

from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol
from evote.client import BallotServerClient, ServerRefused


def _check_in(setup: Setup, terminal: str, card: Card, release_key: bytes) -> dict[str, Any]:
    client = setup.terminals[terminal]
    challenge = client.inquiry_challenge()
    answer: dict[str, Any] = client.check_in(
        card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"], release_key
    )
    return answer


def _give_up(client: BallotServerClient, card: Card, release_key: bytes) -> dict[str, Any]:
    """What the terminal does with an authorization it will not use: void, then release."""
    authorization_id, _ = protocol.release_derivation(release_key, client.terminal_id)
    void = client.void("S-101", authorization_id, "cancelled")["void"]
    national_code = card.certificate["payload"]["national_code"]
    released: dict[str, Any] = client.release(national_code, release_key, void)
    return released


def test_a_voided_authorization_frees_the_voter_to_vote_once_and_the_station_reconciles(
    setup: Setup,
) -> None:
    setup.poll("T1", "open")
    setup.poll("T3", "open")
    booth = setup.terminals["T1"]
    card = setup.election.card(setup.election.eligible()[0])
    first_key, second_key = os.urandom(16), os.urandom(16)
    first = _check_in(setup, "T1", card, first_key)["authorization"]
    assert first["payload"]["authorization_id"] == protocol.release_derivation(first_key, "T1")[0]
    refused(lambda: _check_in(setup, "T2", card, os.urandom(16)), "already_voted")
    assert _give_up(booth, card, first_key) == {"released": True}
    assert _give_up(booth, card, first_key) == {"released": False}  # resent: nothing more
    # Released: again at this station (another booth), never at another station.
    refused(lambda: _check_in(setup, "T3", card, os.urandom(16)), "already_voted")
    second = _check_in(setup, "T2", card, second_key)["authorization"]
    refused(lambda: _check_in(setup, "T1", card, os.urandom(16)), "already_voted")
    # The voided authorization casts nothing; the new one casts once.
    refused(
        lambda: booth.cast(setup.ballot("T1", first, 1, GENESIS_TRACKING_CODE)),
        "authorization_used",
    )
    receipt = booth.cast(setup.ballot("T1", second, 1, GENESIS_TRACKING_CODE))
    refused(lambda: _give_up(setup.terminals["T2"], card, second_key), "authorization_used")
    # A void made for a check-in whose answer never came (nothing was issued) is
    # counted apart from releases.
    stray = os.urandom(16)
    booth.void("S-101", protocol.release_derivation(stray, "T1")[0], "answer_lost")
    setup.poll("T1", "close")
    report = setup.poll_report("S-101")
    assert report["check_ins"] == 1 and report["authorizations_issued"] == 2
    assert report["ballots_cast"] == 1 and report["authorizations_voided"] == 2
    assert report["authorizations_released"] == 1 and report["authorizations_unused"] == 0
    assert report["reconciled"] is True
    assert receipt.sequence == 1


def test_a_release_needs_the_key_and_the_void_of_its_own_authorization(setup: Setup) -> None:
    setup.poll("T1", "open")
    booth = setup.terminals["T1"]
    voter, other = (setup.election.card(p) for p in setup.election.eligible()[1:3])
    key, other_key = os.urandom(16), os.urandom(16)
    _check_in(setup, "T1", voter, key)
    _check_in(setup, "T1", other, other_key)
    other_void = booth.void("S-101", protocol.release_derivation(other_key, "T1")[0], "timeout")[
        "void"
    ]
    national_code = voter.certificate["payload"]["national_code"]
    # Another authorization's void, or a forged one, releases nothing.
    refused(lambda: booth.release(national_code, key, other_void), "void_invalid")
    forged = dict(other_void)
    forged["payload"] = {**other_void["payload"], "authorization_id": "00" * 16}
    refused(lambda: booth.release(national_code, key, forged), "void_invalid")
    # The right void with another voter's national code releases nothing either.
    own_void = booth.void("S-101", protocol.release_derivation(key, "T1")[0], "timeout")["void"]
    other_code = other.certificate["payload"]["national_code"]
    assert booth.release(other_code, key, own_void) == {"released": False}
    refused(lambda: _check_in(setup, "T1", other, os.urandom(16)), "already_voted")
    # Nor does it work at another station's terminal.
    setup.poll("T3", "open")
    refused(lambda: setup.terminals["T3"].release(national_code, key, own_void), "void_invalid")
    refused(lambda: _check_in(setup, "T1", voter, os.urandom(16)), "already_voted")
    assert booth.release(national_code, key, own_void) == {"released": True}


def test_one_ballot_per_voter_when_cast_and_void_race_for_one_authorization(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    """Each voter's terminal casts while it (by a fault: a stale session) voids, releases
    and checks the voter in again at another booth, which casts too: whatever the
    interleaving, one ballot per voter reaches the board."""
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        voters = [election.card(person) for person in election.eligible()[:8]]
        keys = [os.urandom(16) for _ in voters]
        authorizations = [
            _check_in(setup, "T1", card, key)["authorization"]
            for card, key in zip(voters, keys, strict=True)
        ]
        # T1 casts all of them in order (one chain); a stale session of T1 tries to give
        # each up meanwhile.
        barrier = threading.Barrier(2)

        def cast_all() -> int:
            barrier.wait()
            previous, cast = GENESIS_TRACKING_CODE, 0
            for authorization in authorizations:
                body = setup.ballot("T1", authorization, cast + 1, previous)
                try:
                    receipt = setup.terminals["T1"].cast(body)
                except ServerRefused as refusal:
                    assert refusal.code == "authorization_used"
                    continue
                previous, cast = bytes.fromhex(receipt.tracking_code), cast + 1
            return cast

        def give_up_all() -> int:
            barrier.wait()
            again = 0
            for card, key in zip(voters, keys, strict=True):
                try:
                    released = _give_up(setup.terminals["T1"], card, key)
                except ServerRefused as refusal:
                    assert refusal.code == "authorization_used"
                    continue
                assert released == {"released": True}
                second = _check_in(setup, "T2", card, os.urandom(16))["authorization"]
                head = setup.terminals["T2"].status()
                body = setup.ballot(
                    "T2",
                    second,
                    head["last_sequence"] + 1,
                    bytes.fromhex(head["chain_head"]),
                )
                setup.terminals["T2"].cast(body)
                again += 1
            return again

        with ThreadPoolExecutor(2) as pool:
            cast_here, cast_again = pool.submit(cast_all), pool.submit(give_up_all)
            total = cast_here.result() + cast_again.result()
        assert total == len(voters)
        board = setup.terminals["T1"]._request("GET", protocol.PATH_BOARD)
        assert board["length"] == len(voters)
        for card in voters:
            refused(lambda card=card: _check_in(setup, "T1", card, os.urandom(16)), "already_voted")
        setup.poll("T1", "close")
        report = setup.poll_report("S-101")
        assert report["ballots_cast"] == len(voters) and report["reconciled"] is True
    finally:
        setup.server.stop()


def test_racing_check_ins_again_of_a_released_voter_admit_exactly_one(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        for person in election.eligible()[:6]:
            card = election.card(person)
            key = os.urandom(16)
            _check_in(setup, "T1", card, key)
            _give_up(setup.terminals["T1"], card, key)
            challenges = {t: setup.terminals[t].inquiry_challenge() for t in ("T1", "T2")}
            barrier = threading.Barrier(2)

            def attempt(terminal: str) -> str:
                challenge = challenges[terminal]  # noqa: B023
                signature = card.sign(challenge["challenge"])  # noqa: B023
                barrier.wait()  # noqa: B023
                try:
                    setup.terminals[terminal].check_in(
                        card.certificate,  # noqa: B023
                        signature,
                        challenge["challenge_id"],
                        os.urandom(16),
                    )
                    return "won"
                except ServerRefused as refusal:
                    return refusal.code

            with ThreadPoolExecutor(2) as pool:
                assert sorted(pool.map(attempt, challenges)) == ["already_voted", "won"]
    finally:
        setup.server.stop()


def _qr_pass(setup: Setup, desk: str, card: Card) -> dict[str, Any]:
    """The voter checked in at a check-in desk: the signed QR pass it printed."""
    client = setup.terminals[desk]
    challenge = client.inquiry_challenge()
    issued = client.issue_pass(
        card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]
    )
    qr_pass: dict[str, Any] = issued["qr_pass"]
    return qr_pass


def _give_up_pass(
    client: BallotServerClient, qr_pass: dict[str, Any], release_key: bytes
) -> dict[str, Any]:
    """What a booth does with a pass's authorization it will not use: void, then release."""
    authorization_id, _ = protocol.release_derivation(release_key, client.terminal_id)
    void = client.void("S-101", authorization_id, "timeout")["void"]
    released: dict[str, Any] = client.release_pass(qr_pass["payload"]["pass_id"], release_key, void)
    return released


def test_a_qr_pass_whose_authorization_was_voided_is_redeemed_again_and_casts_once(
    setup: Setup,
) -> None:
    """A desk voter whose booth session failed scans the same pass again (any booth of
    the station) once the booth voided and released it; never twice, never elsewhere."""
    setup.poll("T1", "open")
    setup.poll("T3", "open")
    booth, other_booth = setup.terminals["T1"], setup.terminals["T2"]
    card = setup.election.card(setup.election.eligible()[3])
    qr_pass = _qr_pass(setup, "T2", card)
    pass_id = qr_pass["payload"]["pass_id"]
    first_key, second_key = os.urandom(16), os.urandom(16)
    first = booth.redeem_pass(qr_pass, first_key)["authorization"]
    assert first["payload"]["authorization_id"] == protocol.release_derivation(first_key, "T1")[0]
    refused(lambda: other_booth.redeem_pass(qr_pass, os.urandom(16)), "pass_used")
    # Another station's booth cannot release it; a void of another key releases nothing.
    void = booth.void("S-101", protocol.release_derivation(first_key, "T1")[0], "timeout")["void"]
    refused(lambda: setup.terminals["T3"].release_pass(pass_id, first_key, void), "void_invalid")
    refused(lambda: booth.release_pass(pass_id, second_key, void), "void_invalid")
    assert booth.release_pass(pass_id, first_key, void) == {"released": True}
    assert _give_up_pass(booth, qr_pass, first_key) == {"released": False}  # resent
    second = other_booth.redeem_pass(qr_pass, second_key)["authorization"]
    refused(lambda: booth.redeem_pass(qr_pass, os.urandom(16)), "pass_used")
    refused(lambda: _qr_pass(setup, "T2", card), "already_voted")
    refused(
        lambda: booth.cast(setup.ballot("T1", first, 1, GENESIS_TRACKING_CODE)),
        "authorization_used",
    )
    other_booth.cast(setup.ballot("T2", second, 1, GENESIS_TRACKING_CODE))
    # Cast: it can no longer be voided, so the pass is never redeemable again.
    refused(lambda: _give_up_pass(other_booth, qr_pass, second_key), "authorization_used")
    refused(lambda: booth.redeem_pass(qr_pass, os.urandom(16)), "pass_used")
    # A pass issued but never redeemed counts no authorization.
    _qr_pass(setup, "T2", setup.election.card(setup.election.eligible()[4]))
    setup.poll("T1", "close")
    report = setup.poll_report("S-101")
    assert report["check_ins"] == 2 and report["passes_issued"] == 2
    assert report["authorizations_issued"] == 2 and report["ballots_cast"] == 1
    assert report["authorizations_voided"] == 1 and report["authorizations_released"] == 1
    assert report["authorizations_unused"] == 0 and report["reconciled"] is True


def test_racing_redemptions_of_a_released_pass_admit_exactly_one(
    election: Election, postgres_urls: tuple[str, str]
) -> None:
    """Two booths scan a released pass at once: one authorization; and each winner's
    booth casts while the other booth voids and redeems again: one ballot per pass."""
    setup, _ = make_setup(election, postgres_urls)
    try:
        setup.poll("T1", "open")
        booths = ("T1", "T2")
        for person in election.eligible()[:6]:
            qr_pass = _qr_pass(setup, "T2", election.card(person))
            key = os.urandom(16)
            setup.terminals["T1"].redeem_pass(qr_pass, key)
            assert _give_up_pass(setup.terminals["T1"], qr_pass, key) == {"released": True}
            keys = {terminal: os.urandom(16) for terminal in booths}
            barrier = threading.Barrier(len(booths))

            def attempt(terminal: str) -> str:
                barrier.wait()  # noqa: B023
                try:
                    setup.terminals[terminal].redeem_pass(qr_pass, keys[terminal])  # noqa: B023
                    return "won"
                except ServerRefused as refusal:
                    return refusal.code

            with ThreadPoolExecutor(len(booths)) as pool:
                outcomes = dict(zip(booths, pool.map(attempt, booths), strict=True))
            assert sorted(outcomes.values()) == ["pass_used", "won"]
            winner = next(t for t, outcome in outcomes.items() if outcome == "won")
            loser = next(t for t in booths if t != winner)
            # The loser's key names no authorization: its void releases nothing.
            assert _give_up_pass(setup.terminals[loser], qr_pass, keys[loser]) == {
                "released": False
            }
            refused(lambda: setup.terminals[loser].redeem_pass(qr_pass), "pass_used")  # noqa: B023
        setup.poll("T1", "close")
        report = setup.poll_report("S-101")
        assert report["authorizations_issued"] == 12 and report["authorizations_released"] == 6
        assert report["authorizations_voided"] == 12 and report["reconciled"] is True
    finally:
        setup.server.stop()
