"""Ballot intake: cast and challenged ballots onto the bulletin board.

Everything that costs time and needs no state (signatures, proofs) is checked
before the transaction; the transaction then locks the station's row (the head
of its board shard: no lock is shared across stations) with the terminal's row
(so a request that waited for another sees the sequence, chain head and poll
state that one left), checks the terminal's sequence and chain head, the poll
state and the authorization, and appends the entry, consumes the authorization
and stores the receipt together. A
submission already on the board (same terminal, sequence and tracking code)
is answered from what was stored, so a terminal may resend its journal freely —
also when resends race each other: whatever refusal the loser of the race meets
in the transaction, it looks again and answers the stored receipt if the ballot
is there.

After close, a ballot is accepted only if the terminal signed it before the
close and its authorization names an opening (``poll_period``, signed by the
inquiry) earlier than the close: the inquiry refuses check-ins once its copy
of the poll state says closed, and that copy is written before the close.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ballot_server import board
from ballot_server.chains import ChainHead
from ballot_server.db import pipelined
from ballot_server.errors import ServerError
from ballot_server.models import (
    BoardEntry,
    CiphertextAlpha,
    Receipt,
    SpentAuthorization,
    Station,
    Terminal,
)
from ballot_server.polls import PollState
from ballot_server.reports import reissue_closing_report
from ballot_server.requests import verify_signed
from ballot_server.state import ServerState, TerminalKey
from crypto.ballot import verify_ballot, verify_challenge
from crypto.canonical import canonical_json, canonical_member
from crypto.errors import CryptoError, DecodingError, InvalidBallot, InvalidProof
from evote.protocol import ACTION_CAST, BallotSubmission, TerminalRequest, parse_ballot_body
from evote.provisional import KIND as PROVISIONAL_KIND
from evote.provisional import ProvisionalError, read_grant
from evote.refusals import CATALOGUE

AUTHORIZATION_FIELDS = {
    "authorization_id",
    "election_id",
    "station_id",
    "ballot_style_id",
    "expires_at",
    "poll_period",
}
# A provisional authorization names no poll opening: below every version, so the
# opening check in ``_append`` never refuses it (the close still does, by time).
NO_POLL_PERIOD = -1
KIND_OF_ACTION = {"cast": "ballot", "challenge": "challenged"}
# What a resend racing its own first delivery meets inside the transaction (the first
# one committed while it waited): answered with the stored receipt, never refused.
CONCURRENT_RESEND_CODES = frozenset(
    {"replayed_request", "authorization_used", "copied_ciphertext", "sequence_conflict"}
)

# Statements built once: building one per ballot costs as much as executing it.
_AT_SEQUENCE = select(BoardEntry.position).where(
    BoardEntry.terminal_id == bindparam("terminal_id"),
    BoardEntry.sequence == bindparam("sequence"),
)
# The station's row (its shard head, poll state) locked with the terminal's: on
# PostgreSQL a request that waited for the lock then re-reads only the rows it locked,
# so an unlocked terminal row would show the sequence before the one that just
# committed. Both rows belong to one station: no lock is shared across stations. One
# round trip.
_LOCK_SHARD_WITH_TERMINAL = (
    select(
        Station.board_length,
        Station.board_head,
        Terminal.last_sequence,
        Terminal.chain_head,
        Station.poll_state,
        Station.closed_at,
        Station.poll_version,
        Terminal.revoked_at,
        Terminal.sequence_at_close,
    )
    .join_from(Terminal, Station, Terminal.station_id == Station.station_id)
    .where(
        Terminal.terminal_id == bindparam("terminal_id"),
        Station.station_id == bindparam("station_id"),
    )
    .with_for_update(of=(Terminal, Station))
)
_SPEND_AUTHORIZATION = insert(SpentAuthorization)
_RECORD_ALPHAS = insert(CiphertextAlpha)
_ADVANCE_TERMINAL = (
    update(Terminal)
    .where(Terminal.terminal_id == bindparam("terminal"))
    .values(last_sequence=bindparam("last_sequence"), chain_head=bindparam("chain_head"))
)
_INSERT_RECEIPT = insert(Receipt)


def submit(state: ServerState, data: object, action: str) -> dict[str, Any]:
    """Take one cast or challenge request; answer a receipt or the challenge's result."""
    request, terminal = verify_signed(state.intake_gate, data, action)
    now = state.now()
    if request.timestamp > now + state.config.request_window_s:
        raise ServerError("stale_request", "timestamp in the future")
    try:
        submission = parse_ballot_body(
            request.body,
            action,
            canonical_member(request.envelope.payload_bytes(), request.envelope.payload, "body"),
        )
    except DecodingError as error:
        code = error.code if error.code in CATALOGUE else "malformed_request"
        raise ServerError(code, str(error)) from error
    if submission.station_id != terminal.station_id:
        raise ServerError("wrong_station")
    with state.ephemeral_engine.connect() as connection:  # one statement, no BEGIN
        on_board = connection.execute(
            _AT_SEQUENCE,
            {"terminal_id": terminal.terminal_id, "sequence": submission.sequence},
        ).first()
    if on_board is not None:
        stored = _stored_answer(state, terminal.terminal_id, submission)
        if stored is not None:
            return stored
    authorization = _check_authorization(state, request, submission, terminal)
    specs = state.specs(submission.ballot.ballot_style_id)
    context = state.election().context
    try:
        verify_ballot(context, specs, submission.ballot)
        if submission.secrets is not None:
            verify_challenge(context, specs, submission.ballot, submission.secrets)
    except InvalidBallot as error:
        raise ServerError("invalid_ballot", str(error)) from error
    except InvalidProof as error:
        raise ServerError("invalid_proof", str(error)) from error
    try:
        with state.sessions.begin() as session:
            entry, receipt, late = _append(
                state, session, request, terminal, submission, authorization
            )
            answer = _answer(session_answer=(entry, receipt), state=state)
    except (ServerError, IntegrityError) as error:
        if isinstance(error, ServerError) and error.code not in CONCURRENT_RESEND_CODES:
            raise
        stored = _stored_answer(state, terminal.terminal_id, submission)
        if stored is None:
            raise
        return stored
    if late:
        reissue_closing_report(state, terminal.station_id)
    return answer


