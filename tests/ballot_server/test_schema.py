"""Migrations from empty match the models, and nothing stored links voters to ballots."""

from __future__ import annotations

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from server_harness import STATION_OF_TERMINAL, Setup
from sqlalchemy import inspect, select, text

from ballot_server import db
from ballot_server.models import Base
from ballot_server.registry_models import (
    CheckIn,
    InquiryNonce,
    IssuedPass,
    RegistryBase,
    SpentChallenge,
)
from crypto.ballot import GENESIS_TRACKING_CODE

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


def test_the_sharded_board_migration_refuses_a_board_that_holds_entries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Entries change format with the sharded board: an upgrade during an election
    stops with a message and leaves the old board as it was."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'ballot.sqlite'}")
    db.upgrade(engine, "main", "0002_main")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO board_entries VALUES "
                "(0, 'ballot', :zero, :zero, '{}', 'S-101', 'T1', 1, :zero, 0)"
            ),
            {"zero": "0" * 64},
        )
    with pytest.raises(RuntimeError, match="upgrade to the sharded board between elections"):
        db.upgrade(engine, "main")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM board_entries")).scalar_one() == 1
        assert "board_roots" not in inspect(connection).get_table_names()
    engine.dispose()
