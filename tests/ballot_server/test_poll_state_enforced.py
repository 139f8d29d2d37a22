"""The server enforces the poll state: no check-in, pass or ballot outside open polls,
and a ballot after close only on an authorization the inquiry issued before it."""

from __future__ import annotations

import os
from typing import Any

from server_harness import Card, Setup
from test_refusals import refused

from crypto.ballot import GENESIS_TRACKING_CODE
from evote.protocol import JournalDeclaration, build_terminal_request


def _answer(setup: Setup, terminal: str, card: Card) -> tuple[dict[str, Any], bytes, str]:
    challenge = setup.terminals[terminal].inquiry_challenge()
    return card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]


def test_a_check_in_before_opening_is_refused_and_the_station_still_opens(setup: Setup) -> None:
    card = setup.election.card(setup.election.eligible()[0])
    refused(lambda: setup.check_in("T1", card), "polls_not_open")
    refused(lambda: setup.terminals["T1"].issue_pass(*_answer(setup, "T1", card)), "polls_not_open")
    opened = setup.poll("T1", "open")
    assert opened["report"]["payload"]["check_ins"] == 0
    assert setup.check_in("T1", card)["authorization"]["payload"]["poll_period"] == 1


def test_check_ins_and_pass_redemptions_are_refused_while_paused_and_after_close(
    setup: Setup,
) -> None:
    setup.poll("T1", "open")
    people = iter(setup.election.eligible())
    desk = setup.terminals["T1"]
    qr_pass = desk.issue_pass(*_answer(setup, "T1", setup.election.card(next(people))))
    setup.poll("T1", "pause")
    refused(lambda: setup.check_in("T1", setup.election.card(next(people))), "polls_not_open")
    refused(lambda: setup.terminals["T2"].redeem_pass(qr_pass["qr_pass"]), "polls_not_open")
    setup.poll("T1", "resume")
    redeemed = setup.terminals["T2"].redeem_pass(qr_pass["qr_pass"])
    assert redeemed["authorization"]["payload"]["poll_period"] == 3  # open, pause, resume
    another = desk.issue_pass(*_answer(setup, "T1", setup.election.card(next(people))))
    setup.poll("T1", "close")
    refused(lambda: setup.check_in("T1", setup.election.card(next(people))), "polls_not_open")
    refused(lambda: setup.terminals["T2"].redeem_pass(another["qr_pass"]), "polls_not_open")
    report = setup.poll_report("S-101")
    assert report["check_ins"] == 2 and report["passes_unredeemed"] == 1


def test_a_ballot_after_close_counts_only_if_signed_before_and_authorized_before_the_close(
    setup: Setup,
) -> None:
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    people = iter(setup.election.eligible())
    journaled = client.sign(
        "cast",
        setup.ballot(
            "T1",
            setup.check_in("T1", setup.election.card(next(people)))["authorization"],
            1,
            GENESIS_TRACKING_CODE,
        ),
    )
    # What an inquiry that missed the close would sign: the poll version of the close.
    assert setup.election.keys.inquiry_key is not None
    stale = setup.election.keys.inquiry_key.sign(
        "authorization",
        {
            "authorization_id": os.urandom(16).hex(),
            "election_id": setup.state.election().election_id,
            "station_id": "S-101",
            "ballot_style_id": "tehran-1",
            "expires_at": setup.clock.now + 600,
            "poll_period": 2,
        },
    ).to_json()
    before_close = setup.clock.now
    setup.clock.now += 5
    setup.poll("T1", "close")
    receipt = client.submit_cast(journaled)  # journaled before the close, delivered after
    stale_body = setup.ballot("T1", stale, 2, bytes.fromhex(receipt.tracking_code))
    signed_before = build_terminal_request(
        client.signing_key, "T1", "cast", stale_body, now=before_close
    )
    refused(lambda: client.submit_cast(signed_before), "authorization_after_close")
    genuine = setup.election.keys.inquiry_key.sign(
        "authorization", {**stale["payload"], "poll_period": 1}
    ).to_json()
    after = build_terminal_request(
        client.signing_key,
        "T1",
        "cast",
        setup.ballot("T1", genuine, 2, bytes.fromhex(receipt.tracking_code)),
        now=setup.clock.now + 1,  # the second after the close's
    )
    refused(lambda: client.submit_cast(after), "polls_not_open")
    assert setup.poll_report("S-101")["ballots_cast"] == 1


