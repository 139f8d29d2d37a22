"""Migrations from empty match the models, and nothing stored links voters to ballots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from server_harness import STATION_OF_TERMINAL, Setup
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ballot_server import db
from ballot_server.models import Base, BoardEntry, BoardRoot, CiphertextAlpha, MerkleNode
from ballot_server.registry_models import (
    CheckIn,
    InquiryNonce,
    IssuedPass,
    RegistryBase,
    SpentChallenge,
)
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.canonical import canonical_json
from crypto.merkle import Frontier, leaf_hash

VOTER_COLUMNS = {"national_code", "name_fa", "name_en", "birth_date", "card_id"}
BALLOT_COLUMNS = {"authorization_id", "pass_id", "tracking_code", "payload", "sequence"}


def _table_of(difference: tuple[object, ...]) -> str:
    """The table a difference concerns (the other database's tables may share the schema)."""
    item = difference[1]
    table = getattr(item, "table", item)
    return str(getattr(table, "name", ""))


def test_migrations_from_empty_match_the_models(database_urls: tuple[str, str]) -> None:
    for url, which, metadata in (
        (database_urls[0], "main", Base.metadata),
        (database_urls[1], "registry", RegistryBase.metadata),
    ):
        engine = db.make_engine(url)
        db.upgrade(engine, which)
        db.upgrade(engine, which)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = [
                difference
                for difference in compare_metadata(context, metadata)
                if _table_of(difference) in metadata.tables
            ]
            assert differences == []
        engine.dispose()


def test_no_table_links_a_voter_to_a_ballot_or_an_authorization() -> None:
    for metadata in (Base.metadata, RegistryBase.metadata):
        for table in metadata.tables.values():
            columns = set(table.columns.keys())
            assert not (columns & VOTER_COLUMNS and columns & BALLOT_COLUMNS), table.name
    intake_columns = {c for t in Base.metadata.tables.values() for c in t.columns.keys()}  # noqa: SIM118
    assert not intake_columns & VOTER_COLUMNS


def test_the_sqlite_database_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    db.upgrade(engine, "main")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert "board_entries" in inspect(connection).get_table_names()
    engine.dispose()


def test_the_registry_keeps_no_authorization_id_terminal_or_second_of_a_vote(
    setup: Setup,
) -> None:
    """Authorization ids are published with the ballots, and the board orders ballots
    per terminal: none of the ids, no terminal and no time finer than the minute may
    sit in the rows a check-in writes (they share its transaction, or neighbour it)."""
    setup.poll("T1", "open")
    voters = iter(setup.election.eligible())
    ids = []
    for _ in range(3):
        ids.append(setup.check_in("T1", setup.election.card(next(voters)))["authorization"])
    desk = setup.terminals["T2"]
    card = setup.election.card(next(voters))
    challenge = desk.inquiry_challenge()
    qr_pass = desk.issue_pass(
        card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]
    )["qr_pass"]
    ids.append(setup.terminals["T1"].redeem_pass(qr_pass, os.urandom(16))["authorization"])
    previous = GENESIS_TRACKING_CODE
    for sequence, authorization in enumerate(ids, start=1):
        body = setup.ballot("T1", authorization, sequence, previous)
        previous = bytes.fromhex(setup.terminals["T1"].cast(body).tracking_code)
    authorization_ids = [a["payload"]["authorization_id"] for a in ids]
    engine = setup.state.registry_engine
    with engine.connect() as connection:
        dump = "\n".join(
            repr(row)
            for table in RegistryBase.metadata.sorted_tables
            for row in connection.execute(table.select())
        )
    assert card.certificate["payload"]["national_code"] in dump  # the dump is real
    assert not [found for found in authorization_ids if found in dump]
    written_beside_check_ins = (CheckIn, InquiryNonce, SpentChallenge, IssuedPass)
    with engine.connect() as connection:
        rows = [
            value
            for table in written_beside_check_ins
            for row in connection.execute(select(table))
            for value in row
        ]
    assert rows and not [v for v in rows if isinstance(v, str) and v in STATION_OF_TERMINAL]
    with engine.connect() as connection:  # counters, not times: how often released
        counters = [row[0] for row in connection.execute(select(CheckIn.authorizations))]
        counters += [row[0] for row in connection.execute(select(IssuedPass.redemptions))]
    times = [v for v in rows if type(v) is int]  # bools (True == 1) are no counters
    for counter in counters:
        times.remove(counter)
    assert times and all(v % 60 == 0 for v in times), times
    closing = setup.poll("T1", "close")["report"]["payload"]
    assert closing["authorizations_issued"] == 4 and closing["authorizations_unused"] == 0
    assert closing["reconciled"]