def _stored_answer(
    state: ServerState, terminal_id: str, submission: BallotSubmission
) -> dict[str, Any] | None:
    """The stored answer if this very ballot is on the board (a resend), read afresh."""
    with Session(state.engine) as session:
        stored = _stored(session, terminal_id, submission)
        return None if stored is None else _answer(session_answer=stored, state=state)


def _stored(
    session: Session, terminal_id: str, submission: BallotSubmission
) -> tuple[BoardEntry, Receipt | None] | None:
    """The entry already holding this terminal's sequence, if it is this very ballot."""
    entry = session.execute(
        select(BoardEntry).where(
            BoardEntry.terminal_id == terminal_id, BoardEntry.sequence == submission.sequence
        )
    ).scalar_one_or_none()
    if entry is None:
        return None
    if entry.tracking_code != submission.tracking_code.hex():
        terminal = session.get(Terminal, terminal_id)
        raise ServerError(
            "sequence_conflict",
            f"sequence {submission.sequence} already holds another ballot",
            details=_expected(terminal),
        )
    return entry, session.get(Receipt, (entry.station_id, entry.position))


def _expected(terminal: Terminal | None) -> dict[str, Any]:
    if terminal is None:
        return {}
    return {"expected_sequence": terminal.last_sequence + 1, "chain_head": terminal.chain_head}


@dataclass(frozen=True)
class _Authorization:
    authorization_id: str
    poll_period: int


def _check_place(
    state: ServerState,
    submission: BallotSubmission,
    election_id: object,
    station_id: object,
    style_id: object,
) -> None:
    """An authorization is for this election, the submission's station and its style."""
    info = state.election()
    style = info.manifest.station(submission.station_id).ballot_style_id
    if election_id != info.election_id:
        raise ServerError("authorization_invalid", "another election")
    if (
        station_id != submission.station_id
        or style_id != style
        or submission.ballot.ballot_style_id != style
    ):
        raise ServerError("authorization_wrong_station")


