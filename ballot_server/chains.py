"""Hash chains (bulletin board, audit log): lock the head, append, advance.

``lock_chain`` takes the head row ``FOR UPDATE`` so concurrent appends from
several workers queue in order on PostgreSQL; on SQLite the transaction's
``BEGIN IMMEDIATE`` already serializes writers.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ballot_server.models import Chain

GENESIS_HASH = "0" * 64


def lock_chain(session: Session, name: str) -> Chain:
    """The chain's head row, locked until the transaction ends."""
    return session.execute(select(Chain).where(Chain.name == name).with_for_update()).scalar_one()


def advance_chain(session: Session, name: str, length: int, head_hash: str) -> None:
    session.execute(
        update(Chain).where(Chain.name == name).values(length=length, head_hash=head_hash)
    )