def test_a_ballot_signed_in_the_second_of_the_close_is_taken_as_a_late_ballot(
    setup: Setup,
) -> None:
    """Whole seconds cannot order a ballot and a close signed in one second: a ballot
    whose authorization the inquiry issued before the close is taken like any ballot
    journaled before the close and delivered after it, and the closing report is
    reissued for the officials to countersign again. One stamped with a later opening
    is still refused."""
    setup.poll("T1", "open")
    client = setup.terminals["T1"]
    people = iter(setup.election.eligible())
    authorization = setup.check_in("T1", setup.election.card(next(people)))["authorization"]
    same_second = build_terminal_request(
        client.signing_key,
        "T1",
        "cast",
        setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE),
        now=setup.clock.now,
    )
    first = setup.poll("T1", "close")["report"]["payload"]
    assert (first["closed_at"], first["ballots_cast"]) == (setup.clock.now, 0)
    receipt = client.submit_cast(same_second)
    assert receipt.sequence == 1
    status = client.poll_status("S-101")
    assert (status["closing_revision"], status["countersigned"]) == (2, False)
    assert setup.poll_report("S-101")["ballots_cast"] == 1
    assert setup.election.keys.inquiry_key is not None
    stale = setup.election.keys.inquiry_key.sign(
        "authorization",
        {**authorization["payload"], "poll_period": 2, "authorization_id": os.urandom(16).hex()},
    ).to_json()
    in_the_close = build_terminal_request(
        client.signing_key,
        "T1",
        "cast",
        setup.ballot("T1", stale, 2, bytes.fromhex(receipt.tracking_code)),
        now=setup.clock.now,
    )
    refused(lambda: client.submit_cast(in_the_close), "authorization_after_close")


def test_a_ballot_the_closing_terminal_declared_counts_whatever_its_clock_says(
    setup: Setup,
) -> None:
    """The request that closes the station declares the closing terminal's journal
    head: a ballot within it was journaled before the close, even when the terminal's
    clock runs ahead of the server's. Beyond it, or from another terminal that never
    declared it, the terminal's signed time still decides."""
    setup.poll("T1", "open")
    people = iter(setup.election.eligible())
    ahead = setup.clock.now + 3

    def signed(terminal: str, sequence: int, previous: bytes) -> dict[str, Any]:
        card = setup.election.card(next(people))
        body = setup.ballot(
            terminal, setup.check_in(terminal, card)["authorization"], sequence, previous
        )
        key = setup.terminals[terminal].signing_key
        return build_terminal_request(key, terminal, "cast", body, now=ahead)

    journaled = signed("T1", 1, GENESIS_TRACKING_CODE)
    beyond = signed("T1", 2, bytes.fromhex(journaled["payload"]["body"]["tracking_code"]))
    other = signed("T2", 1, GENESIS_TRACKING_CODE)
    client = setup.terminals["T1"]
    card = setup.official()
    challenge = client.official_challenge()
    head = (1, bytes.fromhex(journaled["payload"]["body"]["tracking_code"]))
    client.poll_action(
        "close",
        card.certificate,
        card.sign(challenge["challenge"]),
        challenge["challenge_id"],
        JournalDeclaration(head, waiting=1),
        override_backlog=True,
        poll_version=challenge["poll_version"],
    )
    assert client.submit_cast(journaled).sequence == 1
    refused(lambda: client.submit_cast(beyond), "polls_not_open")
    refused(lambda: setup.terminals["T2"].submit_cast(other), "polls_not_open")
    report = setup.poll_report("S-101")
    assert (report["ballots_cast"], report["revision"], report["reconciled"]) == (1, 2, True)


def test_a_ballot_another_terminal_declared_before_the_close_counts_whatever_its_clock_says(
    setup: Setup,
) -> None:
    """T2's clock runs half a minute ahead. It journals a ballot, declares it in a
    signed status request, and its link drops before delivering it; officials close
    at T1 over the backlog. The ballot arrives after the close, signed "after" it by
    T2's clock, yet T2 had told the server it was journaled before the close: its
    voter holds a receipt, so it is a late ballot and the report is reissued. A ballot
    T2 journaled after that declaration is refused, even once T2 declares it after
    the close (a declaration received after the close proves nothing)."""
    setup.poll("T1", "open")
    people = iter(setup.election.eligible())
    terminal = setup.terminals["T2"]
    ahead = setup.clock.now + 30

    def signed(sequence: int, previous: bytes) -> tuple[dict[str, Any], bytes]:
        card = setup.election.card(next(people))
        authorization = setup.check_in("T2", card)["authorization"]
        body = setup.ballot("T2", authorization, sequence, previous)
        request = build_terminal_request(terminal.signing_key, "T2", "cast", body, now=ahead)
        return request, bytes.fromhex(body["tracking_code"])

    declared, first_code = signed(1, GENESIS_TRACKING_CODE)
    terminal.status(JournalDeclaration((1, first_code), waiting=1))
    undeclared, second_code = signed(2, first_code)
    card = setup.official()
    closer = setup.terminals["T1"]
    challenge = closer.official_challenge()
    closer.poll_action(
        "close",
        card.certificate,
        card.sign(challenge["challenge"]),
        challenge["challenge_id"],
        JournalDeclaration((0, GENESIS_TRACKING_CODE), waiting=0),
        override_backlog=True,
        poll_version=challenge["poll_version"],
    )
    terminal.status(JournalDeclaration((2, second_code), waiting=2))
    assert terminal.submit_cast(declared).sequence == 1
    refused(lambda: terminal.submit_cast(undeclared), "polls_not_open")
    report = setup.poll_report("S-101")
    # Reissued twice after the close: for T2's new declaration, then for its late ballot.
    assert (report["ballots_cast"], report["revision"]) == (1, 3)
    (t2,) = [item for item in report["terminals"] if item["terminal_id"] == "T2"]
    assert t2["missing_sequences"] == {"first": 2, "last": 2, "count": 1}
