"""Closing cannot hide a backlog: declared journal heads, the override, the named gap."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from server_harness import Setup
from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot_server.app import create_app
from ballot_server.models import AuditEntry, PollReport
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.signing import SignedEnvelope
from evote import protocol
from evote.client import ServerRefused
from evote.protocol import JournalDeclaration, RejectedBallot


def cast_some(
    setup: Setup, terminal: str, count: int, first_voter: int = 0
) -> list[dict[str, Any]]:
    """``count`` signed cast requests of consecutive sequences, none sent yet."""
    client = setup.terminals[terminal]
    voters = setup.election.eligible()[first_voter : first_voter + count]
    previous = GENESIS_TRACKING_CODE
    envelopes = []
    for sequence, voter in enumerate(voters, start=1):
        authorization = setup.check_in(terminal, setup.election.card(voter))["authorization"]
        body = setup.ballot(terminal, authorization, sequence, previous)
        # Signed on the server's (test) clock: the real one may pass the close under load.
        envelopes.append(
            protocol.build_terminal_request(
                client.signing_key, terminal, protocol.ACTION_CAST, body, now=setup.clock.now
            )
        )
        previous = bytes.fromhex(body["tracking_code"])
    return envelopes


def head_of(envelope: dict[str, Any]) -> tuple[int, bytes]:
    body = envelope["payload"]["body"]
    return body["sequence"], bytes.fromhex(body["tracking_code"])


def close(setup: Setup, terminal: str, **options: Any) -> dict[str, Any]:
    client = setup.terminals[terminal]
    card = setup.official()
    challenge = client.official_challenge()
    return client.poll_action(
        "close",
        card.certificate,
        card.sign(challenge["challenge"]),
        challenge["challenge_id"],
        options.get("declaration"),
        override_backlog=options.get("override", False),
        poll_version=challenge["poll_version"],
    )


def closing_report(setup: Setup) -> dict[str, Any]:
    with Session(setup.state.engine) as session:
        stored = session.get(PollReport, ("S-101", "closing"))
        assert stored is not None
        payload: dict[str, Any] = json.loads(stored.envelope)["payload"]
    return payload


def audit_events(setup: Setup) -> list[tuple[str, dict[str, Any]]]:
    with Session(setup.state.engine) as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.position)).scalars()
        return [(row.event_id, json.loads(row.fields)) for row in rows]


@pytest.fixture
def opened(sqlite_setup: Setup) -> Setup:
    sqlite_setup.poll("T1", "open")
    return sqlite_setup


def test_closing_over_a_declared_backlog_is_refused_and_changes_nothing(opened: Setup) -> None:
    envelopes = cast_some(opened, "T1", 3)
    opened.terminals["T1"].submit_cast(envelopes[0])
    opened.terminals["T1"].status(JournalDeclaration(head_of(envelopes[2]), waiting=2))
    with pytest.raises(ServerRefused) as refused:
        close(opened, "T2")
    assert refused.value.code == "backlog_waiting"
    assert refused.value.details["backlog"] == [
        {"terminal_id": "T1", "first": 2, "last": 3, "count": 2}
    ]
    assert opened.terminals["T1"].status()["poll_state"] == "open"
    assert "poll.close_override" not in [event for event, _ in audit_events(opened)]


def test_an_override_closes_audited_and_the_report_names_the_missing_sequences(
    opened: Setup,
) -> None:
    envelopes = cast_some(opened, "T1", 3)
    client = opened.terminals["T1"]
    client.submit_cast(envelopes[0])
    refused = RejectedBallot(3, envelopes[2]["payload"]["body"]["tracking_code"], "invalid_proof")
    declaration = JournalDeclaration(head_of(envelopes[2]), waiting=1, rejected=(refused,))
    closed = close(opened, "T1", declaration=declaration, override=True)
    assert closed["state"] == "closed"
    report = closed["report"]["payload"]
    assert report["reconciled"] is False
    assert report["missing_sequences"] == [{"terminal_id": "T1", "first": 2, "last": 3, "count": 2}]
    terminal = next(t for t in report["terminals"] if t["terminal_id"] == "T1")
    assert terminal["declared_rejected"] == [refused.to_json()]
    signed = SignedEnvelope.from_json(terminal["declaration"])
    payload = signed.verify(protocol.TERMINAL_REQUEST, client.signing_key.public_key)
    assert payload["body"]["journal_head"]["sequence"] == 3
    overrides = [fields for event, fields in audit_events(opened) if event == "poll.close_override"]
    assert overrides == [
        {
            "station_id": "S-101",
            "terminal_id": "T1",
            "backlog": [{"terminal_id": "T1", "first": 2, "last": 3, "count": 2}],
        }
    ]


def test_late_ballots_arriving_after_close_reconcile_the_reissued_report(opened: Setup) -> None:
    envelopes = cast_some(opened, "T1", 2)
    client = opened.terminals["T1"]
    opened.clock.now = int(time.time()) + 5  # the close comes after the ballots were signed
    close(opened, "T1", declaration=JournalDeclaration(head_of(envelopes[1]), 2), override=True)
    assert closing_report(opened)["reconciled"] is False
    client.submit_cast(envelopes[0])
    assert closing_report(opened)["missing_sequences"][0]["first"] == 2
    client.submit_cast(envelopes[1])
    report = closing_report(opened)
    assert report["reconciled"] is True and report["missing_sequences"] == []
    assert report["revision"] == 3


def test_a_declaration_after_close_reissues_the_report_unreconciled(opened: Setup) -> None:
    envelopes = cast_some(opened, "T2", 1)
    close(opened, "T1")
    assert closing_report(opened)["reconciled"] is True
    opened.terminals["T2"].status(JournalDeclaration(head_of(envelopes[0]), waiting=1))
    report = closing_report(opened)
    assert report["reconciled"] is False
    assert report["missing_sequences"] == [{"terminal_id": "T2", "first": 1, "last": 1, "count": 1}]


def test_idle_status_requests_after_close_declaring_nothing_new_do_not_reissue_the_report(
    opened: Setup,
) -> None:
    """A booth signs a fresh status request every few seconds while idle; after close,
    each one reissued the closing report (a sum over every ballot of the station) while
    holding the write lock, and in the soak the booths' status requests timed out."""
    envelopes = cast_some(opened, "T2", 1)
    client = opened.terminals["T2"]
    declared = JournalDeclaration(head_of(envelopes[0]), waiting=1)
    client.status(declared)
    opened.clock.now = int(time.time()) + 5  # the close comes after the ballot was signed
    close(opened, "T1", override=True)
    revision = closing_report(opened)["revision"]
    for _ in range(3):
        assert client.status(declared)["poll_state"] == "closed"
    assert closing_report(opened)["revision"] == revision
    client.submit_cast(envelopes[0])
    client.status(JournalDeclaration(head_of(envelopes[0]), waiting=0))
    report = closing_report(opened)
    assert report["revision"] > revision and report["reconciled"] is True


