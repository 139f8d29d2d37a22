"""Inclusion and consistency proofs of the national log read at most
2·(log₂ n + 1) stored nodes, never the board's leaves, and still verify
against the signed roots (RFC 9162 §2.1.3.2, §2.1.4.2)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from server_harness import Setup
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from ballot_server import board, national
from ballot_server.models import BoardEntry, MerkleNode, Station
from crypto.merkle import (
    Frontier,
    PerfectSubtree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from evote import protocol

ROOT_SIZES = (1, 2, 3, 5, 8, 9, 63, 64, 65, 100, 257, 600)
STATIONS = ("S-101", "S-102")


def _row_bound(size: int) -> float:
    return 2 * (math.log2(size) + 1)


def _append_entries(setup: Setup, count: int) -> None:
    """``count`` entries spread over two shards, written straight into the tables
    (a proof depends on the entry hashes only, not on what the entries hold)."""
    with setup.state.sessions.begin() as session:
        sequence = session.scalar(select(func.count()).select_from(BoardEntry)) or 0
        for number in range(count):
            station = session.get_one(Station, STATIONS[number % len(STATIONS)])
            entry_hash = os.urandom(32).hex()
            sequence += 1
            session.add(
                BoardEntry(
                    station_id=station.station_id,
                    position=station.board_length,
                    kind="ballot",
                    previous_hash=station.board_head,
                    entry_hash=entry_hash,
                    payload="{}",
                    terminal_id="T-synthetic",
                    sequence=sequence,
                    tracking_code=os.urandom(32).hex(),
                    received_at=0,
                )
            )
            station.board_length += 1
            station.board_head = entry_hash


def _grow_to(setup: Setup, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """A signed root at each of ``sizes``; the roots' payloads."""
    roots, size = [], 0
    for target in sizes:
        _append_entries(setup, target - size)
        envelope = national.publish_root(setup.state)
        assert envelope is not None
        roots.append(envelope["payload"])
        size = target
    return roots


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement run on ``engine`` inside the block, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def _rows_returned(engine: Engine, statements: list[tuple[str, Any]]) -> int:
    """The rows those statements return, counted by running them again."""
    with engine.connect() as connection:
        return sum(len(connection.exec_driver_sql(s, p).all()) for s, p in statements)


def _logs_scanned(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """On SQLite, where those statements walk the board or the node table instead
    of seeking rows by key (rows returned say nothing about rows read then);
    elsewhere nothing. (The latest root is a reverse index walk that stops at
    one row.)"""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as connection:
        return [
            detail
            for statement, parameters in statements
            for *_, detail in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement}", parameters
            )
            if detail.startswith(("SCAN board_entries", "SCAN merkle_nodes"))
        ]


def _tracking_codes(setup: Setup) -> list[str]:
    with Session(setup.state.engine) as session:
        codes = select(BoardEntry.tracking_code).order_by(BoardEntry.log_index)
        return list(session.execute(codes).scalars())


def test_a_track_lookup_reads_log_n_nodes_and_its_proof_verifies(setup: Setup) -> None:
    latest = _grow_to(setup, ROOT_SIZES)[-1]
    size, engine = latest["tree_size"], setup.state.engine
    for log_index, code in enumerate(_tracking_codes(setup)):
        with _statements(engine) as statements:
            found = board.lookup(setup.state, code)
        proof_rows = _rows_returned(engine, statements) - 2  # the entry and the root
        assert _logs_scanned(engine, statements) == []
        assert 0 < proof_rows <= _row_bound(size), (log_index, proof_rows)
        assert found["log_index"] == log_index and found["root"]["payload"] == latest
        verify_inclusion(
            leaf_hash(bytes.fromhex(found["entry_hash"])),
            log_index,
            size,
            [bytes.fromhex(node) for node in found["inclusion_proof"]],
            bytes.fromhex(latest["root_hash"]),
        )
    answer = setup.terminals["T1"].lookup(code)
    assert answer == found


def test_consistency_proofs_read_log_n_nodes_and_verify(setup: Setup) -> None:
    roots = _grow_to(setup, ROOT_SIZES)
    engine = setup.state.engine
    for older in roots:
        for newer in roots:
            first, second = older["tree_size"], newer["tree_size"]
            if first > second:
                continue
            with _statements(engine) as statements:
                answer = national.consistency(setup.state, first, second)
            proof_rows = _rows_returned(engine, statements) - len({first, second})
            assert _logs_scanned(engine, statements) == []
            assert proof_rows <= _row_bound(second), (first, second, proof_rows)
            verify_consistency(
                first,
                second,
                bytes.fromhex(older["root_hash"]),
                bytes.fromhex(newer["root_hash"]),
                [bytes.fromhex(node) for node in answer["proof"]],
            )
    path = f"{protocol.PATH_CONSISTENCY}?first=9&second=600"
    assert setup.terminals["T1"]._request("GET", path) == national.consistency(setup.state, 9, 600)


def test_publishing_stores_every_perfect_subtree_and_nothing_else(setup: Setup) -> None:
    _grow_to(setup, (5, 70))
    with Session(setup.state.engine) as session:
        leaves = [
            leaf_hash(bytes.fromhex(digest))
            for digest in session.execute(
                select(BoardEntry.entry_hash).order_by(BoardEntry.log_index)
            ).scalars()
        ]
        stored = {
            PerfectSubtree(level, index): value
            for level, index, value in session.execute(
                select(MerkleNode.level, MerkleNode.node_index, MerkleNode.node_hash)
            )
        }
    frontier = Frontier()
    expected = {
        PerfectSubtree(level, index): value.hex()
        for leaf in leaves
        for level, index, value in frontier.append(leaf)
    }
    assert stored == expected and len(stored) == 2 * 70 - (70).bit_count()


def test_publishing_a_root_costs_the_same_statements_however_many_stations_advanced(
    setup: Setup,
) -> None:
    """A root at the national peak covers some 50,000 stations: publishing reads the
    new entries in one query on the log-index key (never a walk of the board) and
    writes them in batches, so its statements do not grow with the number of
    stations that advanced."""
    engine = setup.state.engine
    _grow_to(setup, (2,))
    counts = []
    for added in (1, 2):  # one station advanced, then both
        _append_entries(setup, added)
        with _statements(engine) as statements:
            assert national.publish_root(setup.state) is not None
        counts.append(len(statements))
        reads = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
        assert _logs_scanned(engine, reads) == []
    assert counts[0] == counts[1]
