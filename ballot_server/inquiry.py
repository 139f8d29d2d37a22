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

from sqlalchemy import Connection, bindparam, delete, exists, insert, select, update
from sqlalchemy.exc import IntegrityError

from ballot_server.cards import check_card_signature, read_certificate
from ballot_server.errors import ServerError
from ballot_server.registry_models import (
    CheckIn,
    InquiryChallenge,
    IssuedAuthorization,
    IssuedPass,
    RevokedCard,
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

# Statements built once: building one per request costs as much as executing it.
_INSERT_CHALLENGE = insert(InquiryChallenge)
_INSERT_CHECK_IN = insert(CheckIn)
_INSERT_AUTHORIZATION = insert(IssuedAuthorization)
_TAKE_CHALLENGE = (
    delete(InquiryChallenge)
    .where(
        InquiryChallenge.challenge_id == bindparam("challenge_id"),
        InquiryChallenge.terminal_id == bindparam("terminal_id"),
        InquiryChallenge.expires_at >= bindparam("now"),
    )
    .returning(InquiryChallenge.challenge)
)
_REVOKED = select(exists().where(RevokedCard.card_id == bindparam("card_id")))
_VOTER = (
    select(
        exists().where(RevokedCard.card_id == bindparam("card_id")).label("revoked"),
        RollEntry.birth_date,
        RollEntry.alive,
        RollEntry.district_id,
        CheckIn.station_id.label("checked_in_station"),
        CheckIn.checked_in_at,
    )
    .select_from(RollEntry)
    .outerjoin(CheckIn, CheckIn.national_code == RollEntry.national_code)
    .where(RollEntry.national_code == bindparam("national_code"))
)
_CHECK_IN_OF = select(CheckIn.station_id, CheckIn.checked_in_at).where(
    CheckIn.national_code == bindparam("national_code")
)


def _round_up_to_minute(moment: int) -> int:
    return (moment // 60 + 1) * 60


def issue_challenge(state: ServerState, terminal: TerminalKey) -> dict[str, Any]:
    """A fresh 32-byte challenge for the voter's card, valid at this terminal only."""
    challenge_id, challenge = os.urandom(16).hex(), os.urandom(CHALLENGE_BYTES)
    expires_at = state.now() + state.config.challenge_ttl_s
    with state.registry_ephemeral_engine.begin() as connection:
        connection.execute(
            _INSERT_CHALLENGE,
            {
                "challenge_id": challenge_id,
                "terminal_id": terminal.terminal_id,
                "challenge": challenge.hex(),
                "expires_at": expires_at,
            },
        )
    return {"challenge_id": challenge_id, "challenge": challenge.hex(), "expires_at": expires_at}


def _authorize(
    state: ServerState, connection: Connection, station_id: str, style: str, now: int
) -> Any:
    authorization_id = os.urandom(16).hex()
    expires_at = _round_up_to_minute(now + state.config.authorization_ttl_s)
    connection.execute(
        _INSERT_AUTHORIZATION,
        {
            "authorization_id": authorization_id,
            "station_id": station_id,
            "ballot_style_id": style,
            "expires_at": expires_at,
        },
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


def _issue_pass(
    state: ServerState, connection: Connection, station_id: str, style: str, now: int
) -> Any:
    pass_id = os.urandom(16).hex()
    expires_at = _round_up_to_minute(now + state.config.pass_ttl_s)
    connection.execute(
        insert(IssuedPass).values(
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
    (booth) or a QR pass (check-in desk).

    Core statements, not the ORM, and four round trips in the transaction: take the
    challenge (DELETE … RETURNING), read revocation + roll entry + any check-in in
    one query, insert the check-in, insert the authorization; then the durable commit.
    Refusals keep their order: challenge, certificate, revoked, card signature, role,
    roll, birth date, alive, age, ballot style, already voted."""
    try:
        answer = parse_card_answer(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    manifest = state.election().manifest
    station = manifest.station(terminal.station_id)
    now = state.now()
    national_code = ""
    try:
        with state.registry_engine.begin() as connection:
            challenge = connection.execute(
                _TAKE_CHALLENGE,
                {
                    "challenge_id": answer.challenge_id,
                    "terminal_id": terminal.terminal_id,
                    "now": now,
                },
            ).scalar_one_or_none()
            if challenge is None:
                raise ServerError("unknown_challenge")
            card, card_key = read_certificate(state.config.keys.registry_public, answer)
            voter = _voter(connection, card.card_id, card.national_code)
            revoked = voter.revoked if voter is not None else _revoked(connection, card.card_id)
            if revoked:
                raise ServerError("card_revoked")
            check_card_signature(card_key, answer, bytes.fromhex(challenge))
            if card.role != "voter":
                raise ServerError("not_a_voter_card")
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
            national_code = card.national_code
            if voter.checked_in_station is not None:
                raise _already_voted(voter.checked_in_station, voter.checked_in_at)
            connection.execute(
                _INSERT_CHECK_IN,
                {
                    "national_code": national_code,
                    "station_id": station.station_id,
                    "checked_in_at": now,
                },
            )
            issue = _issue_pass if as_pass else _authorize
            return issue(state, connection, station.station_id, station.ballot_style_id, now)  # type: ignore[no-any-return]
    except IntegrityError as error:
        with state.registry_engine.connect() as connection:
            existing = connection.execute(
                _CHECK_IN_OF, {"national_code": national_code}
            ).one_or_none()
        if existing is not None:
            raise _already_voted(existing.station_id, existing.checked_in_at) from error
        raise ServerError("malformed_request", "conflicting insert") from error


def _voter(connection: Connection, card_id: str, national_code: str) -> Any:
    """The roll entry, whether the card is revoked and any check-in, in one query."""
    return connection.execute(
        _VOTER, {"card_id": card_id, "national_code": national_code}
    ).one_or_none()


def _revoked(connection: Connection, card_id: str) -> bool:
    return bool(connection.execute(_REVOKED, {"card_id": card_id}).scalar_one())


def _already_voted(station_id: str, checked_in_at: int) -> ServerError:
    return ServerError(
        "already_voted", details={"station_id": station_id, "checked_in_at": checked_in_at}
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
    with state.registry_engine.begin() as connection:
        marked = connection.execute(
            update(IssuedPass)
            .where(IssuedPass.pass_id == payload["pass_id"], IssuedPass.redeemed.is_(False))
            .values(redeemed=True)
        )
        if marked.rowcount != 1:
            known = connection.execute(
                select(exists().where(IssuedPass.pass_id == payload["pass_id"]))
            ).scalar_one()
            raise ServerError("pass_used" if known else "pass_invalid")
        style = info.manifest.station(terminal.station_id).ballot_style_id
        return _authorize(state, connection, terminal.station_id, style, now)  # type: ignore[no-any-return]