def _check_provisional(submission: BallotSubmission, terminal: TerminalKey) -> _Authorization:
    """A provisional authorization (``evote/provisional.py``): signed by the terminal
    that submits the ballot, which checked the voter in offline. It names no poll
    opening (the link was down); the close still bounds it by the request's time.
    Whether it counts is the registry's reconciliation (``reconciliation.py``)."""
    try:
        grant, _ = read_grant(submission.authorization, terminal.public_key)
    except ProvisionalError as error:
        raise ServerError("authorization_invalid", str(error)) from error
    if grant.terminal_id != terminal.terminal_id:
        raise ServerError("authorization_invalid", "another terminal's provisional authorization")
    return _Authorization(grant.authorization_id, NO_POLL_PERIOD)


def _check_authorization(
    state: ServerState,
    request: TerminalRequest,
    submission: BallotSubmission,
    terminal: TerminalKey,
) -> _Authorization:
    if submission.authorization.kind == PROVISIONAL_KIND:
        authorization = _check_provisional(submission, terminal)
        grant = submission.authorization.payload
        assert isinstance(grant, dict)  # read_grant checked its fields
        _check_place(
            state, submission, grant["election_id"], grant["station_id"], grant["ballot_style_id"]
        )
        return authorization
    try:
        payload = submission.authorization.verify("authorization", state.config.keys.inquiry_public)
    except CryptoError as error:
        raise ServerError("authorization_invalid", str(error)) from error
    if not isinstance(payload, dict) or set(payload) != AUTHORIZATION_FIELDS:
        raise ServerError("authorization_invalid", "fields")
    _check_place(
        state, submission, payload["election_id"], payload["station_id"], payload["ballot_style_id"]
    )
    if not isinstance(payload["expires_at"], int) or payload["expires_at"] < request.timestamp:
        raise ServerError("authorization_expired")
    if not isinstance(payload["poll_period"], int) or isinstance(payload["poll_period"], bool):
        raise ServerError("authorization_invalid", "poll_period")
    return _Authorization(str(payload["authorization_id"]), payload["poll_period"])


def _append(
    state: ServerState,
    session: Session,
    request: TerminalRequest,
    terminal_key: TerminalKey,
    submission: BallotSubmission,
    authorization: _Authorization,
) -> tuple[BoardEntry, Receipt | None, bool]:
    """Prebuilt Core statements on the session's connection: lock the station's row
    and read its shard head and the terminal in one query, consume the authorization
    (its own round trip: a spent one is an expected refusal), then append the entry,
    advance the shard head and the terminal and store the signed receipt in one
    pipelined round trip on PostgreSQL — five round trips with BEGIN and COMMIT."""
    connection = session.connection()
    row = connection.execute(
        _LOCK_SHARD_WITH_TERMINAL,
        {"terminal_id": terminal_key.terminal_id, "station_id": submission.station_id},
    ).one_or_none()
    if row is None:
        raise ServerError("unknown_terminal")
    if row.revoked_at is not None:  # a worker's cached key may be older than the revocation
        raise ServerError("terminal_revoked", terminal_key.terminal_id)
    shard = ChainHead(row.board_length, row.board_head)
    if (
        submission.sequence != row.last_sequence + 1
        or submission.previous_tracking_code.hex() != row.chain_head
    ):
        # This very ballot, appended by a copy this one waited for, is answered with
        # its stored receipt by ``submit`` (it looks again after any such refusal).
        raise ServerError(
            "sequence_conflict",
            f"got sequence {submission.sequence}",
            details={"expected_sequence": row.last_sequence + 1, "chain_head": row.chain_head},
        )
    late = row.poll_state == PollState.CLOSED.value
    if row.poll_state != PollState.OPEN.value and not late:
        raise ServerError("polls_not_open", row.poll_state)
    if late and not _journaled_before_close(
        row.closed_at, row.sequence_at_close, request.timestamp, submission.sequence
    ):
        raise ServerError("polls_not_open", "signed after the close")
    # An opening at or after this version (after the close, if closed) cannot have
    # issued the authorization: the inquiry signs the version of the opening it saw.
    if authorization.poll_period >= row.poll_version + (0 if late else 1):
        raise ServerError("authorization_after_close" if late else "authorization_invalid")
    action = request.action
    if action == ACTION_CAST:
        try:
            connection.execute(
                _SPEND_AUTHORIZATION,
                {
                    "authorization_id": authorization.authorization_id,
                    "station_id": submission.station_id,
                },
            )
        except IntegrityError as error:  # spent already (a concurrent spender waits, then fails)
            raise ServerError("authorization_used") from error
    try:  # every alpha once on the board: a repeat is a contest copied from another ballot
        connection.execute(
            _RECORD_ALPHAS,
            [
                {
                    "alpha": ciphertext.alpha.to_bytes(),
                    "station_id": submission.station_id,
                    "board_position": shard.length,
                }
                for contest in submission.ballot.contests
                for ciphertext in (*(s.ciphertext for s in contest.selections), contest.blank)
            ],
        )
    except IntegrityError as error:
        raise ServerError("copied_ciphertext") from error
    with pipelined(session):
        entry = board.append(
            session,
            shard,
            kind=KIND_OF_ACTION[action],
            payload_bytes=request.envelope.canonical_bytes(),
            station_id=submission.station_id,
            terminal_id=terminal_key.terminal_id,
            sequence=submission.sequence,
            tracking_code=submission.tracking_code.hex(),
            now=state.now(),
        )
        connection.execute(
            _ADVANCE_TERMINAL,
            {
                "terminal": terminal_key.terminal_id,
                "last_sequence": submission.sequence,
                "chain_head": submission.tracking_code.hex(),
            },
        )
        receipt = _receipt(state, session, entry, request)
    return entry, receipt, late


