"""National roots: a Merkle log (RFC 9162) over every entry of every station's shard.

Publishing a root appends, for each station in order of its id, the shard's
entries that no root holds yet as leaves (``leaf = SHA-256(0x00 || entry_hash)``),
then signs ``{tree_size, root_hash, at, shards}`` where ``shards`` names every
station that advanced, with its new length and head. Only publishers lock
anything (the "national" chain row): a ballot never waits for a root, and a
root reads the stations' committed heads without locking their rows.

Roots are published at every close of polls, before the record is exported,
and after a ballot's answer has been sent once ``root_interval_s`` has passed
(by whichever worker gets the lock first; the others skip). Publishing reads
the new entries in one query and writes their log indexes, the shards'
published lengths and the stored nodes in a few batched statements, whatever
the number of stations (``docs/scale.md`` has its time at the national peak).
Each root stores the perfect subtrees its new leaves complete
(``merkle_nodes``, level 0 the leaf hashes) in its own transaction; an
inclusion or consistency proof is a list of subtrees, each made of at most
log₂ n + 1 perfect ones, so a proof reads at most 2·(log₂ n + 1)
stored nodes in one query and never a leaf of the board.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
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

LOG = logging.getLogger(__name__)
NATIONAL = "national"
ROOT_KIND = "board-root"
_LOCK = select(Chain.length).where(Chain.name == NATIONAL)
_SET_LOG_INDEX = (
    update(BoardEntry)
    .where(
        BoardEntry.station_id == bindparam("station"),
        BoardEntry.position >= bindparam("start"),
        BoardEntry.position < bindparam("end"),
    )
    .values(log_index=BoardEntry.position + bindparam("shift"))
)
_SET_PUBLISHED = (
    update(PublishedShard)
    .where(PublishedShard.station_id == bindparam("station"))
    .values(length=bindparam("length"))
)


def _latest(session: Session) -> BoardRoot | None:
    return session.execute(
        select(BoardRoot).order_by(BoardRoot.tree_size.desc()).limit(1)
    ).scalar_one_or_none()


def _unpublished(session: Session) -> dict[str, list[tuple[int, str]]]:
    """Every entry no root holds yet, by station, in shard order: one query, on the
    index of ``log_index`` (NULL until a root takes the entry), whatever the number
    of stations that advanced — a root at the national peak covers some 250,000
    entries of 50,000 stations, and a query per station cost seconds of round trips."""
    pending: dict[str, list[tuple[int, str]]] = {}
    rows = session.execute(
        select(BoardEntry.station_id, BoardEntry.position, BoardEntry.entry_hash)
        .where(BoardEntry.log_index.is_(None))
        .order_by(BoardEntry.station_id, BoardEntry.position)
    )
    for station_id, position, digest in rows:
        pending.setdefault(station_id, []).append((position, digest))
    return pending


def _append_leaves(
    frontier: Frontier, entries: list[tuple[int, str]], start: int, end: int
) -> list[dict[str, Any]]:
    """Append a shard's entries ``start``..``end`` (of its unpublished ones) to the
    log; the perfect subtrees they complete, as ``merkle_nodes`` rows."""
    nodes = []
    for position, digest in entries:
        if start <= position < end:
            for level, index, value in frontier.append(leaf_hash(bytes.fromhex(digest))):
                nodes.append({"level": level, "node_index": index, "node_hash": value.hex()})
    return nodes


def _record_published(
    connection: Connection, advanced: list[dict[str, Any]], published: dict[str, int]
) -> None:
    """The new published length of every shard that advanced (updated or inserted)."""
    grown = [
        {"station": shard["station_id"], "length": shard["length"]}
        for shard in advanced
        if shard["station_id"] in published
    ]
    new = [
        {"station_id": shard["station_id"], "length": shard["length"]}
        for shard in advanced
        if shard["station_id"] not in published
    ]
    if grown:
        connection.execute(_SET_PUBLISHED, grown)
    if new:
        connection.execute(insert(PublishedShard), new)


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
        published: dict[str, int] = dict(
            session.execute(select(PublishedShard.station_id, PublishedShard.length)).all()
        )
        heads = session.execute(
            select(Station.station_id, Station.board_length, Station.board_head)
            .where(Station.board_length > 0)
            .order_by(Station.station_id)
        ).all()
        advanced: list[dict[str, Any]] = [
            {"station_id": station_id, "length": length, "head_hash": head}
            for station_id, length, head in heads
            if length > published.get(station_id, 0)
        ]
        if not advanced:
            return None
        pending = _unpublished(session)
        ranges: list[dict[str, Any]] = []
        nodes: list[dict[str, Any]] = []
        for shard in advanced:
            station_id, end = shard["station_id"], shard["length"]
            start = published.get(station_id, 0)
            shift = frontier.size - start
            ranges.append({"station": station_id, "start": start, "end": end, "shift": shift})
            nodes += _append_leaves(frontier, pending.get(station_id, []), start, end)
        connection = session.connection()
        connection.execute(_SET_LOG_INDEX, ranges)
        _record_published(connection, advanced, published)
        connection.execute(insert(MerkleNode), nodes)
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


def publish_when_due(state: ServerState) -> None:
    """The periodic root, once this worker's interval has passed, run after a
    ballot's answer has gone out (``blueprints/intake.py``): a root at the national
    peak takes seconds (``docs/scale.md``), longer than a terminal waits for its
    answer, and the ballot it follows is already on the board. A database failure
    is logged and left to the next interval (the next root covers these entries
    too); it must not reach the terminal as a refusal of a stored ballot."""
    if not state.root_due():
        return
    try:
        publish_root(state, wait=False)
    except SQLAlchemyError:
        LOG.exception("publishing the national root failed; the next interval retries")


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