def _refused_upgrade(database: Path, revision: str, row: str, refusal: str) -> Engine:
    """A database at ``revision`` holding one row (``row``: an INSERT, ``:zero`` a
    zero hash) whose upgrade to the head must stop with ``refusal``; the engine,
    for checking what was kept."""
    engine = db.make_engine(f"sqlite:///{database}")
    db.upgrade(engine, "main", revision)
    with engine.begin() as connection:
        connection.execute(text(row), {"zero": "0" * 64})
    with pytest.raises(RuntimeError, match=refusal):
        db.upgrade(engine, "main")
    return engine


def test_the_sharded_board_migration_refuses_a_board_that_holds_entries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Entries change format with the sharded board: an upgrade during an election
    stops with a message and leaves the old board as it was."""
    engine = _refused_upgrade(
        tmp_path / "ballot.sqlite",
        "0002_main",
        "INSERT INTO board_entries VALUES "
        "(0, 'ballot', :zero, :zero, '{}', 'S-101', 'T1', 1, :zero, 0)",
        "upgrade to the sharded board between elections",
    )
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM board_entries")).scalar_one() == 1
        assert "board_roots" not in inspect(connection).get_table_names()
    engine.dispose()


def test_the_group_migration_refuses_a_database_that_holds_an_election(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The election key and every ballot change encoding with ristretto255: an
    upgrade of a database set up in the old group stops and keeps its election."""
    engine = _refused_upgrade(
        tmp_path / "ballot.sqlite",
        "0009_main",
        "INSERT INTO election VALUES "
        "('E-1', '{}', '[]', :zero, :zero, :zero, :zero, :zero, :zero, :zero, 0)",
        "the group is now ristretto255",
    )
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM election")).scalar_one() == 1
    engine.dispose()