def _journaled_before_close(
    closed_at: int | None, sequence_at_close: int | None, timestamp: int, sequence: int
) -> bool:
    """A ballot arriving after the close was cast before it, by its terminal's word:
    signed no later than the close's second (whole seconds cannot order the two; the
    authorization, checked next, proves the voter checked in before the close, so the
    doubt goes to a ballot its voter may hold a receipt of), or within the journal head
    the terminal had declared to the server when the station closed — in a status
    request or in the close itself (its journal's order, whatever its clock says: a
    terminal whose clock runs ahead must not lose a receipted ballot)."""
    if closed_at is None:
        return False
    if timestamp <= closed_at:
        return True
    return sequence_at_close is not None and sequence <= sequence_at_close


def _receipt(
    state: ServerState, session: Session, entry: BoardEntry, request: TerminalRequest
) -> Receipt | None:
    if request.action != ACTION_CAST:
        return None
    payload = {
        "election_id": state.election().election_id,
        "tracking_code": entry.tracking_code,
        "station_id": entry.station_id,
        "terminal_id": entry.terminal_id,
        "sequence": entry.sequence,
        "board_position": entry.position,
        "received_at": entry.received_at,
    }
    envelope = state.config.keys.server.sign("receipt", payload).to_json()
    receipt = Receipt(
        station_id=entry.station_id,
        board_position=entry.position,
        envelope=canonical_json(envelope).decode(),
    )
    session.connection().execute(
        _INSERT_RECEIPT,
        {
            "station_id": receipt.station_id,
            "board_position": receipt.board_position,
            "envelope": receipt.envelope,
        },
    )
    return receipt


def _answer(
    *, session_answer: tuple[BoardEntry, Receipt | None], state: ServerState
) -> dict[str, Any]:
    entry, receipt = session_answer
    if entry.kind == "ballot":
        assert receipt is not None
        return {"receipt": json.loads(receipt.envelope)}
    body = json.loads(entry.payload)["payload"]["body"]
    choices = {
        spec.contest_id: [
            selection_id
            for selection_id in spec.selection_ids
            if body["secrets"][spec.contest_id][selection_id]["value"]
        ]
        for spec in state.specs(body["ballot"]["ballot_style_id"])
    }
    return {
        "board_position": entry.position,
        "entry_hash": entry.entry_hash,
        "tracking_code": entry.tracking_code,
        "choices": choices,
    }
