"""The terminal's durable journal: every cast or challenged ballot, before anything else.

SQLite in WAL mode with ``synchronous=FULL``: a commit returns only after the
WAL is fsynced, so a ballot whose receipt was printed survives a power cut or a
``kill -9``. The journal also holds the terminal's sequence counter and the
head of its tracking-code chain (both derived from the rows, so they cannot
drift apart), the last known poll state, and the delivery state of each entry.
Secrecy: a row holds the signed submission exactly as it will be sent and
nothing about who the voter was.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from crypto.ballot import GENESIS_TRACKING_CODE
from terminal.errors import JournalError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    sequence INTEGER PRIMARY KEY,
    action TEXT NOT NULL CHECK (action IN ('cast', 'challenge')),
    previous_tracking_code TEXT NOT NULL,
    tracking_code TEXT NOT NULL UNIQUE,
    submission TEXT NOT NULL,
    journaled_at INTEGER NOT NULL,
    delivered_at INTEGER,
    server_receipt TEXT,
    rejected_code TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class JournalEntry:
    sequence: int
    action: str
    tracking_code: str
    submission: str
    attempts: int


@dataclass(frozen=True)
class JournalCounts:
    """What officials see: how many ballots, and how many still waiting for the server."""

    cast: int
    challenged: int
    waiting: int
    rejected: int
    oldest_waiting_at: int | None


@dataclass(frozen=True)
class RejectedEntry:
    """A journaled ballot the server refused for good: kept, shown, declared at close."""

    sequence: int
    action: str
    tracking_code: str
    code: str


class Journal:
    """One SQLite file per terminal; safe to use from the kiosk and the uplink threads."""

    def __init__(self, path: Path, terminal_id: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        owner = self.get_meta("terminal_id")
        if owner is None:
            self.set_meta("terminal_id", terminal_id)
        elif owner != terminal_id:
            raise JournalError(f"{path} is the journal of terminal {owner}, not {terminal_id}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def head(self) -> tuple[int, bytes]:
        """(last sequence, last tracking code): (0, 32 zero bytes) for a fresh terminal."""
        with self._lock:
            row = self._db.execute(
                "SELECT sequence, tracking_code FROM entries ORDER BY sequence DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return 0, GENESIS_TRACKING_CODE
        return int(row[0]), bytes.fromhex(row[1])

    def append(
        self,
        sequence: int,
        action: str,
        previous_tracking_code: bytes,
        tracking_code: bytes,
        submission: str,
    ) -> None:
        """Store one submission durably; refuse anything that does not extend the chain."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT sequence, tracking_code FROM entries ORDER BY sequence DESC LIMIT 1"
                ).fetchone()
                last_sequence, last_code = (0, GENESIS_TRACKING_CODE.hex()) if row is None else row
                if sequence != last_sequence + 1 or previous_tracking_code.hex() != last_code:
                    raise JournalError(
                        f"entry {sequence} does not extend the chain at {last_sequence}"
                    )
                self._db.execute(
                    "INSERT INTO entries (sequence, action, previous_tracking_code,"
                    " tracking_code, submission, journaled_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        sequence,
                        action,
                        previous_tracking_code.hex(),
                        tracking_code.hex(),
                        submission,
                        int(time.time()),
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def undelivered(self) -> list[JournalEntry]:
        """Entries the server has not acknowledged yet, oldest first (the chain's order)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT sequence, action, tracking_code, submission, attempts FROM entries"
                " WHERE delivered_at IS NULL AND rejected_code IS NULL ORDER BY sequence"
            ).fetchall()
        return [JournalEntry(*row) for row in rows]

    def mark_delivered(self, sequence: int, server_receipt: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE entries SET delivered_at = ?, server_receipt = ? WHERE sequence = ?",
                (int(time.time()), server_receipt, sequence),
            )

    def mark_rejected(self, sequence: int, code: str) -> None:
        """The server refused the entry for good; kept for the officials, never resent."""
        with self._lock:
            self._db.execute(
                "UPDATE entries SET rejected_code = ? WHERE sequence = ?", (code, sequence)
            )

    def count_attempt(self, sequence: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE entries SET attempts = attempts + 1 WHERE sequence = ?", (sequence,)
            )

    def counts(self) -> JournalCounts:
        with self._lock:
            row = self._db.execute(
                "SELECT"
                " COALESCE(SUM(action = 'cast'), 0),"
                " COALESCE(SUM(action = 'challenge'), 0),"
                " COALESCE(SUM(delivered_at IS NULL AND rejected_code IS NULL), 0),"
                " COALESCE(SUM(rejected_code IS NOT NULL), 0),"
                " MIN(CASE WHEN delivered_at IS NULL AND rejected_code IS NULL"
                " THEN journaled_at END)"
                " FROM entries"
            ).fetchone()
        cast, challenged, waiting, rejected, oldest = row
        return JournalCounts(
            int(cast),
            int(challenged),
            int(waiting),
            int(rejected),
            None if oldest is None else int(oldest),
        )

    def rejected(self) -> list[RejectedEntry]:
        with self._lock:
            rows = self._db.execute(
                "SELECT sequence, action, tracking_code, rejected_code FROM entries"
                " WHERE rejected_code IS NOT NULL ORDER BY sequence"
            ).fetchall()
        return [RejectedEntry(*row) for row in rows]
