"""National roots: a Merkle log (RFC 9162) over every entry of every station's shard.

Publishing a root appends, for each station in order of its id, the shard's
entries that no root holds yet as leaves (``leaf = SHA-256(0x00 || entry_hash)``),
then signs ``{tree_size, root_hash, at, shards}`` where ``shards`` names every
station that advanced, with its new length and head. Only publishers lock
anything (the "national" chain row): a ballot never waits for a root, and a
root reads the stations' committed heads without locking their rows.

Roots are published at every close of polls, before the record is exported,
and after a ballot once ``root_interval_s`` has passed (by whichever worker
gets the lock first; the others skip). Inclusion and consistency proofs are
built from the leaf hashes on demand.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.chains import advance_chain
from ballot_server.errors import ServerError
from ballot_server.models import BoardEntry, BoardRoot, Chain, PublishedShard, Station
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.merkle import Frontier, consistency_proof, inclusion_proof, leaf_hash

NATIONAL = "national"
ROOT_KIND = "board-root"
_LOCK = select(Chain.length).where(Chain.name == NATIONAL)
_SET_LOG_INDEX = (
    update(BoardEntry)
    .where(BoardEntry.station_id == bindparam("station"), BoardEntry.position == bindparam("at"))
    .values(log_index=bindparam("index"))
)


def _latest(session: Session) -> BoardRoot | None:
    return session.execute(
        select(BoardRoot).order_by(BoardRoot.tree_size.desc()).limit(1)
    ).scalar_one_or_none()


def publish_root(state: ServerState, *, wait: bool = True) -> dict[str, Any] | None:
    """Sign a root over every entry committed so far; the new root's envelope, or
    None when no shard advanced (or, with ``wait=False``, another publisher holds
    the lock)."""
    now = state.now()
    with state.sessions.begin() as session:
        locked = session.execute(_LOCK.with_for_update(skip_locked=not wait)).first()
        if locked is None:
            return None
        latest = _latest(session)
        frontier = Frontier() if latest is None else Frontier.from_json(json.loads(latest.frontier))
        published: dict[str, int] = {
            station_id: length
            for station_id, length in session.execute(
                select(PublishedShard.station_id, PublishedShard.length)
            )
        }
        heads = session.execute(
            select(Station.station_id, Station.board_length, Station.board_head)
            .where(Station.board_length > 0)
            .order_by(Station.station_id)
        ).all()
        advanced = []
        for station_id, length, head in heads:
            start = published.get(station_id, 0)
            if length <= start:
                continue
            hashes = session.execute(
                select(BoardEntry.position, BoardEntry.entry_hash)
                .where(
                    BoardEntry.station_id == station_id,
                    BoardEntry.position >= start,
                    BoardEntry.position < length,
                )
                .order_by(BoardEntry.position)
            ).all()
            indices = []
            for position, digest in hashes:
                indices.append({"station": station_id, "at": position, "index": frontier.size})
                frontier.append(leaf_hash(bytes.fromhex(digest)))
            session.connection().execute(_SET_LOG_INDEX, indices)
            if station_id in published:
                session.get_one(PublishedShard, station_id).length = length
            else:
                session.add(PublishedShard(station_id=station_id, length=length))
            advanced.append({"station_id": station_id, "length": length, "head_hash": head})
        if not advanced:
            return None
        root_hash = frontier.root().hex()
        payload = {
            "tree_size": frontier.size,
            "root_hash": root_hash,
            "at": now,
            "shards": advanced,
        }
        envelope = state.config.keys.server.sign(ROOT_KIND, payload).to_json()
        session.add(
            BoardRoot(
                tree_size=frontier.size,
                root_hash=root_hash,
                envelope=canonical_json(envelope).decode(),
                frontier=canonical_json(frontier.to_json()).decode(),
            )
        )
        record_event(
            session,
            state.config.keys.server,
            "board.root",
            now,
            tree_size=frontier.size,
            root_hash=root_hash,
        )
        advance_chain(session, NATIONAL, frontier.size, root_hash)
    return envelope


def roots(state: ServerState) -> list[dict[str, Any]]:
    """Every signed root, oldest first."""
    with Session(state.engine) as session:
        rows = session.execute(select(BoardRoot.envelope).order_by(BoardRoot.tree_size)).scalars()
        return [json.loads(envelope) for envelope in rows]


def leaves(session: Session, tree_size: int) -> list[bytes]:
    """The national log's first ``tree_size`` leaf hashes."""
    digests = session.execute(
        select(BoardEntry.entry_hash)
        .where(BoardEntry.log_index < tree_size)
        .order_by(BoardEntry.log_index)
    ).scalars()
    return [leaf_hash(bytes.fromhex(digest)) for digest in digests]


def consistency(state: ServerState, first: int, second: int) -> dict[str, Any]:
    """RFC 9162 consistency proof between two published roots."""
    with Session(state.engine) as session:
        sizes = {
            size
            for size in session.execute(
                select(BoardRoot.tree_size).where(BoardRoot.tree_size.in_((first, second)))
            ).scalars()
        }
        if {first, second} - sizes or first > second:
            raise ServerError("not_found", "both sizes must be published roots, first ≤ second")
        proof = consistency_proof(leaves(session, second), first)
    return {"first": first, "second": second, "proof": [node.hex() for node in proof]}


def inclusion(session: Session, log_index: int | None) -> dict[str, Any]:
    """The latest root and the entry's inclusion proof to it (both None until a root
    covers the entry)."""
    latest = _latest(session)
    if log_index is None or latest is None:
        return {"log_index": None, "root": None, "inclusion_proof": None}
    proof = inclusion_proof(leaves(session, latest.tree_size), log_index)
    return {
        "log_index": log_index,
        "root": json.loads(latest.envelope),
        "inclusion_proof": [node.hex() for node in proof],
    }
