"""Per-process caches and connection pools serve only what they should.

The server caches the election (manifest, context, contest specs) and terminal
keys per ``ServerState``, keeps database connections pooled and pipelines the
intake's writes on PostgreSQL; these tests pin that a cache never answers with
another server's election or keys, that a pooled PostgreSQL connection that died
while idle is replaced, not used, and that checkpoints still get signed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from server_harness import ELECTION_DATE, Election, make_setup
from sqlalchemy import text
from sqlalchemy.orm import Session

from ballot_server import db
from ballot_server.audit import audit_lines
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.signing import SignedEnvelope, SigningKey
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


def test_checkpoints_signed_during_intake_cover_the_board_head(
    election: Election, database_urls: tuple[str, str]
) -> None:
    """Every third append also signs a checkpoint (and logs it): the append path that
    pipelines its writes on PostgreSQL must not do so for these."""
    setup, _ = make_setup(election, database_urls, checkpoint_interval=3)
    try:
        setup.poll("T1", "open")
        voters = iter(election.eligible())
        previous = GENESIS_TRACKING_CODE
        for sequence in range(1, 8):
            authorization = setup.check_in("T1", election.card(next(voters)))["authorization"]
            receipt = setup.terminals["T1"].cast(
                setup.ballot("T1", authorization, sequence, previous)
            )
            assert receipt.board_position == sequence - 1
            previous = bytes.fromhex(receipt.tracking_code)
        client = setup.terminals["T1"]
        board = client._request("GET", "/api/v1/board?start=0&limit=100")
        checkpoints = client._request("GET", "/api/v1/board/checkpoints")["checkpoints"]
        server_key = election.keys.server.public_key
        signed = [
            SignedEnvelope.from_json(item).verify("checkpoint", server_key) for item in checkpoints
        ]
        assert [item["board_position"] for item in signed] == [2, 5]
        for item in signed:
            assert item["head_hash"] == board["entries"][item["board_position"]]["entry_hash"]
        with Session(setup.state.engine) as session:
            events = [line["event_id"] for line in audit_lines(session)]
        assert events.count("board.checkpoint") == 2
    finally:
        setup.server.stop()
