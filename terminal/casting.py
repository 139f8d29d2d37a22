"""Cast and challenge: the two ways a prepared ballot leaves the booth.

Both follow the same order, which is the terminal's durability promise: sign,
append to the journal (fsynced), wake the uplink, then print. A ballot is
never printed before it is journaled, and never journaled twice (the session
leaves the tracking state before anything is written).
"""

from __future__ import annotations

import sqlite3

from crypto.canonical import canonical_json
from evote import protocol, provisional
from terminal import printing
from terminal.ballot import PreparedBallot
from terminal.booth import Booth
from terminal.errors import IllegalTransition, TerminalError
from terminal.notices import Notice
from terminal.session import Event


def journal_submission(booth: Booth, action: str, prepared: PreparedBallot) -> int:
    """Sign and journal (fsync) one submission; returns its sequence number."""
    sequence, head = booth.journal.head()
    if head != prepared.previous_tracking_code or booth.data.authorization is None:
        raise TerminalError("the journal moved under a prepared ballot", code="journal_error")
    body = protocol.ballot_body(
        booth.station.station_id,
        sequence + 1,
        prepared.previous_tracking_code,
        prepared.ballot,
        booth.data.authorization,
        prepared.secrets if action == protocol.ACTION_CHALLENGE else None,
    )
    envelope = booth.client.sign(action, body)
    booth.journal.append(
        sequence + 1,
        action,
        prepared.previous_tracking_code,
        prepared.tracking_code,
        canonical_json(envelope).decode("utf-8"),
        spends_release=booth.data.release_id if action == protocol.ACTION_CAST else None,
    )
    if booth.uplink is not None:
        booth.uplink.kick()
    return sequence + 1


def is_provisional(booth: Booth) -> bool:
    """The session's authorization is this terminal's own, issued offline."""
    authorization = booth.data.authorization
    return authorization is not None and authorization.get("kind") == provisional.KIND


def take_prepared(booth: Booth, event: Event) -> PreparedBallot:
    """Leave the tracking state for ``event``; the ballot it showed is now ours alone."""
    with booth.session.lock:
        prepared = booth.data.prepared
        if prepared is None:
            raise IllegalTransition(booth.state.value, event.value)
        booth.fire(event)
        return prepared


def cast(booth: Booth) -> None:
    """Journal, sign, print the receipt; the uplink delivers in the background."""
    prepared = take_prepared(booth, Event.CAST)
    try:
        sequence = journal_submission(booth, protocol.ACTION_CAST, prepared)
    except (TerminalError, OSError, sqlite3.Error) as error:
        booth.refuse(Notice.of(getattr(error, "code", "journal_error")))
        raise
    code = prepared.tracking_code.hex()
    document = printing.cast_receipt(
        booth.station,
        booth.config.terminal_id,
        sequence,
        code,
        f"{booth.config.track_base_url}/{code}",
        provisional=is_provisional(booth),
    )
    printer_problem = booth.print_document(document)
    printed = {
        "tracking_code": code,
        "sequence": sequence,
        "printer_problem": printer_problem,
        "provisional": is_provisional(booth),
    }
    booth.fire(Event.PRINTED, printed=printed, pending=None)


def challenge(booth: Booth) -> None:
    """Spoil the ballot: journal it with its secrets, print the check slip, vote again."""
    prepared = take_prepared(booth, Event.CHALLENGE)
    try:
        sequence = journal_submission(booth, protocol.ACTION_CHALLENGE, prepared)
    except (TerminalError, OSError, sqlite3.Error) as error:
        booth.refuse(Notice.of(getattr(error, "code", "journal_error")))
        raise
    document = printing.challenge_slip(
        booth.election.manifest,
        booth.station,
        booth.config.terminal_id,
        sequence,
        prepared,
        booth.config.check_base_url,
        provisional=is_provisional(booth),
    )
    printer_problem = booth.print_document(document)
    with booth.session.lock:
        booth.data.printed = {
            "tracking_code": prepared.tracking_code.hex(),
            "sequence": sequence,
            "printer_problem": printer_problem,
        }
        booth.session.touch()
