"""Online inquiry: card challenge → eligibility checks → atomic check-in → authorization.

The check-in row's primary key is the national code, so two stations racing
for one voter cannot both insert it: the loser's insert (on PostgreSQL it
waits for the first to commit) inserts nothing and it gets ``already_voted``.

Ballot secrecy: the authorization is signed and returned, never stored. Its id
is published on the board with the ballot, and any row written beside the
check-in (same transaction on PostgreSQL, neighbouring rowid on SQLite) would
link it back to the voter; the closing report counts issued authorizations
from check-ins and passes instead (``reports.py``). A QR pass is stored (it is
redeemed once), but its id never reaches the board, and redeeming it stores
nothing of the authorization it yields. Nothing written beside a check-in
names the terminal or the second (``replay.py``): check-in times are minutes,
and authorization expiries are rounded up to the minute too. What the storage
still orders is in docs/server.md, "Durability and secrecy notes".

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
from sqlalchemy import (
    ClauseElement,
    Connection,
    bindparam,
    delete,
    exists,
    false,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as insert_or_skip
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from ballot_server import refusal_counts, replay
from ballot_server.cards import Card, check_card_signature, read_certificate
from ballot_server.challenges import Challenge
from ballot_server.eligibility import roll_refusal
from ballot_server.errors import ServerError
from ballot_server.registry_models import (
    CheckIn,
    InquiryNonce,
    InquiryStation,
    IssuedPass,
    RevokedCard,
    RollEntry,
    SpentChallenge,
)
from ballot_server.requests import (
    authenticate,
    check_window,
    prune_nonces,
    verify_signed,
)
from ballot_server.state import ServerState
from crypto.errors import CryptoError, DecodingError
from evote import protocol
from evote.protocol import parse_card_answer, parse_pass_body

PASS_FIELDS = {"pass_id", "election_id", "station_id", "ballot_style_id", "expires_at"}
PRUNE_EVERY_S = 60


def _insert_unless_there(column: Any, *others: Any) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING column`` with a bound parameter per
    column (PostgreSQL and SQLite alike): "already there" is an answer with no row,
    not an error that would abort the rest of a pipeline."""
    values: dict[str, Any] = {item.key: bindparam(item.key) for item in (column, *others)}
    return insert_or_skip(column.table).values(values).on_conflict_do_nothing().returning(column)


# Statements built once: building one per request costs as much as executing it.
_RECORD_NONCE = _insert_unless_there(InquiryNonce.digest, InquiryNonce.timestamp)
_SPEND_CHALLENGE = _insert_unless_there(SpentChallenge.digest, SpentChallenge.expires_at)
_CHECK_IN = _insert_unless_there(
    CheckIn.national_code,
    CheckIn.station_id,
    CheckIn.checked_in_at,
    CheckIn.release_commitment,
    CheckIn.release_escrow,
)
# A released voter checks in again (same station): exactly one of racing re-check-ins
# finds the row still released.
_CHECK_IN_AGAIN = (
    update(CheckIn)
    .where(
        CheckIn.national_code == bindparam("again_voter"),
        CheckIn.station_id == bindparam("again_station"),
        CheckIn.released.is_(True),
    )
    .values(  # literals, not parameters: psycopg runs this statement's SQL text itself
        released=false(),
        release_commitment=bindparam("again_commitment"),
        release_escrow=bindparam("again_escrow"),
        checked_in_at=bindparam("again_at"),
        authorizations=CheckIn.authorizations + literal_column("1"),
    )
    .returning(CheckIn.national_code)
)


