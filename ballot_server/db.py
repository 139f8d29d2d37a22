"""Engines, transactions and migrations for the two databases.

SQLite (the embedded default) runs in WAL mode and every transaction starts
with ``BEGIN IMMEDIATE``: writers queue on the database lock up front instead
of failing when a read turns into a write, and a writer that waits out the busy
timeout begins again rather than failing its request (``_begin_immediate``);
its connections are pooled, because
opening one costs three PRAGMAs and closing the last one checkpoints the WAL
(an fsync of the database file) — about 7 ms per request. PostgreSQL (production) serializes
appends to a hash chain with a row lock on the chain's head row
(``SELECT … FOR UPDATE``). Migrations are Alembic scripts shipped inside the
package and run programmatically at start, under an advisory lock on
PostgreSQL so that several gunicorn workers starting at once do not race.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable

from ballot_server.errors import ServerError

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLES = {"main": "alembic_version_ballot", "registry": "alembic_version_registry"}
_MIGRATION_LOCK_ID = 0x65766F7465
PING_AFTER_IDLE_S = 10.0
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_LOCK_PATIENCE_S = 120.0
LOG = logging.getLogger(__name__)


def make_engine(url: str) -> Engine:
    """An engine tuned for the database behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=24,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # A connection asked for AUTOCOMMIT makes lone reads (``lone_read``): no
            # transaction, so no write lock a caller's own open transaction would wait on.
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                _begin_immediate(connection.connection.dbapi_connection)

        return engine
    return _postgres_engine(url)


def _begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """Start a transaction holding SQLite's write lock, waiting for it a while.

    ``BEGIN IMMEDIATE`` waits for the lock up to the busy timeout. Under heavy load
    (many writers, slow fsyncs, two gunicorn workers polling for one lock) a writer
    could wait it out and its request failed with a 500 "database is locked". A
    BEGIN that failed did nothing, so it is issued again — but only for
    ``SQLITE_LOCK_PATIENCE_S`` in all: a lock held that long is not a queue but a
    stuck or deadlocked holder (two requests each holding one of the two database
    files' locks), and waiting forever would hang every worker behind it. The
    request then ends with ``server_busy`` (503, a JSON refusal the terminal
    treats as "retry later"), which also lets the holder's waiters go."""
    deadline = time.monotonic() + SQLITE_LOCK_PATIENCE_S
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if time.monotonic() >= deadline:
                LOG.error(
                    "SQLite write lock not free for %s s: answering busy", SQLITE_LOCK_PATIENCE_S
                )
                raise ServerError("server_busy", "database write lock") from error
            LOG.warning("SQLite write lock still taken after the busy timeout; waiting on")


def make_ephemeral_engine(url: str, durable: Engine) -> Engine:
    """An engine for single-statement writes whose loss in a crash is harmless (request
    nonces, pruning of expired replay records) and single-statement reads that need no transaction
    (intake's resend check): on PostgreSQL each statement commits on its own
    (autocommit: one round trip instead of BEGIN, SET LOCAL, INSERT, COMMIT) without
    waiting for the WAL flush. On SQLite it is ``durable`` itself. Never used to
    write check-ins, authorizations or ballots."""
    if not url.startswith("postgresql"):
        return durable
    # Autocommit: no transaction is ever left open, so nothing to roll back when a
    # connection goes back to the pool (the reset's ROLLBACK call cost ~0.1 ms of CPU).
    engine = _postgres_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")

    return engine


_POSTGRES_SQL: dict[Executable, str] = {}


def lone_read(engine: Engine) -> Any:
    """A connection for single reads outside any transaction (autocommit): safe to use
    while the same thread holds a transaction open on ``engine`` (on SQLite a
    transaction would take the write lock, ``BEGIN IMMEDIATE``, and wait on its own
    caller)."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def write_once(engine: Engine, statement: Executable, parameters: dict[str, Any]) -> None:
    """Execute one prebuilt write on an ephemeral engine (see ``make_ephemeral_engine``).

    On PostgreSQL the statement (compiled once) goes straight to psycopg on a pooled
    autocommit connection: one round trip, without SQLAlchemy's per-execution work
    (which costs more than the INSERT). A unique-key conflict is raised as SQLAlchemy's
    ``IntegrityError`` as before. On SQLite: an ordinary transaction."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as connection:
            connection.execute(statement, parameters)
        return
    sql = _POSTGRES_SQL.get(statement)
    if sql is None:
        sql = _POSTGRES_SQL[statement] = str(statement.compile(dialect=engine.dialect))  # type: ignore[attr-defined]
    pooled = engine.raw_connection()
    try:
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.Connection) and driver.autocommit
        driver.execute(sql, parameters)
    except psycopg.IntegrityError as error:
        raise IntegrityError(sql, parameters, error) from error
    finally:
        pooled.close()


def _postgres_engine(url: str, **options: Any) -> Engine:
    """A pooled PostgreSQL engine that pings a connection only after it sat idle.

    ``pool_pre_ping`` would add a round trip to every checkout (four per check-in);
    a connection in steady use is known to be alive, and one that died under load
    fails its request, invalidates the pool and the terminal retries."""
    engine = create_engine(url, pool_size=10, max_overflow=20, **options)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError() from error

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def migration_config(which: str) -> Config:
    """Alembic's configuration for database ``which`` ("main" or "registry")."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / which))
    config.attributes["version_table"] = VERSION_TABLES[which]
    return config


def upgrade(engine: Engine, which: str, revision: str = "head") -> None:
    """Bring database ``which`` to ``revision``, the newest migration unless told."""
    config = migration_config(which)
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def pipelined(session: Session) -> Iterator[None]:
    """Send the statements executed inside in one round trip on PostgreSQL (psycopg
    pipeline mode); elsewhere a no-op. For writes whose failure is not an expected
    outcome: an error surfaces at the end of the block as the driver's exception (the
    transaction then rolls back as usual). A read inside waits for what precedes it."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None  # a checked-out connection always has one
    with driver.pipeline():
        yield


def skip_commit_flush(session: Any) -> None:
    """For records whose loss in a crash is harmless (nonces, challenges): on PostgreSQL
    commit without waiting for the WAL flush. Never used for check-ins or ballots."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))
