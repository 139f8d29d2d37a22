"""Per-process caches and connection pools serve only what they should.

The server caches the election (manifest, context, contest specs) and terminal
keys per ``ServerState``, and keeps database connections pooled; these tests
pin that a cache never answers with another server's election or keys, and that
a pooled PostgreSQL connection that died while idle is replaced, not used.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import ELECTION_DATE
from sqlalchemy import text

from ballot_server import db
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.state import ServerState
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote.manifest import Manifest
from evote.sample import sample_manifest


def _server(directory: Path, election_id: str) -> tuple[ServerState, SigningKey]:
    keys = KeySet.generate()
    document = dict(sample_manifest(ELECTION_DATE), election_id=election_id)
    manifest = Manifest.from_json(document)
    trustees = [
        generate_trustee(index, manifest.quorum, manifest.manifest_hash)[1]
        for index in range(1, manifest.trustee_count + 1)
    ]
    directory.mkdir()
    state = ServerState(
        ServerConfig(
            f"sqlite:///{directory / 'ballot.sqlite'}",
            f"sqlite:///{directory / 'registry.sqlite'}",
            keys,
        )
    )
    assert keys.hq is not None
    create_election(state, sign_manifest(keys.hq, document), trustees)
    terminal_key = SigningKey.generate()
    register_terminal(state, "T1", "S-101", terminal_key.public_key)
    return state, terminal_key


def test_two_servers_in_one_process_never_share_cached_election_or_terminal_keys(
    tmp_path: Path,
) -> None:
    first, first_terminal = _server(tmp_path / "first", "election-a")
    second, second_terminal = _server(tmp_path / "second", "election-b")
    try:
        for _ in range(2):  # the second round is served from the caches
            assert first.election().election_id == "election-a"
            assert second.election().election_id == "election-b"
            assert first.election().context != second.election().context
            assert first.specs("tehran-1") == first.election().specs("tehran-1")
            assert first.terminal("T1").public_key.hex() == first_terminal.public_key.hex()
            assert second.terminal("T1").public_key.hex() == second_terminal.public_key.hex()
    finally:
        first.dispose()
        second.dispose()


def test_a_pooled_postgres_connection_that_died_while_idle_is_replaced(
    postgres_urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = postgres_urls
    engine = db.make_engine(url)
    killer = db.make_engine(url)
    try:
        with engine.connect() as connection:
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with killer.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            connection.commit()
        time.sleep(0.2)
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as connection:
            replacement = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert replacement != backend
    finally:
        engine.dispose()
        killer.dispose()
