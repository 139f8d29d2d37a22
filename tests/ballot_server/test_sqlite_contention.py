"""Many writers at once on the embedded SQLite database: waits, never "database is locked".

Under heavy load a writer could wait out SQLite's busy timeout while other
requests held the write lock, and its request failed with a 500 ``database is
locked``. Here the busy timeout is cut to a millisecond, so the same contention
appears with a few dozen writers in seconds; every request must still be
answered, none with a 5xx — unless the lock stays taken past the server's
patience, which is answered ``server_busy`` rather than hanging every worker.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from server_harness import Election, Setup, make_setup
from sqlalchemy import Engine, event

from ballot_server import db
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from evote.protocol import JournalDeclaration

WRITERS = 24
REQUESTS_EACH = 12


def _busy_timeout_ms(engine: Engine, milliseconds: int) -> None:
    """Every connection of ``engine`` gives up waiting for a lock after ``milliseconds``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={milliseconds}")

    engine.dispose()  # connections made before the listener are replaced


@pytest.fixture
def crowded(election: Election, tmp_path: Path) -> Iterator[Setup]:
    urls = f"sqlite:///{tmp_path / 'ballot.sqlite'}", f"sqlite:///{tmp_path / 'registry.sqlite'}"
    built, _ = make_setup(election, urls)
    try:
        built.poll("T1", "open")
        state = built.state
        for engine in {state.engine, state.registry_engine, state.ephemeral_engine}:
            _busy_timeout_ms(engine, 1)
        yield built
    finally:
        built.server.stop()


def test_many_concurrent_writers_on_sqlite_get_no_5xx(crowded: Setup) -> None:
    """Status declarations (intake database), card challenges (registry) and official
    challenges (intake) from many terminals' threads at once."""
    clients = list(crowded.terminals.values())
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> Counter[str]:
        client: BallotServerClient = clients[index % len(clients)]
        outcomes: Counter[str] = Counter()
        start.wait()
        for sequence in range(REQUESTS_EACH):
            try:
                if sequence % 3 == 0:
                    client.status(JournalDeclaration((sequence, bytes(32)), waiting=index))
                elif sequence % 3 == 1:
                    client.inquiry_challenge()
                else:
                    client.official_challenge()
                outcomes["answered"] += 1
            except ServerRefused as refusal:
                outcomes[f"refused {refusal.code}"] += 1
            except ServerUnreachable as failure:
                outcomes[f"unreachable {failure.kind}: {failure}"] += 1
        return outcomes

    with ThreadPoolExecutor(WRITERS) as pool:
        total = sum(pool.map(writer, range(WRITERS)), Counter())
    assert total == Counter({"answered": WRITERS * REQUESTS_EACH})


def test_a_write_lock_held_past_the_servers_patience_is_answered_busy_not_a_hang(
    crowded: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder that never lets go (stuck, or two requests each holding one of the two
    database files) must not hang every worker behind it: after the patience runs out
    the request is answered 503 ``server_busy`` and the terminal retries later."""
    monkeypatch.setattr(db, "SQLITE_LOCK_PATIENCE_S", 0.3)
    holder = sqlite3.connect(tmp_path / "ballot.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    client: BallotServerClient = next(iter(crowded.terminals.values()))
    started = time.monotonic()
    try:
        with pytest.raises(ServerUnreachable) as failure:
            client.status(JournalDeclaration((0, bytes(32)), waiting=0))
    finally:
        holder.rollback()
        holder.close()
    assert "HTTP 503" in str(failure.value)
    assert time.monotonic() - started < 20
    assert client.status(JournalDeclaration((0, bytes(32)), waiting=0)) is not None
