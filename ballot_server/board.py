"""The bulletin board: one append-only hash chain (shard) per polling station.

Entry format is fixed by docs/record.md. An append happens inside the intake
transaction with the station's row locked (``intake.py`` reads the shard head
with it); no lock is shared across stations. The shards are tied together by
signed national roots (``national.py``), a Merkle log over every entry.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from ballot_server import national
from ballot_server.chains import GENESIS_HASH, ChainHead
from ballot_server.errors import ServerError
from ballot_server.models import BoardEntry, Station
from ballot_server.state import ServerState
from crypto.hashing import hash_bytes

BOARD_DOMAIN = "evote/board-entry/v2"
MAX_PAGE = 1000
MAX_POSITION = 2**63 - 1  # positions are 64-bit signed integers in the database
_INSERT_ENTRY = insert(BoardEntry)
_ENTRY_COLUMNS = tuple(
    column.key for column in BoardEntry.__table__.columns if column.key != "log_index"
)
_ADVANCE_SHARD = (
    update(Station)
    .where(Station.station_id == bindparam("station"))
    .values(board_length=bindparam("length"), board_head=bindparam("head"))
)


def entry_hash(
    previous_hash: str, station_id: str, position: int, kind: str, payload: bytes
) -> str:
    return hash_bytes(
        BOARD_DOMAIN, bytes.fromhex(previous_hash), station_id, position, kind, payload
    ).hex()


def append(
    session: Session,
    shard: ChainHead,
    *,
    kind: str,
    payload_bytes: bytes,
    station_id: str,
    terminal_id: str,
    sequence: int,
    tracking_code: str,
    now: int,
) -> BoardEntry:
    """Append one entry to the station's shard in the caller's transaction; ``shard``
    is the head the caller read with the station's row locked, ``payload_bytes``
    the canonical JSON of the entry's payload (the signed request)."""
    position = shard.length
    digest = entry_hash(shard.head_hash, station_id, position, kind, payload_bytes)
    entry = BoardEntry(
        station_id=station_id,
        position=position,
        kind=kind,
        previous_hash=shard.head_hash,
        entry_hash=digest,
        payload=payload_bytes.decode("utf-8"),
        terminal_id=terminal_id,
        sequence=sequence,
        tracking_code=tracking_code,
        received_at=now,
    )
    connection = session.connection()
    connection.execute(_INSERT_ENTRY, {column: getattr(entry, column) for column in _ENTRY_COLUMNS})
    connection.execute(
        _ADVANCE_SHARD, {"station": station_id, "length": position + 1, "head": digest}
    )
    return entry


def entry_json(entry: BoardEntry) -> dict[str, Any]:
    """An entry as published (docs/record.md)."""
    return {
        "station_id": entry.station_id,
        "position": entry.position,
        "kind": entry.kind,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
        "payload": json.loads(entry.payload),
    }


def entries(state: ServerState, station_id: str | None, start: int, limit: int) -> dict[str, Any]:
    """A page of one station's shard with the shard's current head; without a
    station, a page of the whole board in record order (station, then position)
    with the number of entries on it."""
    if not 0 <= start <= MAX_POSITION or not 1 <= limit <= MAX_PAGE:
        raise ServerError(
            "malformed_request", f"start in 0..{MAX_POSITION} and limit in 1..{MAX_PAGE}"
        )
    with Session(state.engine) as session:
        if station_id is None:
            rows = session.execute(
                select(BoardEntry)
                .order_by(BoardEntry.station_id, BoardEntry.position)
                .offset(start)
                .limit(limit)
            ).scalars()
            total = session.execute(select(func.count()).select_from(BoardEntry)).scalar_one()
            return {"entries": [entry_json(row) for row in rows], "length": total}
        station = session.get(Station, station_id)
        if station is None:
            raise ServerError("unknown_station", station_id)
        rows = session.execute(
            select(BoardEntry)
            .where(BoardEntry.station_id == station_id, BoardEntry.position >= start)
            .order_by(BoardEntry.position)
            .limit(limit)
        ).scalars()
        return {
            "station_id": station_id,
            "entries": [entry_json(row) for row in rows],
            "length": station.board_length,
            "head_hash": station.board_head if station.board_length else GENESIS_HASH,
        }


def lookup(state: ServerState, tracking_code: str) -> dict[str, Any]:
    """Where a tracking code sits on the board (what the receipt's QR links to): the
    entry itself and its inclusion proof to the latest signed national root."""
    with Session(state.engine) as session:
        entry = session.execute(
            select(BoardEntry).where(BoardEntry.tracking_code == tracking_code)
        ).scalar_one_or_none()
        if entry is None:
            return {"found": False, "tracking_code": tracking_code}
        return {
            "found": True,
            "tracking_code": tracking_code,
            "kind": entry.kind,
            "station_id": entry.station_id,
            "board_position": entry.position,
            "entry_hash": entry.entry_hash,
            "received_at": entry.received_at,
            "entry": entry_json(entry),
            **national.inclusion(session, entry.log_index),
        }
