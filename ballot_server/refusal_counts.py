"""Refusals by reason per station, for HQ: counts only, never who was refused.

The inquiry refuses voters (not on the roll, deceased, under age, already
voted, a card that is not genuine, polls not open, a used pass, …) and HQ
wants to see how often and why at each station. Each refusal adds one to its
station's and reason's row (``RefusalCount``) and stores nothing else: no
voter, card, terminal or time. A check-in's refusal is counted in the
transaction that keeps the request's nonce and spent challenge (on PostgreSQL
in the same round trip as its commit), so a request is counted at most once
and a replayed one (``replayed_request``) not at all. Refusals of requests that
were never shown to be a station's own (bad signature, unknown terminal, stale
or malformed requests) are not counted: they name no station anyone can trust.

``INSERT … ON CONFLICT DO UPDATE SET count = count + 1`` is atomic on both
databases: concurrent refusals of one reason at one station all count
(PostgreSQL serialises them on the row, SQLite on its write lock).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, bindparam, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg
from sqlalchemy.orm import Session

from ballot_server import db
from ballot_server.registry_models import RefusalCount
from ballot_server.state import ServerState

NOT_COUNTED = frozenset({"replayed_request"})

# Literals, not parameters: psycopg runs this statement's SQL text itself.
_ADD_ONE = (
    insert(RefusalCount)
    .values(station_id=bindparam("station_id"), code=bindparam("code"), count=literal_column("1"))
    .on_conflict_do_update(
        index_elements=[RefusalCount.station_id, RefusalCount.code],
        set_={"count": RefusalCount.count + literal_column("1")},
    )
)
# The same as SQL text for psycopg itself (the check-in's PostgreSQL path).
PG_ADD_ONE = str(_ADD_ONE.compile(dialect=pg_psycopg.dialect()))


def counted(code: str) -> bool:
    return code not in NOT_COUNTED


def parameters(station_id: str, code: str) -> dict[str, Any]:
    return {"station_id": station_id, "code": code}


def add_one(connection: Connection, station_id: str, code: str) -> None:
    """Count one refusal inside the caller's transaction (SQLAlchemy Core)."""
    if counted(code):
        connection.execute(_ADD_ONE, parameters(station_id, code))


def add_one_apart(state: ServerState, station_id: str, code: str) -> None:
    """Count one refusal in a transaction of its own (a refusal made outside one)."""
    if counted(code):
        db.write_once(state.registry_ephemeral_engine, _ADD_ONE, parameters(station_id, code))


def refusals_by_station(state: ServerState) -> dict[str, dict[str, int]]:
    """``{station_id: {code: count}}`` for every station with a refusal."""
    with Session(state.registry_engine) as registry:
        rows = registry.execute(
            select(RefusalCount.station_id, RefusalCount.code, RefusalCount.count)
        ).all()
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for station_id, code, count in rows:
        result[station_id][code] = int(count)
    return dict(result)
