"""Online inquiry: card challenge → eligibility checks → atomic check-in → authorization.

The check-in row's primary key is the national code, so two stations racing
for one voter cannot both insert it: the loser's transaction fails on the key
(on PostgreSQL the second insert waits for the first to commit) and gets
``already_voted``. The authorization is issued in the same transaction but in
a table with no voter column, and its expiry is rounded up to the minute so
that times do not join the two tables either.

Everything here runs on the registry database alone (``state.inquiry_gate``,
``state.inquiry_manifest``), so the inquiry can be deployed apart from ballot
intake. Challenges are MACs, not rows (``challenges.py``): issuing one writes
only the request's nonce.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import ClauseElement, Connection, bindparam, delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as insert_or_skip
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.exc import IntegrityError

from ballot_server.cards import Card, check_card_signature, read_certificate
from ballot_server.challenges import Challenge
from ballot_server.errors import ServerError
from ballot_server.registry_models import (
    CheckIn,
    InquiryNonce,
    IssuedAuthorization,
    IssuedPass,
    RevokedCard,
    RollEntry,
    SpentChallenge,
)
from ballot_server.requests import (
    authenticate,
    check_window,
    nonce_row,
    prune_nonces,
    verify_signed,
)
from ballot_server.state import ServerState
from crypto.errors import CryptoError, DecodingError
from evote import protocol
from evote.jalali import age_on, parse_jalali
from evote.protocol import parse_card_answer, parse_pass_body

VOTING_AGE = 18
PASS_FIELDS = {"pass_id", "election_id", "station_id", "ballot_style_id", "expires_at"}
PRUNE_EVERY_S = 60

# Statements built once: building one per request costs as much as executing it.
# ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike) answers "already there" with
# no row instead of an error, which would abort the rest of a pipeline.
_RECORD_NONCE = (
    insert_or_skip(InquiryNonce)
    .values(
        terminal_id=bindparam("terminal_id"),
        nonce=bindparam("nonce"),
        timestamp=bindparam("timestamp"),
    )
    .on_conflict_do_nothing()
    .returning(InquiryNonce.nonce)
)
_SPEND_CHALLENGE = (
    insert_or_skip(SpentChallenge)
    .values(challenge_id=bindparam("challenge_id"), expires_at=bindparam("expires_at"))
    .on_conflict_do_nothing()
    .returning(SpentChallenge.challenge_id)
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
_PG_RECORD_NONCE = _postgres_sql(_RECORD_NONCE)
_PG_SPEND_CHALLENGE = _postgres_sql(_SPEND_CHALLENGE)
_PG_VOTER = _postgres_sql(_VOTER)
_PG_REVOKED = _postgres_sql(_REVOKED)
_PG_INSERT_CHECK_IN = _postgres_sql(_INSERT_CHECK_IN)
_PG_ISSUE = {
    _INSERT_AUTHORIZATION: _postgres_sql(_INSERT_AUTHORIZATION),
    _INSERT_PASS: _postgres_sql(_INSERT_PASS),
}


def _round_up_to_minute(moment: int) -> int:
    return (moment // 60 + 1) * 60


def issue_challenge(state: ServerState, data: object) -> dict[str, Any]:
    """A fresh 32-byte challenge for the voter's card, valid at this terminal only."""
    _, terminal = authenticate(state.inquiry_gate, data, protocol.ACTION_INQUIRY_CHALLENGE)
    now = state.now()
    _prune_if_due(state, now)
    challenge = state.challenge_key.issue(terminal.terminal_id, now + state.config.challenge_ttl_s)
    return {
        "challenge_id": challenge.challenge_id,
        "challenge": challenge.challenge.hex(),
        "expires_at": challenge.expires_at,
    }


def _prune_if_due(state: ServerState, now: int) -> None:
    """Forget spent challenges past their expiry and nonces past the window (an expired
    challenge or a stale request is refused without them), once a minute per process."""
    if now - state.inquiry_pruned_at < PRUNE_EVERY_S:
        return
    state.inquiry_pruned_at = now
    prune_nonces(state.inquiry_gate)
    with state.registry_ephemeral_engine.begin() as connection:
        connection.execute(delete(SpentChallenge).where(SpentChallenge.expires_at < now))


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
    payload = {**fields, "election_id": state.inquiry_manifest().election_id}
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


@dataclass(frozen=True)
class _Found:
    """What the check-in's first round trip learnt."""

    fresh_nonce: bool
    challenge_spent_now: bool
    voter: Any
    revoked: bool


