"""National roots: a Merkle log (RFC 9162) over every entry of every station's shard.

Publishing a root appends, for each station in order of its id, the shard's
entries that no root holds yet as leaves (``leaf = SHA-256(0x00 || entry_hash)``),
then signs ``{tree_size, root_hash, at, shards}`` where ``shards`` names every
station that advanced, with its new length and head. Only publishers lock
anything (the "national" chain row): a ballot never waits for a root, and a
root reads the stations' committed heads without locking their rows.

Roots are published at every close of polls, before the record is exported,
and after a ballot once ``root_interval_s`` has passed (by whichever worker
gets the lock first; the others skip). Each root stores the perfect subtrees
its new leaves complete (``merkle_nodes``, level 0 the leaf hashes) in its own
transaction; an inclusion or consistency proof is a list of subtrees, each made
of at most log₂ n + 1 perfect ones, so a proof reads at most 2·(log₂ n + 1)
stored nodes in one query and never a leaf of the board.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.chains import advance_chain
from ballot_server.errors import ServerError
from ballot_server.models import (
    BoardEntry,
    BoardRoot,
    Chain,
    MerkleNode,
    PublishedShard,
    Station,
)
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.merkle import (
    Frontier,
    PerfectSubtree,
    Span,
    consistency_path,
    inclusion_path,
    leaf_hash,
    path_proof,
    path_subtrees,
)

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
        advanced, nodes = [], []
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
                for level, index, value in frontier.append(leaf_hash(bytes.fromhex(digest))):
                    nodes.append({"level": level, "node_index": index, "node_hash": value.hex()})
            session.connection().execute(_SET_LOG_INDEX, indices)
            if station_id in published:
                session.get_one(PublishedShard, station_id).length = length
            else:
                session.add(PublishedShard(station_id=station_id, length=length))
            advanced.append({"station_id": station_id, "length": length, "head_hash": head})
        if not advanced:
            return None
        session.execute(insert(MerkleNode), nodes)
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


def stored_subtrees(
    session: Session, subtrees: list[PerfectSubtree]
) -> dict[PerfectSubtree, bytes]:
    """The stored hashes of ``subtrees`` (all inside the latest root), in one query
    that seeks each level's nodes on the primary key (a row-value ``IN`` would make
    SQLite scan the table)."""
    if not subtrees:
        return {}
    by_level: dict[int, list[int]] = {}
    for part in subtrees:
        by_level.setdefault(part.level, []).append(part.index)
    rows = session.execute(
        select(MerkleNode.level, MerkleNode.node_index, MerkleNode.node_hash).where(
            or_(
                *(
                    and_(MerkleNode.level == level, MerkleNode.node_index.in_(indices))
                    for level, indices in by_level.items()
                )
            )
        )
    )
    return {PerfectSubtree(level, index): bytes.fromhex(value) for level, index, value in rows}


def stored_proof(session: Session, path: list[Span]) -> list[str]:
    """The proof made of ``path``'s spans, from the stored nodes, as hex."""
    nodes = stored_subtrees(session, path_subtrees(path))
    return [node.hex() for node in path_proof(path, nodes)]


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
        proof = stored_proof(session, consistency_path(first, second))
    return {"first": first, "second": second, "proof": proof}


def inclusion(session: Session, log_index: int | None) -> dict[str, Any]:
    """The latest root and the entry's inclusion proof to it (both None until a root
    covers the entry)."""
    latest = _latest(session)
    if log_index is None or latest is None:
        return {"log_index": None, "root": None, "inclusion_proof": None}
    return {
        "log_index": log_index,
        "root": json.loads(latest.envelope),
        "inclusion_proof": stored_proof(session, inclusion_path(latest.tree_size, log_index)),
    }
