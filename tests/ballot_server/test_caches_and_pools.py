"""Per-process caches and connection pools serve only what they should.

The server caches the election (manifest, context, contest specs) and terminal
keys per ``ServerState``, keeps database connections pooled and pipelines the
intake's writes on PostgreSQL; these tests pin that a cache never answers with
another server's election or keys, that a pooled PostgreSQL connection that died
while idle is replaced, not used, and that national roots still get signed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from server_harness import ELECTION_DATE, Election, make_setup, wait_for_roots
from sqlalchemy import text
from sqlalchemy.orm import Session

from ballot_server import db
from ballot_server.audit import audit_lines
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.merkle import leaf_hash, verify_consistency, verify_inclusion
from crypto.signing import SignedEnvelope, SigningKey
from crypto.threshold import generate_trustee
from evote import protocol
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


def test_roots_published_during_intake_sign_every_shard_head_consistently(
    election: Election, database_urls: tuple[str, str]
) -> None:
    """With a root due after every ballot, two stations casting in turn get one
    signed root per ballot, published once the ballot's answer is out: each names
    the shard heads the board shows, each is joined to the one before by a
    consistency proof, each is in the audit log, and every tracking code comes
    with an inclusion proof to the latest root."""
    setup, _ = make_setup(election, database_urls, root_interval_s=0)
    try:
        voters = iter(election.eligible())
        previous = {"T1": GENESIS_TRACKING_CODE, "T3": GENESIS_TRACKING_CODE}
        codes = []
        for terminal in previous:
            setup.poll(terminal, "open")
        for sequence, terminal in [(1, "T1"), (1, "T3"), (2, "T1"), (2, "T3"), (3, "T1")]:
            authorization = setup.check_in(terminal, election.card(next(voters)))["authorization"]
            receipt = setup.terminals[terminal].cast(
                setup.ballot(terminal, authorization, sequence, previous[terminal])
            )
            assert receipt.board_position == sequence - 1
            previous[terminal] = bytes.fromhex(receipt.tracking_code)
            codes.append(receipt.tracking_code)
            wait_for_roots(setup.state, len(codes))
        client = setup.terminals["T1"]
        server_key = election.keys.server.public_key
        roots = [
            SignedEnvelope.from_json(item).verify("board-root", server_key)
            for item in client._request("GET", protocol.PATH_ROOTS)["roots"]
        ]
        assert [root["tree_size"] for root in roots] == [1, 2, 3, 4, 5]
        for station, root in zip(["S-101", "S-102", "S-101", "S-102", "S-101"], roots, strict=True):
            shard = client._request(
                "GET", f"{protocol.PATH_BOARD}?station={station}&start=0&limit=10"
            )
            [named] = root["shards"]
            assert named["station_id"] == station
            assert named["head_hash"] == shard["entries"][named["length"] - 1]["entry_hash"]
        for before, after in zip(roots, roots[1:], strict=False):
            proof = client._request(
                "GET",
                f"{protocol.PATH_CONSISTENCY}?first={before['tree_size']}&second={after['tree_size']}",
            )["proof"]
            verify_consistency(
                before["tree_size"],
                after["tree_size"],
                bytes.fromhex(before["root_hash"]),
                bytes.fromhex(after["root_hash"]),
                [bytes.fromhex(node) for node in proof],
            )
        for code in codes:
            found = client._request("GET", protocol.PATH_LOOKUP.format(tracking_code=code))
            root = SignedEnvelope.from_json(found["root"]).verify("board-root", server_key)
            verify_inclusion(
                leaf_hash(bytes.fromhex(found["entry"]["entry_hash"])),
                found["log_index"],
                root["tree_size"],
                [bytes.fromhex(node) for node in found["inclusion_proof"]],
                bytes.fromhex(root["root_hash"]),
            )
        with Session(setup.state.engine) as session:
            events = [line["event_id"] for line in audit_lines(session)]
        assert events.count("board.root") == len(roots)
    finally:
        setup.server.stop()