def check_in(state: ServerState, data: object, *, as_pass: bool = False) -> dict[str, Any]:
    """Check the card's holder in at the terminal's station; answer an authorization
    (booth) or a QR pass (check-in desk).

    The signatures, the request's time window, the challenge's MAC and expiry and
    the certificate are checked first, in memory. Then one transaction: record the
    request's nonce, spend the challenge, read revocation + roll entry + any
    check-in; insert the check-in and the authorization; the durable commit. On
    PostgreSQL the first three go out in one round trip and the inserts with the
    COMMIT in another (psycopg pipeline mode). A refusal commits the nonce and the
    spent challenge (a refused answer cannot be replayed either) and nothing else.
    Refusals keep their order: replayed request, challenge, certificate, revoked,
    card signature, role, roll, birth date, alive, age, ballot style, already voted."""
    gate = state.inquiry_gate
    action = protocol.ACTION_ISSUE_PASS if as_pass else protocol.ACTION_CHECK_IN
    request, terminal = verify_signed(gate, data, action)
    check_window(gate, request)
    try:
        answer = parse_card_answer(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    manifest = state.inquiry_manifest()
    station = manifest.station(terminal.station_id)
    now = state.now()
    challenge = state.challenge_key.recognise(terminal.terminal_id, answer.challenge_id, now)
    card: Card | None = None
    try:
        card, card_key = read_certificate(state.config.keys.registry_public, answer)
    except ServerError as error:
        card_error = error
    national_code = ""
    try:
        with _transaction(state) as transaction:
            found = transaction.read(nonce_row(request), challenge, card)
            if not found.fresh_nonce:
                raise ServerError("replayed_request")
            if challenge is None or not found.challenge_spent_now:
                raise ServerError("unknown_challenge")
            if card is None:
                raise card_error
            if found.revoked:
                raise ServerError("card_revoked")
            check_card_signature(card_key, answer, challenge.challenge)
            if card.role != "voter":
                raise ServerError("not_a_voter_card")
            voter = found.voter
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


def _spend(challenge: Challenge) -> dict[str, Any]:
    return {"challenge_id": challenge.challenge_id, "expires_at": challenge.expires_at}


class _CoreTransaction:
    """The check-in's statements through SQLAlchemy Core (SQLite)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def read(self, nonce: dict[str, Any], challenge: Challenge | None, card: Card | None) -> _Found:
        """Record the nonce, spend the challenge if it is one of ours, and if so and the
        card is known read the voter's roll entry with any check-in and revocation."""
        execute = self.connection.execute
        fresh_nonce = execute(_RECORD_NONCE, nonce).first() is not None
        if challenge is None:
            return _Found(fresh_nonce, False, None, False)
        spent_now = execute(_SPEND_CHALLENGE, _spend(challenge)).first() is not None
        if card is None:
            return _Found(fresh_nonce, spent_now, None, False)
        voter = execute(
            _VOTER, {"card_id": card.card_id, "national_code": card.national_code}
        ).one_or_none()
        revoked = voter.revoked if voter is not None else _revoked(self.connection, card.card_id)
        return _Found(fresh_nonce, spent_now, voter, bool(revoked))

    def write(self, check_in: dict[str, Any], statement: Any, row: dict[str, Any]) -> None:
        """Insert the check-in and the authorization (or pass); commit follows."""
        self.connection.execute(_INSERT_CHECK_IN, check_in)
        self.connection.execute(statement, row)


class _PostgresTransaction:
    """The same statements sent by psycopg itself in pipeline mode: two round trips."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.driver = driver

    def read(self, nonce: dict[str, Any], challenge: Challenge | None, card: Card | None) -> _Found:
        driver = self.driver
        spent = found = None
        with driver.pipeline():
            recorded = driver.execute(_PG_RECORD_NONCE, nonce)
            if challenge is not None:
                spent = driver.execute(_PG_SPEND_CHALLENGE, _spend(challenge))
                if card is not None:
                    found = driver.cursor(row_factory=namedtuple_row)
                    found.execute(
                        _PG_VOTER, {"card_id": card.card_id, "national_code": card.national_code}
                    )
        fresh_nonce = recorded.fetchone() is not None
        spent_now = spent is not None and spent.fetchone() is not None
        if found is None or card is None:
            return _Found(fresh_nonce, spent_now, None, False)
        voter: Any = found.fetchone()
        if voter is not None:
            return _Found(fresh_nonce, spent_now, voter, bool(voter.revoked))
        revoked = driver.execute(_PG_REVOKED, {"card_id": card.card_id}).fetchone()
        return _Found(fresh_nonce, spent_now, None, bool(revoked is not None and revoked[0]))

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
    """One transaction on the registry database, committed when the block ends or
    refuses (``ServerError``: keep the nonce and the spent challenge), rolled back on
    any other error. On PostgreSQL a pooled psycopg connection is used without a
    SQLAlchemy ``Connection`` around it."""
    engine = state.registry_engine
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            connection.begin()
            try:
                yield _CoreTransaction(connection)
            except ServerError:
                connection.commit()
                raise
            connection.commit()
        return
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.Connection)
        try:
            yield _PostgresTransaction(driver)
        except ServerError:
            driver.commit()
            raise
        except BaseException:
            driver.rollback()
            raise
        driver.commit()  # no round trip when write() committed already
    finally:
        pooled.close()


def _revoked(connection: Connection, card_id: str) -> bool:
    return bool(connection.execute(_REVOKED, {"card_id": card_id}).scalar_one())


def _already_voted(station_id: str, checked_in_at: int) -> ServerError:
    return ServerError(
        "already_voted", details={"station_id": station_id, "checked_in_at": checked_in_at}
    )


def redeem_pass(state: ServerState, data: object) -> dict[str, Any]:
    """Trade a one-time QR pass for an authorization at the pass's station."""
    request, terminal = authenticate(state.inquiry_gate, data, protocol.ACTION_REDEEM_PASS)
    try:
        envelope = parse_pass_body(request.body)
        payload = envelope.verify("qr-pass", state.config.keys.inquiry.public_key)
    except CryptoError as error:
        raise ServerError("pass_invalid", str(error)) from error
    if not isinstance(payload, dict) or set(payload) != PASS_FIELDS:
        raise ServerError("pass_invalid", "fields")
    manifest = state.inquiry_manifest()
    now = state.now()
    if payload["election_id"] != manifest.election_id:
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
        style = manifest.station(terminal.station_id).ballot_style_id
        statement, row, answer = _authorize(state, terminal.station_id, style, now)
        connection.execute(statement, row)
        return answer
