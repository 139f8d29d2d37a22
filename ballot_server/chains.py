"""Hash chains (bulletin board, audit log): lock the head, append, advance.

``lock_chain`` takes the head row ``FOR UPDATE`` so concurrent appends from
several workers queue in order on PostgreSQL; on SQLite the transaction's
``BEGIN IMMEDIATE`` already serializes writers. Both run as prebuilt Core
statements on the session's connection (they are on every ballot's path).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ballot_server.models import Chain

GENESIS_HASH = "0" * 64

_LOCK = (
    select(Chain.length, Chain.head_hash).where(Chain.name == bindparam("name")).with_for_update()
)
_ADVANCE = (
    update(Chain)
    .where(Chain.name == bindparam("chain_name"))
    .values(length=bindparam("length"), head_hash=bindparam("head_hash"))
)


@dataclass(frozen=True)
class ChainHead:
    length: int
    head_hash: str


def lock_chain(session: Session, name: str) -> ChainHead:
    """The chain's head, its row locked until the transaction ends."""
    row = session.connection().execute(_LOCK, {"name": name}).one()
    return ChainHead(row.length, row.head_hash)


def advance_chain(session: Session, name: str, length: int, head_hash: str) -> None:
    session.connection().execute(
        _ADVANCE, {"chain_name": name, "length": length, "head_hash": head_hash}
    )
