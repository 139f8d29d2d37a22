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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import ClauseElement, Connection, bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.exc import IntegrityError

from ballot_server import db
from ballot_server.cards import Card, check_card_signature, read_certificate
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
_INSERT_CHALLENGE = insert(InquiryChallenge).values(
    challenge_id=bindparam("challenge_id"),
    terminal_id=bindparam("terminal_id"),
    challenge=bindparam("challenge"),
    expires_at=bindparam("expires_at"),
)
_INSERT_CHECK_IN = insert(CheckIn).values(
    national_code=bindparam("national_code"),
    station_id=bindparam("station_id"),
    checked_in_at=bindparam("checked_in_at"),
)
_INSERT_AUTHORIZATION = insert(IssuedAuthorization).values(
    authorization_id=bindparam("authorization_id"),
    station_id=bindparam("station_id"),
    ballot_style_id=bindparam("ballot_style_id"),
    expires_at=bindparam("expires_at"),
)
_INSERT_PASS = insert(IssuedPass).values(
    pass_id=bindparam("pass_id"),
    station_id=bindparam("station_id"),
    ballot_style_id=bindparam("ballot_style_id"),
    expires_at=bindparam("expires_at"),
    redeemed=bindparam("redeemed"),
)
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


def _postgres_sql(statement: ClauseElement) -> str:
    return str(statement.compile(dialect=pg_psycopg.dialect()))


# The same statements as SQL text for psycopg itself (the check-in's PostgreSQL path).
_PG_TAKE_CHALLENGE = _postgres_sql(_TAKE_CHALLENGE)
_PG_VOTER = _postgres_sql(_VOTER)
_PG_REVOKED = _postgres_sql(_REVOKED)
_PG_INSERT_CHECK_IN = _postgres_sql(_INSERT_CHECK_IN)
_PG_ISSUE = {
    _INSERT_AUTHORIZATION: _postgres_sql(_INSERT_AUTHORIZATION),
    _INSERT_PASS: _postgres_sql(_INSERT_PASS),
}