def _again(check_in: dict[str, Any]) -> dict[str, Any]:
    """``_CHECK_IN_AGAIN``'s parameters (a bound name may not be a column's in an UPDATE)."""
    return {
        "again_voter": check_in["national_code"],
        "again_station": check_in["station_id"],
        "again_commitment": check_in["release_commitment"],
        "again_escrow": check_in["release_escrow"],
        "again_at": check_in["checked_in_at"],
    }


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
        CheckIn.released,
        CheckIn.release_escrow,
    )
    .select_from(RollEntry)
    .outerjoin(CheckIn, CheckIn.national_code == RollEntry.national_code)
    .where(RollEntry.national_code == bindparam("national_code"))
)
# The inquiry's copy of the station's poll state, share-locked to the commit: a close
# (``polls.publish_to_inquiry``) waits for every check-in that saw the station open.
_POLLS = (
    select(InquiryStation.poll_state, InquiryStation.poll_version)
    .where(InquiryStation.station_id == bindparam("station_id"))
    .with_for_update(read=True)
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
_PG_CHECK_IN = _postgres_sql(_CHECK_IN)
_PG_CHECK_IN_AGAIN = _postgres_sql(_CHECK_IN_AGAIN)
_PG_CHECK_IN_OF = _postgres_sql(_CHECK_IN_OF)
_PG_POLLS = _postgres_sql(_POLLS)
_PG_INSERT_PASS = _postgres_sql(_INSERT_PASS)
_PG_NO_FLUSH = "SET LOCAL synchronous_commit = off"


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
    """Forget nonces past twice the window and spent challenges a whole window past
    their expiry (a stale request or an expired challenge is refused without them;
    the margin covers inquiry servers whose clocks disagree by up to the window),
    once a minute per process."""
    if now - state.inquiry_pruned_at < PRUNE_EVERY_S:
        return
    state.inquiry_pruned_at = now
    prune_nonces(state.inquiry_gate)
    horizon = now - state.config.request_window_s
    with state.registry_ephemeral_engine.begin() as connection:
        connection.execute(delete(SpentChallenge).where(SpentChallenge.expires_at < horizon))


def _signed_grant(
    state: ServerState,
    kind: str,
    id_field: str,
    station_id: str,
    style: str,
    expires_at: int,
    grant_id: str | None = None,
    **signed_only: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh one-time grant (authorization or pass): its stored fields and signed
    envelope (which also carries ``signed_only``); a random id unless given."""
    fields = {
        id_field: grant_id or os.urandom(16).hex(),
        "station_id": station_id,
        "ballot_style_id": style,
        "expires_at": expires_at,
    }
    payload = {**fields, **signed_only, "election_id": state.inquiry_manifest().election_id}
    return fields, state.config.keys.inquiry.sign(kind, payload).to_json()


def _authorize(
    state: ServerState,
    station_id: str,
    style: str,
    now: int,
    poll_period: int,
    authorization_id: str | None = None,
) -> dict[str, Any]:
    """A signed authorization, answered and never stored (see the module docstring).
    ``poll_period`` is the poll version of the opening it was issued under: the
    intake accepts it after close only if that opening preceded the close. Its id is
    random, or derived from the terminal's release key (``release.py``)."""
    expires_at = replay.minute_ceil(now + state.config.authorization_ttl_s)
    _, envelope = _signed_grant(
        state,
        "authorization",
        "authorization_id",
        station_id,
        style,
        expires_at,
        grant_id=authorization_id,
        poll_period=poll_period,
    )
    return {"authorization": envelope, "expires_at": expires_at}


def _issue_pass(
    state: ServerState, station_id: str, style: str, now: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A signed QR pass and the row that lets it be redeemed once."""
    expires_at = replay.minute_ceil(now + state.config.pass_ttl_s)
    row, envelope = _signed_grant(state, "qr-pass", "pass_id", station_id, style, expires_at)
    return {**row, "redeemed": False}, {"qr_pass": envelope, "expires_at": expires_at}


@dataclass(frozen=True)
class _Found:
    """What the check-in's first round trip learnt."""

    fresh_nonce: bool
    challenge_spent_now: bool
    voter: Any
    revoked: bool
    polls: Any = None  # (poll_state, poll_version) of the inquiry's copy, or None


def check_in(state: ServerState, data: object, *, as_pass: bool = False) -> dict[str, Any]:
    """Check the card's holder in at the terminal's station; answer an authorization
    (booth) or a QR pass (check-in desk).

    The signatures, the request's time window, the challenge's MAC and expiry and
    the certificate are checked first, in memory. Then one transaction: record the
    request's nonce, spend the challenge, read revocation + roll entry + any
    check-in; insert the check-in (and a pass's row); the durable commit. On
    PostgreSQL the first three go out in one round trip and the insert with the
    COMMIT in another (psycopg pipeline mode). A refusal commits the nonce and the
    spent challenge (a refused answer cannot be replayed either) and nothing else,
    a lost race for the voter included.
    The station's poll state is read with them (share-locked on PostgreSQL):
    nobody is checked in unless the polls are open.
    Refusals keep their order: replayed request, challenge, polls not open,
    certificate, revoked, card signature, role, roll, birth date, alive, age,
    ballot style, already voted."""
    gate = state.inquiry_gate
    action = protocol.ACTION_ISSUE_PASS if as_pass else protocol.ACTION_CHECK_IN
    request, terminal = verify_signed(gate, data, action)
    check_window(gate, request)
    try:
        answer = parse_card_answer(
            request.body, set() if as_pass else {"release_key", "release_escrow"}
        )
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
    with _transaction(state, station.station_id) as transaction:
        found = transaction.read(
            replay.inquiry_nonce_row(request), challenge, card, station.station_id
        )
        if not found.fresh_nonce:
            raise ServerError("replayed_request")
        if challenge is None or not found.challenge_spent_now:
            raise ServerError("unknown_challenge")
        poll_period = _open_period(found.polls)
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
        refused = roll_refusal(manifest, station, voter.birth_date, voter.alive, voter.district_id)
        if refused is not None:
            raise ServerError(refused)
        again = bool(voter.released) and voter.checked_in_station == station.station_id
        if voter.checked_in_station is not None and (as_pass or not again):
            raise _already_voted(
                voter.checked_in_station,
                voter.checked_in_at,
                None
                if voter.released or voter.checked_in_station != station.station_id
                else voter.release_escrow,
            )
        authorization_id = commitment = None
        if answer.release_key is not None:
            authorization_id, commitment = protocol.release_derivation(
                answer.release_key, terminal.terminal_id
            )
        check_in_row = {
            "national_code": card.national_code,
            "station_id": station.station_id,
            "checked_in_at": replay.minute_floor(now),
            "release_commitment": commitment,
            "release_escrow": answer.release_escrow if commitment is not None else None,
        }
        style = station.ballot_style_id
        pass_row: dict[str, Any] | None = None
        if as_pass:
            pass_row, reply = _issue_pass(state, station.station_id, style, now)
        else:
            reply = _authorize(state, station.station_id, style, now, poll_period, authorization_id)
        lost_to = transaction.write(check_in_row, pass_row, again)
        if lost_to is not None:
            raise _already_voted(lost_to.station_id, lost_to.checked_in_at)
    return reply


class _CoreTransaction:
    """The check-in's statements through SQLAlchemy Core (SQLite)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def read(
        self,
        nonce: dict[str, Any],
        challenge: Challenge | None,
        card: Card | None,
        station_id: str,
    ) -> _Found:
        """Record the nonce, spend the challenge if it is one of ours, and if so read the
        station's poll state and, if the card is known, the voter's roll entry with any
        check-in and revocation."""
        execute = self.connection.execute
        fresh_nonce = execute(_RECORD_NONCE, nonce).first() is not None
        if challenge is None:
            return _Found(fresh_nonce, False, None, False)
        spent_now = (
            execute(_SPEND_CHALLENGE, replay.spent_challenge_row(challenge)).first() is not None
        )
        polls = execute(_POLLS, {"station_id": station_id}).first()
        if card is None:
            return _Found(fresh_nonce, spent_now, None, False, polls)
        voter = execute(
            _VOTER, {"card_id": card.card_id, "national_code": card.national_code}
        ).one_or_none()
        revoked = voter.revoked if voter is not None else _revoked(self.connection, card.card_id)
        return _Found(fresh_nonce, spent_now, voter, bool(revoked), polls)

    def write(self, check_in: dict[str, Any], pass_row: dict[str, Any] | None, again: bool) -> Any:
        """Insert the check-in (and the pass), or check a released voter in again;
        commit follows. None, or the check-in a racing station made first (the caller
        refuses)."""
        statement, parameters = (
            (_CHECK_IN_AGAIN, _again(check_in)) if again else (_CHECK_IN, check_in)
        )
        if self.connection.execute(statement, parameters).first() is None:
            return self.connection.execute(_CHECK_IN_OF, check_in).one()
        if pass_row is not None:
            self.connection.execute(_INSERT_PASS, pass_row)
        return None


class _PostgresTransaction:
    """The same statements sent by psycopg itself in pipeline mode: two round trips."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.driver = driver

    def read(
        self,
        nonce: dict[str, Any],
        challenge: Challenge | None,
        card: Card | None,
        station_id: str,
    ) -> _Found:
        driver = self.driver
        spent = found = polled = None
        with driver.pipeline():
            recorded = driver.execute(_PG_RECORD_NONCE, nonce)
            if challenge is not None:
                spent = driver.execute(_PG_SPEND_CHALLENGE, replay.spent_challenge_row(challenge))
                polled = driver.execute(_PG_POLLS, {"station_id": station_id})
                if card is not None:
                    found = driver.cursor(row_factory=namedtuple_row)
                    found.execute(
                        _PG_VOTER, {"card_id": card.card_id, "national_code": card.national_code}
                    )
        fresh_nonce = recorded.fetchone() is not None
        spent_now = spent is not None and spent.fetchone() is not None
        polls = polled.fetchone() if polled is not None else None
        if found is None or card is None:
            return _Found(fresh_nonce, spent_now, None, False, polls)
        voter: Any = found.fetchone()
        if voter is not None:
            return _Found(fresh_nonce, spent_now, voter, bool(voter.revoked), polls)
        revoked = driver.execute(_PG_REVOKED, {"card_id": card.card_id}).fetchone()
        revoked_now = bool(revoked is not None and revoked[0])
        return _Found(fresh_nonce, spent_now, None, revoked_now, polls)

    def write(self, check_in: dict[str, Any], pass_row: dict[str, Any] | None, again: bool) -> Any:
        """The check-in (or a released voter's check-in again) and the durable COMMIT
        in one round trip (a pass's row, which must not be stored for a lost race, in
        a second). None, or the check-in a racing station made first: this insert
        waited for it and inserted nothing, and the nonce and spent challenge are
        committed all the same."""
        driver = self.driver
        with driver.pipeline():
            if again:
                inserted = driver.execute(_PG_CHECK_IN_AGAIN, _again(check_in))
            else:
                inserted = driver.execute(_PG_CHECK_IN, check_in)
            if pass_row is None:
                driver.commit()
        if inserted.fetchone() is None:
            found = driver.cursor(row_factory=namedtuple_row)
            earlier = found.execute(_PG_CHECK_IN_OF, check_in).fetchone()
            if earlier is None:  # fail closed: no authorization without a check-in
                raise RuntimeError("check-in refused by a row that is not there")
            return earlier
        if pass_row is not None:
            with driver.pipeline():
                driver.execute(_PG_INSERT_PASS, pass_row)
                driver.commit()
        return None


@contextmanager
def _transaction(
    state: ServerState, station_id: str
) -> Iterator[_CoreTransaction | _PostgresTransaction]:
    """One transaction on the registry database, committed when the block ends or
    refuses (``ServerError``: keep the nonce and the spent challenge, and count the
    refusal at ``station_id``), rolled back on any other error. On PostgreSQL a
    pooled psycopg connection is used without a SQLAlchemy ``Connection`` around it."""
    engine = state.registry_engine
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            connection.begin()
            try:
                yield _CoreTransaction(connection)
            except ServerError as error:
                refusal_counts.add_one(connection, station_id, error.code)
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
        except ServerError as error:
            # What a refusal keeps (nonce, spent challenge, its count) is lost harmlessly
            # in a crash: no WAL flush to wait for, so refusals cannot be used to force one.
            with driver.pipeline():
                driver.execute(_PG_NO_FLUSH)
                if refusal_counts.counted(error.code):
                    driver.execute(
                        refusal_counts.PG_ADD_ONE,
                        refusal_counts.parameters(station_id, error.code),
                    )
                driver.commit()
            raise
        except BaseException:
            driver.rollback()
            raise
        driver.commit()  # no round trip when write() committed already
    finally:
        pooled.close()


def _open_period(polls: Any) -> int:
    """The poll version of the station's current opening, or ``polls_not_open``."""
    if polls is None:
        raise ServerError("polls_not_open", "not_opened")
    poll_state, poll_version = polls
    if poll_state != "open":
        raise ServerError("polls_not_open", poll_state)
    return int(poll_version)


def _revoked(connection: Connection, card_id: str) -> bool:
    return bool(connection.execute(_REVOKED, {"card_id": card_id}).scalar_one())


def _already_voted(station_id: str, checked_in_at: int, escrow: str | None = None) -> ServerError:
    """The refusal; to the card that checked in and has not been released, also its
    sealed release key (only that card opens it: ``evote/release_escrow.py``)."""
    details: dict[str, Any] = {"station_id": station_id, "checked_in_at": checked_in_at}
    if escrow is not None:
        details["release_escrow"] = escrow
    return ServerError("already_voted", details=details)


def redeem_pass(state: ServerState, data: object) -> dict[str, Any]:
    """Trade a one-time QR pass for an authorization at the pass's station; a refusal
    is counted at the redeeming terminal's station."""
    request, terminal = authenticate(state.inquiry_gate, data, protocol.ACTION_REDEEM_PASS)
    try:
        return _redeem(state, request.body, terminal.station_id, terminal.terminal_id)
    except ServerError as error:
        refusal_counts.add_one_apart(state, terminal.station_id, error.code)
        raise


def _redeem(
    state: ServerState, body: dict[str, Any], station_id: str, terminal_id: str
) -> dict[str, Any]:
    try:
        redeem = parse_pass_body(body)
        payload = redeem.qr_pass.verify("qr-pass", state.config.keys.inquiry_public)
    except CryptoError as error:
        raise ServerError("pass_invalid", str(error)) from error
    if not isinstance(payload, dict) or set(payload) != PASS_FIELDS:
        raise ServerError("pass_invalid", "fields")
    manifest = state.inquiry_manifest()
    now = state.now()
    if payload["election_id"] != manifest.election_id:
        raise ServerError("pass_invalid", "another election")
    if payload["station_id"] != station_id:
        raise ServerError("pass_wrong_station")
    if not isinstance(payload["expires_at"], int) or payload["expires_at"] < now:
        raise ServerError("pass_expired")
    authorization_id = commitment = None
    if redeem.release_key is not None:
        authorization_id, commitment = protocol.release_derivation(redeem.release_key, terminal_id)
    with state.registry_engine.begin() as connection:
        poll_period = _open_period(connection.execute(_POLLS, {"station_id": station_id}).first())
        # Unredeemed, or released after its authorization was voided: one of racing
        # redemptions finds it so.
        marked = connection.execute(
            update(IssuedPass)
            .where(IssuedPass.pass_id == payload["pass_id"], IssuedPass.redeemed.is_(False))
            .values(
                redeemed=True,
                release_commitment=commitment,
                redemptions=IssuedPass.redemptions + 1,
            )
        )
        if marked.rowcount != 1:
            known = connection.execute(
                select(exists().where(IssuedPass.pass_id == payload["pass_id"]))
            ).scalar_one()
            raise ServerError("pass_used" if known else "pass_invalid")
    style = manifest.station(station_id).ballot_style_id
    return _authorize(state, station_id, style, now, poll_period, authorization_id)
