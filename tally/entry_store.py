"""Every board entry's facts on disk, for the checks over the whole board.

The per-entry checks return one ``EntryFacts`` per entry, and the board-wide
checks (shard and terminal chains, one ballot per authorization, receipts,
poll reports, the roots rebuilt from the shards…) need all of them: held in a
list (with dicts by position, receipt and authorization) they took 1.4 KB per
entry at the checks' peak in the verifier's process, 84 GB for 61 million
ballots (``docs/scale.md``). Instead they go into an SQLite table in a temporary
directory as the chunk results arrive, keyed by their line (the board's
order), and each check reads them back the way it needs them: streamed in
line order with each entry's receipt time (the checks in line order that need
no time take the facts before they are stored: ``entry_checks.py``), looked
up by line or a line range (a station's shard is a run of lines once its
chain is checked, ``verify_board.Shards``), or, for one cast ballot per
authorization, through an index by authorization id. The receipts go into a
table of their own, what each claims, joined to the entries by line in
SQLite (``verify_receipts.py``). The
process's memory is SQLite's page cache (``CACHE_KIB``) and one row at a time,
whatever the record's size; the disk holds about 420 bytes per entry with its
index, and 117 per receipt with its own, until the run ends (the spilled
alphas, ``repeats.py``, take 800 per ballot).
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeAlias

from tally.verify_ballots import EntryFacts

CACHE_KIB: Final = 8192
"""SQLite's page cache: what the store holds in memory at most."""
_FIELDS: Final = EntryFacts._fields
"""The table's columns, in the order ``EntryFacts`` takes them."""
_PROVISIONAL: Final = _FIELDS.index("provisional")
_COLUMNS: Final = ", ".join(_FIELDS)
Received: TypeAlias = tuple[EntryFacts, int | None]
"""An entry's facts with the ``received_at`` of its receipt, None if it has none."""
_new_facts: Final = tuple.__new__
"""Builds the named tuple from a row without ``_make``'s checks: a third of the cost
of a pass over every entry."""
_SCHEMA: Final = (
    "CREATE TABLE entries (line INTEGER PRIMARY KEY, "
    + ", ".join(f"{name} NOT NULL" for name in _FIELDS[1:] if name != "poll_period")
    + ", poll_period)"
)
ReceiptRow: TypeAlias = tuple[int, int | None, str | None, str | None, int | None, int | None]
"""A receipt as ``verify_receipts`` stores it: its line in the receipts file, the board
line it names (None if none), the tracking code, terminal id and sequence it claims
(None if it cannot match: another election, or a field of another JSON type), and
its ``received_at`` (None if no integer time)."""
_RECEIPTS_SCHEMA: Final = (
    "CREATE TABLE receipts (number INTEGER PRIMARY KEY, entry_line INTEGER, tracking_code,"
    " terminal_id, sequence, received_at)"
)
_RECEIPTS_INDEX: Final = (
    "CREATE INDEX receipts_by_entry ON receipts (entry_line, number, received_at)"
)
_FIRST_UNMATCHED: Final = """
SELECT r.number FROM receipts AS r LEFT JOIN entries AS e ON e.line = r.entry_line
WHERE e.line IS NULL OR e.kind != 'ballot' OR r.tracking_code IS NULL
   OR r.tracking_code != e.tracking_code OR r.terminal_id != e.terminal_id
   OR r.sequence != e.sequence OR r.received_at IS NULL
   OR r.number != (SELECT MIN(number) FROM receipts WHERE entry_line = r.entry_line)
ORDER BY r.number LIMIT 1"""
"""The earliest receipt that names no cast ballot, claims another than the one it
names, names one an earlier receipt names, or has no integer time: all in SQLite."""
_CAST_INDEX: Final = (
    "CREATE INDEX cast_authorizations ON entries (authorization_id) WHERE kind = 'ballot'"
)


def _facts(row: Sequence[Any]) -> EntryFacts:
    """A row of ``_COLUMNS`` as the facts it was stored from (SQLite has no booleans)."""
    return _new_facts(
        EntryFacts,
        (*row[:_PROVISIONAL], row[_PROVISIONAL] == 1, *row[_PROVISIONAL + 1 : len(_FIELDS)]),
    )


