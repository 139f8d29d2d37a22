"""Online inquiry: card challenge → eligibility checks → atomic check-in → authorization.

The check-in row's primary key is the national code, so two stations racing
for one voter cannot both insert it: the loser's transaction fails on the key
(on PostgreSQL the second insert waits for the first to commit) and gets
``already_voted``. The authorization is issued in the same transaction but in
a table with no voter column, and its expiry is rounded up to the minute so
that times do not join the two tables either.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ballot_server.cards import verify_card
from ballot_server.db import skip_commit_flush
from ballot_server.errors import ServerError
from ballot_server.registry_models import (
    CheckIn,
    InquiryChallenge,
    IssuedAuthorization,
    IssuedPass,
    RollEntry,
)
from ballot_server.state import ServerState, TerminalKey
from crypto.errors import CryptoError, DecodingError
from evote.jalali import age_on, parse_jalali
from evote.protocol import (
    CHALLENGE_BYTES,
    TerminalRequest,
    parse_card_answer,
    parse_pass_body,
)

VOTING_AGE = 18
PASS_FIELDS = {"pass_id", "election_id", "station_id", "ballot_style_id", "expires_at"}


def _round_up_to_minute(moment: int) -> int:
    return (moment // 60 + 1) * 60


def issue_challenge(state: ServerState, terminal: TerminalKey) -> dict[str, Any]:
    """A fresh 32-byte challenge for the voter's card, valid at this terminal only."""
    challenge_id, challenge = os.urandom(16).hex(), os.urandom(CHALLENGE_BYTES)
    expires_at = state.now() + state.config.challenge_ttl_s
    with state.registry_sessions.begin() as session:
        skip_commit_flush(session)
        session.add(
            InquiryChallenge(
                challenge_id=challenge_id,
                terminal_id=terminal.terminal_id,
                challenge=challenge.hex(),
                expires_at=expires_at,
            )
        )
    return {"challenge_id": challenge_id, "challenge": challenge.hex(), "expires_at": expires_at}


def _authorize(state: ServerState, session: Session, station_id: str, style: str, now: int) -> Any:
    authorization_id = os.urandom(16).hex()
    expires_at = _round_up_to_minute(now + state.config.authorization_ttl_s)
    session.add(
        IssuedAuthorization(
            authorization_id=authorization_id,
            station_id=station_id,
            ballot_style_id=style,
            expires_at=expires_at,
        )
    )
    payload = {
        "authorization_id": authorization_id,
        "election_id": state.election().election_id,
        "station_id": station_id,
        "ballot_style_id": style,
        "expires_at": expires_at,
    }
    envelope = state.config.keys.inquiry.sign("authorization", payload).to_json()
    return {"authorization": envelope, "expires_at": expires_at}


def _issue_pass(state: ServerState, session: Session, station_id: str, style: str, now: int) -> Any:
    pass_id = os.urandom(16).hex()
    expires_at = _round_up_to_minute(now + state.config.pass_ttl_s)
    session.add(
        IssuedPass(
            pass_id=pass_id,
            station_id=station_id,
            ballot_style_id=style,
            expires_at=expires_at,
            redeemed=False,
        )
    )
    payload = {
        "pass_id": pass_id,
        "election_id": state.election().election_id,
        "station_id": station_id,
        "ballot_style_id": style,
        "expires_at": expires_at,
    }
    envelope = state.config.keys.inquiry.sign("qr-pass", payload).to_json()
    return {"qr_pass": envelope, "expires_at": expires_at}


def check_in(
    state: ServerState, request: TerminalRequest, terminal: TerminalKey, *, as_pass: bool = False
) -> dict[str, Any]:
    """Check the card's holder in at the terminal's station; answer an authorization
    (booth) or a QR pass (check-in desk)."""
    try:
        answer = parse_card_answer(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    manifest = state.election().manifest
    station = manifest.station(terminal.station_id)
    now = state.now()
    national_code = ""
    try:
        with state.registry_sessions.begin() as session:
            challenge = session.get(InquiryChallenge, answer.challenge_id)
            if (
                challenge is None
                or challenge.terminal_id != terminal.terminal_id
                or challenge.expires_at < now
            ):
                raise ServerError("unknown_challenge")
            session.delete(challenge)
            card = verify_card(
                session,
                state.config.keys.registry_public,
                answer,
                bytes.fromhex(challenge.challenge),
            )
            if card.role != "voter":
                raise ServerError("not_a_voter_card")
            voter = session.get(RollEntry, card.national_code)
            if voter is None:
                raise ServerError("not_on_roll")
            if voter.birth_date != card.birth_date:
                raise ServerError("card_roll_mismatch")
            if not voter.alive:
                raise ServerError("deceased")
            if age_on(parse_jalali(voter.birth_date), manifest.election_date) < VOTING_AGE:
                raise ServerError("underage")
            if manifest.district(voter.district_id).ballot_style_id != station.ballot_style_id:
                raise ServerError("wrong_ballot_style")
            national_code = voter.national_code
            _refuse_if_checked_in(session, national_code)
            session.add(
                CheckIn(
                    national_code=national_code, station_id=station.station_id, checked_in_at=now
                )
            )
            session.flush()
            issue = _issue_pass if as_pass else _authorize
            return issue(state, session, station.station_id, station.ballot_style_id, now)  # type: ignore[no-any-return]
    except IntegrityError as error:
        with Session(state.registry_engine) as session:
            _refuse_if_checked_in(session, national_code)
        raise ServerError("malformed_request", "conflicting insert") from error


def _refuse_if_checked_in(session: Session, national_code: str) -> None:
    existing = session.get(CheckIn, national_code)
    if existing is not None:
        raise ServerError(
            "already_voted",
            details={"station_id": existing.station_id, "checked_in_at": existing.checked_in_at},
        )


def redeem_pass(
    state: ServerState, request: TerminalRequest, terminal: TerminalKey
) -> dict[str, Any]:
    """Trade a one-time QR pass for an authorization at the pass's station."""
    try:
        envelope = parse_pass_body(request.body)
        payload = envelope.verify("qr-pass", state.config.keys.inquiry.public_key)
    except CryptoError as error:
        raise ServerError("pass_invalid", str(error)) from error
    if not isinstance(payload, dict) or set(payload) != PASS_FIELDS:
        raise ServerError("pass_invalid", "fields")
    info = state.election()
    now = state.now()
    if payload["election_id"] != info.election_id:
        raise ServerError("pass_invalid", "another election")
    if payload["station_id"] != terminal.station_id:
        raise ServerError("pass_wrong_station")
    if not isinstance(payload["expires_at"], int) or payload["expires_at"] < now:
        raise ServerError("pass_expired")
    with state.registry_sessions.begin() as session:
        marked = session.execute(
            update(IssuedPass)
            .where(IssuedPass.pass_id == payload["pass_id"], IssuedPass.redeemed.is_(False))
            .values(redeemed=True)
        )
        if marked.rowcount != 1:  # type: ignore[attr-defined]
            known = session.get(IssuedPass, payload["pass_id"]) is not None
            raise ServerError("pass_used" if known else "pass_invalid")
        style = info.manifest.station(terminal.station_id).ballot_style_id
        return _authorize(state, session, terminal.station_id, style, now)  # type: ignore[no-any-return]