def test_an_older_declaration_arriving_late_does_not_hide_a_newer_one(opened: Setup) -> None:
    envelopes = cast_some(opened, "T1", 2)
    client = opened.terminals["T1"]
    client.status(JournalDeclaration(head_of(envelopes[1]), waiting=2))
    client.status(JournalDeclaration(head_of(envelopes[0]), waiting=1))
    with pytest.raises(ServerRefused) as refused:
        close(opened, "T2")
    assert refused.value.details["backlog"] == [
        {"terminal_id": "T1", "first": 1, "last": 2, "count": 2}
    ]


def test_a_declared_head_that_differs_from_the_board_at_the_same_sequence_is_unreconciled(
    opened: Setup,
) -> None:
    envelopes = cast_some(opened, "T1", 1)
    opened.terminals["T1"].submit_cast(envelopes[0])
    forged = JournalDeclaration((1, b"\x07" * 32), waiting=0)
    report = close(opened, "T1", declaration=forged)["report"]["payload"]
    assert report["reconciled"] is False and report["missing_sequences"] == []


def test_a_malformed_declaration_is_a_clear_refusal(opened: Setup) -> None:
    client = opened.terminals["T1"]
    request = client.sign(protocol.ACTION_STATUS, {"journal_head": {"sequence": 2**31}})
    with pytest.raises(ServerRefused) as refused:
        client._request("POST", protocol.PATH_TERMINAL_STATUS, request)
    assert refused.value.code == "malformed_request"
    head = {"sequence": 0, "chain_head": GENESIS_TRACKING_CODE.hex()}
    request = client.sign(protocol.ACTION_STATUS, {"journal_head": head, "role": "printer"})
    with pytest.raises(ServerRefused) as refused:
        client._request("POST", protocol.PATH_TERMINAL_STATUS, request)
    assert refused.value.code == "malformed_request"
    assert "body.role" in refused.value.args[0]


def test_a_fresh_worker_answers_a_declaring_status_request_as_its_first_request(
    opened: Setup,
) -> None:
    """A new gunicorn worker has nothing cached: the status request must not open a
    session inside another (on SQLite that waits for its own write lock, then fails)."""
    fresh = create_app(opened.state.config)
    client = opened.terminals["T1"]
    declaration = JournalDeclaration((0, GENESIS_TRACKING_CODE))
    request = client.sign(protocol.ACTION_STATUS, protocol.status_body(declaration))
    response = fresh.test_client().post(protocol.PATH_TERMINAL_STATUS, json=request)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["poll_state"] == "open"
