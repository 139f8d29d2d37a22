"""The bulletin board: an append-only hash chain of ballots and challenged ballots.

Entry format is fixed by docs/record.md. Appends happen inside the intake
transaction with the chain head locked; every ``checkpoint_interval`` entries,
and at every close, the server signs a checkpoint ``{board_position,
head_hash, at}`` where ``board_position`` is the position of the newest entry.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.chains import GENESIS_HASH, ChainHead, advance_chain, lock_chain
from ballot_server.errors import ServerError
from ballot_server.models import BoardEntry, Checkpoint
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes

BOARD_DOMAIN = "evote/board-entry/v1"
MAX_PAGE = 1000
MAX_POSITION = 2**63 - 1  # positions are 64-bit signed integers in the database
_INSERT_ENTRY = insert(BoardEntry)
_ENTRY_COLUMNS = tuple(column.key for column in BoardEntry.__table__.columns)


def entry_hash(previous_hash: str, position: int, kind: str, payload: bytes) -> str:
    return hash_bytes(BOARD_DOMAIN, bytes.fromhex(previous_hash), position, kind, payload).hex()


def append(
    state: ServerState,
    session: Session,
    chain: ChainHead,
    *,
    kind: str,
    payload: dict[str, Any],
    station_id: str,
    terminal_id: str,
    sequence: int,
    tracking_code: str,
    now: int,
) -> BoardEntry:
    """Append one entry in the caller's transaction; ``chain`` is the head the caller
    locked with ``lock_chain(session, "board")``."""
    position = chain.length
    payload_bytes = canonical_json(payload)
    digest = entry_hash(chain.head_hash, position, kind, payload_bytes)
    entry = BoardEntry(
        position=position,
        kind=kind,
        previous_hash=chain.head_hash,
        entry_hash=digest,
        payload=payload_bytes.decode("utf-8"),
        station_id=station_id,
        terminal_id=terminal_id,
        sequence=sequence,
        tracking_code=tracking_code,
        received_at=now,
    )
    session.connection().execute(
        _INSERT_ENTRY, {column: getattr(entry, column) for column in _ENTRY_COLUMNS}
    )
    advance_chain(session, "board", position + 1, digest)
    if checkpoint_due(state, position):
        _sign_checkpoint(state, session, position, digest, now)
    return entry


def checkpoint_due(state: ServerState, position: int) -> bool:
    """Whether appending at ``position`` also signs a checkpoint (and so reads the
    audit chain's head: not inside a ``db.pipelined`` block)."""
    return (position + 1) % state.config.checkpoint_interval == 0


def checkpoint(state: ServerState, session: Session, now: int) -> None:
    """Sign a checkpoint of the current head (at close), unless it already has one."""
    chain = lock_chain(session, "board")
    if chain.length and session.get(Checkpoint, chain.length - 1) is None:
        _sign_checkpoint(state, session, chain.length - 1, chain.head_hash, now)


def _sign_checkpoint(
    state: ServerState, session: Session, position: int, head_hash: str, now: int
) -> None:
    payload = {"board_position": position, "head_hash": head_hash, "at": now}
    envelope = state.config.keys.server.sign("checkpoint", payload).to_json()
    session.add(Checkpoint(board_position=position, envelope=canonical_json(envelope).decode()))
    record_event(
        session,
        state.config.keys.server,
        "board.checkpoint",
        now,
        board_position=position,
        head_hash=head_hash,
    )


def entry_json(entry: BoardEntry) -> dict[str, Any]:
    """An entry as published (docs/record.md)."""
    return {
        "position": entry.position,
        "kind": entry.kind,
        "previous_hash": entry.previous_hash,
        "entry_hash": entry.entry_hash,
        "payload": json.loads(entry.payload),
    }


def entries(state: ServerState, start: int, limit: int) -> dict[str, Any]:
    if not 0 <= start <= MAX_POSITION or not 1 <= limit <= MAX_PAGE:
        raise ServerError(
            "malformed_request", f"start in 0..{MAX_POSITION} and limit in 1..{MAX_PAGE}"
        )
    with Session(state.engine) as session:
        rows = session.execute(
            select(BoardEntry)
            .where(BoardEntry.position >= start)
            .order_by(BoardEntry.position)
            .limit(limit)
        ).scalars()
        page = [entry_json(row) for row in rows]
        head = session.execute(select(BoardEntry).order_by(BoardEntry.position.desc()).limit(1))
        last = head.scalar_one_or_none()
    return {
        "entries": page,
        "length": 0 if last is None else last.position + 1,
        "head_hash": GENESIS_HASH if last is None else last.entry_hash,
    }


def checkpoints(state: ServerState) -> list[dict[str, Any]]:
    with Session(state.engine) as session:
        rows = session.execute(select(Checkpoint).order_by(Checkpoint.board_position)).scalars()
        return [json.loads(row.envelope) for row in rows]


def lookup(state: ServerState, tracking_code: str) -> dict[str, Any]:
    """Where a tracking code sits on the board (what the receipt's QR links to)."""
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
        "board_position": entry.position,
        "station_id": entry.station_id,
        "entry_hash": entry.entry_hash,
        "received_at": entry.received_at,
    }