class EntryStore:
    """The facts of every entry checked so far, added in line order."""

    def __init__(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="evote-entries-")
        self._connection = sqlite3.connect(
            Path(self._directory.name) / "entries.sqlite", isolation_level=None
        )
        for pragma in ("journal_mode = OFF", "synchronous = OFF", f"cache_size = -{CACHE_KIB}"):
            self._connection.execute(f"PRAGMA {pragma}")
        self._connection.execute(_SCHEMA)
        self._connection.execute(_RECEIPTS_SCHEMA)
        # One transaction for the whole run: nothing here outlives it, so no commit
        # needs to reach the disk; SQLite spills pages beyond its cache to the file.
        self._connection.execute("BEGIN")
        self.count = 0
        self.receipts = 0
        self._casts_indexed = False
        self._receipts_indexed = False

    def __enter__(self) -> EntryStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._connection.close()
        self._directory.cleanup()

    def add(self, facts: Sequence[EntryFacts]) -> None:
        """The next entries' facts (chunks must come in line order)."""
        self._connection.executemany(
            f"INSERT INTO entries ({_COLUMNS}) VALUES ({', '.join('?' * len(_FIELDS))})",
            facts,
        )
        self.count += len(facts)

    def with_received(self) -> Iterator[Received]:
        """Every entry in line order with the ``received_at`` of its receipt, once
        ``first_unmatched_receipt`` found every receipt matching (one per entry)."""
        self._index_receipts()
        query = (
            f"SELECT {', '.join(f'e.{name}' for name in _FIELDS)}, r.received_at"
            " FROM entries AS e LEFT JOIN receipts AS r ON r.entry_line = e.line ORDER BY e.line"
        )
        for row in self._connection.execute(query):
            yield _facts(row), row[-1]

    def at_line(self, line: int) -> EntryFacts:
        """The entry at a line known to be stored (from a shard or an index)."""
        query = f"SELECT {_COLUMNS} FROM entries WHERE line = ?"
        row = self._connection.execute(query, (line,)).fetchone()
        if row is None:
            raise KeyError(f"no entry stored at line {line}")
        return _facts(row)

    def entry_hashes(self, first_line: int, last_line: int) -> Iterator[str]:
        """The entry hashes of lines ``first_line``..``last_line``, in order."""
        query = "SELECT entry_hash FROM entries WHERE line BETWEEN ? AND ? ORDER BY line"
        for (entry_hash,) in self._connection.execute(query, (first_line, last_line)):
            yield entry_hash

    def kinds_by_terminal(self, first_line: int, last_line: int) -> dict[str, dict[str, int]]:
        """How many entries of each kind each terminal has among these lines."""
        counts: dict[str, dict[str, int]] = {}
        query = (
            "SELECT terminal_id, kind, COUNT(*) FROM entries WHERE line BETWEEN ? AND ?"
            " GROUP BY terminal_id, kind"
        )
        for terminal_id, kind, count in self._connection.execute(query, (first_line, last_line)):
            counts.setdefault(terminal_id, {})[kind] = count
        return counts

    def add_receipts(self, rows: Sequence[ReceiptRow]) -> None:
        """The next receipts (in file order), matched or not: ``first_unmatched_receipt``
        tells."""
        self._connection.executemany("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.receipts += len(rows)

    def _index_receipts(self) -> None:
        if not self._receipts_indexed:
            self._connection.execute(_RECEIPTS_INDEX)
            self._receipts_indexed = True

    def first_unmatched_receipt(self) -> int | None:
        """The line of the earliest receipt that does not match its cast ballot or is
        its second (``_FIRST_UNMATCHED``), None if every receipt matches."""
        self._index_receipts()
        row = self._connection.execute(_FIRST_UNMATCHED).fetchone()
        return None if row is None else int(row[0])

    def receipted_before(self, line: int, number: int) -> bool:
        """Whether a receipt before line ``number`` names the entry at ``line``."""
        self._index_receipts()
        query = "SELECT 1 FROM receipts WHERE entry_line = ? AND number < ? LIMIT 1"
        return self._connection.execute(query, (line, number)).fetchone() is not None

    def _index_casts(self) -> None:
        """The index by authorization id, built once, after the last entry is added
        (cheaper than keeping it up to date through every insert)."""
        if not self._casts_indexed:
            self._connection.execute(_CAST_INDEX)
            self._casts_indexed = True

    def cast_authorizations(self) -> Iterator[tuple[str, int]]:
        """(authorization id, line) of every cast ballot, by authorization id then line."""
        self._index_casts()
        query = (
            "SELECT authorization_id, line FROM entries INDEXED BY cast_authorizations"
            " WHERE kind = 'ballot' ORDER BY authorization_id, line"
        )
        yield from self._connection.execute(query)

    def cast_line(self, authorization_id: str) -> int | None:
        """The line of the cast ballot that used ``authorization_id``, if one did."""
        self._index_casts()
        query = (
            "SELECT MAX(line) FROM entries INDEXED BY cast_authorizations"
            " WHERE kind = 'ballot' AND authorization_id = ?"
        )
        line: int | None = self._connection.execute(query, (authorization_id,)).fetchone()[0]
        return line
