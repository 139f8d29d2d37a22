"""Migrations from empty match the models, and no table links voters to ballots."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ballot_server import db
from ballot_server.models import Base
from ballot_server.registry_models import RegistryBase

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
