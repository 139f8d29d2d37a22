"""Proofs of the national log: rows read and time per ``/track`` lookup.

For each size the national log is synthesized straight into a fresh database
(board entries with their ``log_index``, the ``merkle_nodes`` publishing
stores, one signed-root row; no ballots, which a proof never reads), then
``board.lookup`` — what ``GET /track/<code>`` answers — runs for random
tracking codes: ``track_ms_N`` is the median time (entry, latest root and
inclusion proof), ``track_rows_max_N`` the most rows any index of the tree
reads (the entry, the root and the proof's stored nodes, counted from the
proof's spans; also at 61 million, where nothing is synthesized).
``leaf_read_ms_N`` times the proof as it was built before stored nodes (every
leaf hash read in log order, the proof computed from the leaves: ``N + 2``
rows). SQLite always; PostgreSQL (``_pg``) with EVOTE_BENCH_DATABASE_URL or
EVOTE_TEST_DATABASE_URL. Prints one JSON line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sizes import marked, size
from sqlalchemy import Engine, insert, select
from station_load import drop_schema, fresh_schema

from ballot_server import board, db
from ballot_server.models import BoardEntry, BoardRoot, MerkleNode
from crypto.canonical import canonical_json
from crypto.merkle import Frontier, inclusion_path, inclusion_proof, leaf_hash, path_subtrees

SIZES = (size(600, 600), size(100_000, 2_000))
NATIONAL = 61_000_000
LOOKUPS = size(200, 20)
LEAF_READ_LOOKUPS = size(5, 2)
BATCH = 10_000
ENTRIES_PER_STATION = 1_000


def _tracking_code(log_index: int) -> str:
    return hashlib.sha256(b"track %d" % log_index).hexdigest()


def _entry(log_index: int) -> dict[str, Any]:
    return {
        "station_id": f"S-{log_index // ENTRIES_PER_STATION:05d}",
        "position": log_index % ENTRIES_PER_STATION,
        "kind": "ballot",
        "previous_hash": "0" * 64,
        "entry_hash": hashlib.sha256(b"entry %d" % log_index).hexdigest(),
        "payload": "{}",
        "log_index": log_index,
        "terminal_id": f"T-{log_index // ENTRIES_PER_STATION:05d}",
        "sequence": log_index % ENTRIES_PER_STATION + 1,
        "tracking_code": _tracking_code(log_index),
        "received_at": 0,
    }


def _synthesize(engine: Engine, leaves: int) -> None:
    """A published national log of ``leaves`` entries, as publishing leaves it."""
    db.upgrade(engine, "main")
    frontier = Frontier()
    with engine.begin() as connection:
        for start in range(0, leaves, BATCH):
            entries = [_entry(index) for index in range(start, min(start + BATCH, leaves))]
            nodes = [
                {"level": level, "node_index": index, "node_hash": value.hex()}
                for entry in entries
                for level, index, value in frontier.append(
                    leaf_hash(bytes.fromhex(entry["entry_hash"]))
                )
            ]
            connection.execute(insert(BoardEntry.__table__), entries)
            connection.execute(insert(MerkleNode.__table__), nodes)
        root_hash = frontier.root().hex()
        payload = {"tree_size": leaves, "root_hash": root_hash, "at": 0, "shards": []}
        connection.execute(
            insert(BoardRoot.__table__),
            {
                "tree_size": leaves,
                "root_hash": root_hash,
                "envelope": canonical_json({"payload": payload}).decode(),
                "frontier": canonical_json(frontier.to_json()).decode(),
            },
        )


def _rows_max(leaves: int) -> int:
    """The most rows a lookup reads: its entry, the root, the proof's nodes. Leaves
    under one left turn off the tree's right edge all need as many nodes, so one
    leaf per turn (and the last leaf) gives the maximum over every index."""
    turns, start = [], 0
    while leaves - start > 1:
        turns.append(start)
        start += 1 << ((leaves - start - 1).bit_length() - 1)
    return 2 + max(len(path_subtrees(inclusion_path(leaves, i))) for i in [*turns, leaves - 1])


def _median_ms(calls: Iterator[float]) -> float:
    return round(statistics.median(calls) * 1000, 3)


def _timed(function: Any, *arguments: Any) -> float:
    started = time.perf_counter()
    function(*arguments)
    return time.perf_counter() - started


def _leaf_read_proof(engine: Engine, tree_size: int, log_index: int) -> list[bytes]:
    """The proof as it was built before: every leaf read, then the proof from them."""
    with engine.connect() as connection:
        digests = connection.execute(
            select(BoardEntry.entry_hash)
            .where(BoardEntry.log_index < tree_size)
            .order_by(BoardEntry.log_index)
        ).scalars()
        return inclusion_proof([leaf_hash(bytes.fromhex(d)) for d in digests], log_index)


def _measure(engine: Engine, leaves: int, suffix: str, rng: random.Random) -> dict[str, Any]:
    _synthesize(engine, leaves)
    state = SimpleNamespace(engine=engine)
    codes = [_tracking_code(rng.randrange(leaves)) for _ in range(LOOKUPS)]
    board.lookup(state, codes[0])  # type: ignore[arg-type]
    figures = {
        f"track_ms_{leaves}{suffix}": _median_ms(
            _timed(board.lookup, state, code) for code in codes
        ),
        f"leaf_read_ms_{leaves}{suffix}": _median_ms(
            _timed(_leaf_read_proof, engine, leaves, rng.randrange(leaves))
            for _ in range(LEAF_READ_LOOKUPS)
        ),
    }
    engine.dispose()
    return figures


def main() -> None:
    rng = random.Random(1404)
    line: dict[str, Any] = {"bench": "proofs"}
    for leaves in (*SIZES, NATIONAL):
        line[f"track_rows_max_{leaves}"] = _rows_max(leaves)
    base_url = os.environ.get("EVOTE_BENCH_DATABASE_URL") or os.environ.get(
        "EVOTE_TEST_DATABASE_URL"
    )
    for leaves in SIZES:
        with tempfile.TemporaryDirectory() as directory:
            engine = db.make_engine(f"sqlite:///{Path(directory) / 'ballot.sqlite'}")
            line.update(_measure(engine, leaves, "", rng))
        if base_url:
            url, schema = fresh_schema(base_url)
            try:
                line.update(_measure(db.make_engine(url), leaves, "_pg", rng))
            finally:
                drop_schema(base_url, schema)
    print(json.dumps(marked(line)))


if __name__ == "__main__":
    main()