def _round_up_to_minute(moment: int) -> int:
    return (moment // 60 + 1) * 60


def issue_challenge(state: ServerState, terminal: TerminalKey) -> dict[str, Any]:
    """A fresh 32-byte challenge for the voter's card, valid at this terminal only."""
    challenge_id, challenge = os.urandom(16).hex(), os.urandom(CHALLENGE_BYTES)
    expires_at = state.now() + state.config.challenge_ttl_s
    db.write_once(
        state.registry_ephemeral_engine,
        _INSERT_CHALLENGE,
        {
            "challenge_id": challenge_id,
            "terminal_id": terminal.terminal_id,
            "challenge": challenge.hex(),
            "expires_at": expires_at,
        },
    )
    return {"challenge_id": challenge_id, "challenge": challenge.hex(), "expires_at": expires_at}


Issue = tuple[Any, dict[str, Any], dict[str, Any]]  # statement, its row, the answer


def _signed_grant(
    state: ServerState, kind: str, id_field: str, station_id: str, style: str, expires_at: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh one-time grant (authorization or pass): its stored row and signed envelope."""
    fields = {
        id_field: os.urandom(16).hex(),
        "station_id": station_id,
        "ballot_style_id": style,
        "expires_at": expires_at,
    }
    payload = {**fields, "election_id": state.election().election_id}
    return fields, state.config.keys.inquiry.sign(kind, payload).to_json()


def _authorize(state: ServerState, station_id: str, style: str, now: int) -> Issue:
    """The authorization's row and the signed answer; the caller inserts the row."""
    expires_at = _round_up_to_minute(now + state.config.authorization_ttl_s)
    row, envelope = _signed_grant(
        state, "authorization", "authorization_id", station_id, style, expires_at
    )
    return _INSERT_AUTHORIZATION, row, {"authorization": envelope, "expires_at": expires_at}


def _issue_pass(state: ServerState, station_id: str, style: str, now: int) -> Issue:
    """The pass's row and the signed answer; the caller inserts the row."""
    expires_at = _round_up_to_minute(now + state.config.pass_ttl_s)
    row, envelope = _signed_grant(state, "qr-pass", "pass_id", station_id, style, expires_at)
    return _INSERT_PASS, {**row, "redeemed": False}, {"qr_pass": envelope, "expires_at": expires_at}


def check_in(
    state: ServerState, request: TerminalRequest, terminal: TerminalKey, *, as_pass: bool = False
) -> dict[str, Any]:
    """Check the card's holder in at the terminal's station; answer an authorization
    (booth) or a QR pass (check-in desk).

    Core statements, not the ORM: take the challenge (DELETE … RETURNING), read
    revocation + roll entry + any check-in in one query, insert the check-in and the
    authorization, then the durable commit, all in one transaction. On PostgreSQL the
    two reads go out in one round trip and the two inserts with the COMMIT in another
    (psycopg pipeline mode). The certificate is verified before the transaction so that
    the reads can be sent together; a bad certificate is still reported only after the
    challenge is found. Refusals keep their order: challenge, certificate, revoked, card
    signature, role, roll, birth date, alive, age, ballot style, already voted."""
    try:
        answer = parse_card_answer(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    manifest = state.election().manifest
    station = manifest.station(terminal.station_id)
    now = state.now()
    card: Card | None = None
    try:
        card, card_key = read_certificate(state.config.keys.registry_public, answer)
    except ServerError as error:
        card_error = error
    taken = {"challenge_id": answer.challenge_id, "terminal_id": terminal.terminal_id, "now": now}
    national_code = ""
    try:
        with _transaction(state) as transaction:
            challenge, voter, revoked = transaction.read(taken, card)
            if challenge is None:
                raise ServerError("unknown_challenge")
            if card is None:
                raise card_error
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
            issue = _issue_pass if as_pass else _authorize
            statement, row, reply = issue(state, station.station_id, station.ballot_style_id, now)
            transaction.write(
                {
                    "national_code": national_code,
                    "station_id": station.station_id,
                    "checked_in_at": now,
                },
                statement,
                row,
            )
        return reply
    except (IntegrityError, psycopg.IntegrityError) as error:
        with state.registry_engine.connect() as connection:
            existing = connection.execute(
                _CHECK_IN_OF, {"national_code": national_code}
            ).one_or_none()
        if existing is not None:
            raise _already_voted(existing.station_id, existing.checked_in_at) from error
        raise ServerError("malformed_request", "conflicting insert") from error


class _CoreTransaction:
    """The check-in's statements through SQLAlchemy Core (SQLite)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def read(self, taken: dict[str, Any], card: Card | None) -> tuple[str | None, Any, bool]:
        """The challenge (now taken), and if it was there and the card is known, the
        voter's roll entry with any check-in, and whether the card is revoked."""
        challenge = self.connection.execute(_TAKE_CHALLENGE, taken).scalar_one_or_none()
        if challenge is None or card is None:
            return challenge, None, False
        voter = _voter(self.connection, card.card_id, card.national_code)
        revoked = voter.revoked if voter is not None else _revoked(self.connection, card.card_id)
        return challenge, voter, bool(revoked)

    def write(self, check_in: dict[str, Any], statement: Any, row: dict[str, Any]) -> None:
        """Insert the check-in and the authorization (or pass); commit follows."""
        self.connection.execute(_INSERT_CHECK_IN, check_in)
        self.connection.execute(statement, row)


class _PostgresTransaction:
    """The same statements sent by psycopg itself in pipeline mode: two round trips."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.driver = driver

    def read(self, taken: dict[str, Any], card: Card | None) -> tuple[str | None, Any, bool]:
        driver = self.driver
        if card is None:
            row = driver.execute(_PG_TAKE_CHALLENGE, taken).fetchone()
            return (row[0] if row is not None else None), None, False
        found = driver.cursor(row_factory=namedtuple_row)
        with driver.pipeline():
            took = driver.execute(_PG_TAKE_CHALLENGE, taken)
            found.execute(_PG_VOTER, {"card_id": card.card_id, "national_code": card.national_code})
        row = took.fetchone()
        voter: Any = found.fetchone()
        if row is None:
            return None, None, False
        if voter is not None:
            return row[0], voter, bool(voter.revoked)
        revoked = driver.execute(_PG_REVOKED, {"card_id": card.card_id}).fetchone()
        return row[0], None, bool(revoked is not None and revoked[0])

    def write(self, check_in: dict[str, Any], statement: Any, row: dict[str, Any]) -> None:
        """Both inserts and the durable COMMIT in one round trip; a failure (the
        check-in's key taken by a racing station) is raised here."""
        driver = self.driver
        with driver.pipeline():
            driver.execute(_PG_INSERT_CHECK_IN, check_in)
            driver.execute(_PG_ISSUE[statement], row)
            driver.commit()


@contextmanager
def _transaction(state: ServerState) -> Iterator[_CoreTransaction | _PostgresTransaction]:
    """One transaction on the registry database, committed when the block ends (on
    PostgreSQL a pooled psycopg connection taken without a SQLAlchemy ``Connection``)."""
    engine = state.registry_engine
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            yield _CoreTransaction(connection)
        return
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            yield _PostgresTransaction(driver)
            driver.commit()  # no round trip when write() committed already
        except BaseException:
            driver.rollback()
            raise
    finally:
        pooled.close()


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
        statement, row, answer = _authorize(state, terminal.station_id, style, now)
        connection.execute(statement, row)
        return answer
