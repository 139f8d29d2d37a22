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
EVOTE_TEST_DATABASE_URL.

Publishing a root at the national peak: ``publish_root_s`` is the time of one
``national.publish_root`` (read every advanced shard's new entries, give them
their log indexes, hash them into the tree, store the perfect subtrees they
complete, sign) over ``publish_leaves`` new entries spread over
``publish_stations`` stations, in the proportion of a root at the peak: 4,236
ballots/s for ``root_interval_s`` (60 s) over ``PEAK_STATIONS`` stations is
about five new entries per station. ``publish_root_s_peak`` scales the time
linearly to the peak's 254,000 entries over 50,000 stations (both grow
together); it must stay well below the interval, since the next root waits
for it (ballots never do). Prints one JSON line.
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
from sqlalchemy import Engine, insert, select, update
from station_load import drop_schema, fresh_schema

from ballot_server import board, db, national
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.models import BoardEntry, BoardRoot, MerkleNode, Station
from ballot_server.setup import create_election, sign_manifest
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.merkle import Frontier, inclusion_path, inclusion_proof, leaf_hash, path_subtrees
from crypto.threshold import generate_trustee
from evote.manifest import Manifest
from tally.testing import synthetic_manifest

SIZES = (size(600, 600), size(100_000, 2_000))
PEAK_BALLOTS_PER_S = 61_000_000 / (12 * 3600) * 3
ROOT_INTERVAL_S = 60
PEAK_STATIONS = 50_000
PUBLISH_STATIONS = size(5_000, 4)
PEAK_LEAVES = round(PEAK_BALLOTS_PER_S * ROOT_INTERVAL_S)
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


def _add_entries(state: ServerState, stations: list[str], first: int, count: int) -> int:
    """``count`` more entries on every station's shard (positions ``first``..), as
    intake leaves them: no log index yet, the stations' heads moved on."""
    entries = [
        {
            **_entry(number * ENTRIES_PER_STATION + position),
            "station_id": station_id,
            "position": position,
            "log_index": None,
        }
        for number, station_id in enumerate(stations)
        for position in range(first, first + count)
    ]
    with state.engine.begin() as connection:
        for start in range(0, len(entries), BATCH):
            connection.execute(insert(BoardEntry.__table__), entries[start : start + BATCH])
        connection.execute(update(Station).values(board_length=first + count, board_head="0" * 64))
    return len(entries)


def _publish_seconds(url: str) -> tuple[float, int]:
    """A root over the new entries of ``PUBLISH_STATIONS`` stations, about five each,
    after a first root over as many (so the log already holds entries, and every
    shard's published length is updated rather than inserted): (seconds, leaves)."""
    keys = KeySet.generate()
    document = synthetic_manifest(PUBLISH_STATIONS)
    manifest = Manifest.from_json(document)
    trustees = [generate_trustee(i, 2, manifest.manifest_hash)[1] for i in (1, 2, 3)]
    state = ServerState(ServerConfig(url, url, keys, root_interval_s=10**9))
    try:
        assert keys.hq is not None
        create_election(state, sign_manifest(keys.hq, document), trustees)
        stations = [station.station_id for station in manifest.stations]
        per_station = round(PEAK_LEAVES / PEAK_STATIONS)
        first = _add_entries(state, stations, 0, per_station)
        assert national.publish_root(state) is not None
        leaves = _add_entries(state, stations, per_station, per_station)
        began = time.perf_counter()
        envelope = national.publish_root(state)
        elapsed = time.perf_counter() - began
        assert envelope is not None and envelope["payload"]["tree_size"] == first + leaves
        return elapsed, leaves
    finally:
        state.dispose()


def _publish_figures(url: str, suffix: str) -> dict[str, Any]:
    seconds, leaves = _publish_seconds(url)
    return {
        f"publish_leaves{suffix}": leaves,
        f"publish_root_s{suffix}": round(seconds, 2),
        f"publish_root_s_peak{suffix}": round(seconds * PEAK_LEAVES / leaves, 1),
    }


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
    line["publish_stations"] = PUBLISH_STATIONS
    line["peak_leaves_per_root"] = PEAK_LEAVES
    with tempfile.TemporaryDirectory() as directory:
        line.update(_publish_figures(f"sqlite:///{Path(directory) / 'ballot.sqlite'}", ""))
    if base_url:
        url, schema = fresh_schema(base_url)
        try:
            line.update(_publish_figures(url, "_pg"))
        finally:
            drop_schema(base_url, schema)
    print(json.dumps(marked(line)))


if __name__ == "__main__":
    main()