def test_the_group_migration_upgrades_a_database_without_an_election(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ballot.sqlite'}")
    db.upgrade(engine, "main", "0009_main")
    db.upgrade(engine, "main", "0010_main")
    with engine.connect() as connection:
        assert connection.execute(
            text("SELECT version_num FROM alembic_version_ballot")
        ).scalar_one() == ("0010_main")
    engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    config = db.migration_config("main")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_alpha_migration_keeps_every_stored_alpha_and_still_refuses_a_copy(
    database_urls: tuple[str, str],
) -> None:
    """Alphas stored as hex (an upgrade during an election) come out as the same 32
    bytes, a copy of one is still refused, and a downgrade gives the hex back."""
    engine = db.make_engine(database_urls[0])
    db.upgrade(engine, "main", "0010_main")
    alphas = [leaf_hash(bytes([n])).hex() for n in range(25)]
    rows = [{"alpha": a, "station": "S-1", "position": n // 20} for n, a in enumerate(alphas)]
    insert_row = text(
        "INSERT INTO ciphertext_alphas (alpha, station_id, board_position)"
        " VALUES (:alpha, :station, :position)"
    )
    with engine.begin() as connection:
        connection.execute(insert_row, rows)
    db.upgrade(engine, "main")
    with engine.connect() as connection:
        stored = connection.execute(select(CiphertextAlpha.alpha, CiphertextAlpha.board_position))
        expected = sorted((bytes.fromhex(a), n // 20) for n, a in enumerate(alphas))
        assert sorted((bytes(a), p) for a, p in stored) == expected
    with pytest.raises(IntegrityError), engine.begin() as connection:
        copy = {"alpha": bytes.fromhex(alphas[3]), "station_id": "S-2", "board_position": 0}
        connection.execute(insert(CiphertextAlpha), copy)
    _downgrade(engine, "0010_main")
    with engine.connect() as connection:
        back = connection.execute(text("SELECT alpha FROM ciphertext_alphas")).scalars()
        assert sorted(back) == sorted(alphas)
    engine.dispose()


def _entry(station_id: str, position: int, log_index: int | None) -> dict[str, object]:
    return {
        "station_id": station_id,
        "position": position,
        "kind": "ballot",
        "previous_hash": "0" * 64,
        "entry_hash": leaf_hash(f"{station_id}/{position}".encode()).hex(),
        "payload": "{}",
        "log_index": log_index,
        "terminal_id": f"T-{station_id}",
        "sequence": position + 1,
        "tracking_code": leaf_hash(f"code {station_id}/{position}".encode()).hex(),
        "received_at": 0,
    }


def _election_under_way() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Two shards under three roots, each adding every station's new entries in
    order of station (so log order is not the table's order), then entries no
    root holds yet; the entries and the roots' rows."""
    entries: list[dict[str, object]] = []
    roots: list[dict[str, object]] = []
    frontier = Frontier()
    lengths = {"S-101": 0, "S-102": 0}
    for grown in ({"S-101": 3, "S-102": 2}, {"S-101": 1}, {"S-101": 30, "S-102": 33}):
        for station_id, count in grown.items():
            for position in range(lengths[station_id], lengths[station_id] + count):
                entries.append(_entry(station_id, position, frontier.size))
                frontier.append(leaf_hash(bytes.fromhex(str(entries[-1]["entry_hash"]))))
            lengths[station_id] += count
        roots.append(
            {
                "tree_size": frontier.size,
                "root_hash": frontier.root().hex(),
                "envelope": "{}",
                "frontier": canonical_json(frontier.to_json()).decode(),
            }
        )
    entries += [_entry("S-102", lengths["S-102"] + extra, None) for extra in range(4)]
    return entries, roots


def _published_nodes(entries: list[dict[str, object]]) -> set[tuple[int, int, str]]:
    """What publishing the entries' leaves in log order stores."""
    in_log = sorted(
        (int(str(e["log_index"])), str(e["entry_hash"]))
        for e in entries
        if e["log_index"] is not None
    )
    frontier = Frontier()
    return {
        (level, index, value.hex())
        for _, digest in in_log
        for level, index, value in frontier.append(leaf_hash(bytes.fromhex(digest)))
    }


def test_the_merkle_nodes_migration_stores_what_publishing_would(
    database_urls: tuple[str, str],
) -> None:
    engine = db.make_engine(database_urls[0])
    db.upgrade(engine, "main", "0007_main")
    entries, roots = _election_under_way()
    with engine.begin() as connection:
        connection.execute(insert(BoardEntry.__table__), entries)
        connection.execute(insert(BoardRoot.__table__), roots)
    db.upgrade(engine, "main")
    with engine.connect() as connection:
        stored = connection.execute(
            select(MerkleNode.level, MerkleNode.node_index, MerkleNode.node_hash)
        ).all()
    assert len(stored) == 2 * 69 - (69).bit_count()
    assert set(stored) == _published_nodes(entries)
    engine.dispose()


def test_the_merkle_nodes_migration_refuses_leaves_that_miss_the_signed_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ballot.sqlite'}")
    db.upgrade(engine, "main", "0007_main")
    entries, roots = _election_under_way()
    entries[7]["entry_hash"] = "f" * 64
    with engine.begin() as connection:
        connection.execute(insert(BoardEntry.__table__), entries)
        connection.execute(insert(BoardRoot.__table__), roots)
    with pytest.raises(RuntimeError, match="do not give the signed root of 69"):
        db.upgrade(engine, "main")
    with engine.connect() as connection:
        assert "merkle_nodes" not in inspect(connection).get_table_names()
    engine.dispose()


def test_the_alpha_migration_stops_on_a_stored_alpha_that_is_not_hex_and_changes_nothing(
    tmp_path: Path,
) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ballot.sqlite'}")
    db.upgrade(engine, "main", "0010_main")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ciphertext_alphas (alpha, station_id, board_position)"
                " VALUES (:alpha, 'S-1', 0)"
            ),
            {"alpha": "zz" * 32},
        )
    with pytest.raises(ValueError):
        db.upgrade(engine, "main")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT alpha FROM ciphertext_alphas")).scalars().all() == [
            "zz" * 32
        ]
        assert connection.execute(
            text("SELECT version_num FROM alembic_version_ballot")
        ).scalar_one() == ("0010_main")
    engine.dispose()
