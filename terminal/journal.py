"""The terminal's durable journal: every cast or challenged ballot, before anything else.

SQLite in WAL mode with ``synchronous=FULL``: a commit returns only after the
WAL is fsynced, so a ballot whose receipt was printed survives a power cut or a
``kill -9``. The journal also holds the terminal's sequence counter and the
head of its tracking-code chain (both derived from the rows, so they cannot
drift apart), the last known poll state, and the delivery state of each entry.
Secrecy: a row holds the signed submission exactly as it will be sent and
nothing about who the voter was.

It also holds the *releases* of the authorizations this terminal may have to give
up (``terminal/releases.py``): voter's national code (or, for a desk's QR pass,
the pass id), the secret release key and the authorization id derived from it,
written before the check-in (or the pass redemption) is sent. A
release row is deleted in the same transaction that journals the cast spending
its authorization, and when the check-in is released; ``secure_delete`` zeroes the
deleted bytes, so the file does not keep who cast which ballot.
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
CREATE TABLE IF NOT EXISTS releases (
    authorization_id TEXT PRIMARY KEY,
    national_code TEXT NOT NULL,
    release_key TEXT NOT NULL,
    reason TEXT,
    void TEXT,
    pass_id TEXT
);
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
class PendingRelease:
    """An authorization given up (``reason``), to be voided and its check-in released."""

    authorization_id: str
    national_code: str  # empty for a pass
    release_key: bytes
    reason: str
    void: str | None
    pass_id: str | None  # a desk's QR pass, redeemed with this release key


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
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(releases)")}
        if "pass_id" not in columns:  # a journal from before QR passes could be released
            self._db.execute("ALTER TABLE releases ADD COLUMN pass_id TEXT")
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
        spends_release: str | None = None,
    ) -> None:
        """Store one submission durably; refuse anything that does not extend the chain.
        A cast forgets the release of the authorization it spends, in the same commit."""
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
                if spends_release is not None:
                    self._db.execute(
                        "DELETE FROM releases WHERE authorization_id = ?", (spends_release,)
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

    # --- releases (terminal/releases.py) -------------------------------------------------

    def hold_release(
        self,
        authorization_id: str,
        national_code: str,
        release_key: bytes,
        pass_id: str | None = None,
    ) -> None:
        """Before a check-in (or a pass redemption) is sent: what voiding and releasing
        it would need."""
        with self._lock:
            self._db.execute(
                "INSERT INTO releases (authorization_id, national_code, release_key, pass_id)"
                " VALUES (?, ?, ?, ?)",
                (authorization_id, national_code, release_key.hex(), pass_id),
            )

    def give_up_release(self, authorization_id: str, reason: str) -> None:
        """The session ended without a cast: this authorization is to be voided."""
        with self._lock:
            self._db.execute(
                "UPDATE releases SET reason = COALESCE(reason, ?) WHERE authorization_id = ?",
                (reason, authorization_id),
            )

    def give_up_all_releases(self, reason: str) -> None:
        """At start: every authorization held by a session the restart ended."""
        with self._lock:
            self._db.execute("UPDATE releases SET reason = ? WHERE reason IS NULL", (reason,))

    def pending_releases(self) -> list[PendingRelease]:
        with self._lock:
            rows = self._db.execute(
                "SELECT authorization_id, national_code, release_key, reason, void, pass_id"
                " FROM releases WHERE reason IS NOT NULL ORDER BY rowid"
            ).fetchall()
        return [PendingRelease(a, n, bytes.fromhex(k), r, v, p) for a, n, k, r, v, p in rows]

    def store_void(self, authorization_id: str, void: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE releases SET void = ? WHERE authorization_id = ?", (void, authorization_id)
            )

    def forget_release(self, authorization_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM releases WHERE authorization_id = ?", (authorization_id,))

    def cast_spends(self, authorization_id: str) -> bool:
        """Whether a journaled cast carries this authorization (then it must never be voided)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM entries WHERE action = 'cast' AND instr(submission, ?) > 0 LIMIT 1",
                (f'"authorization_id":"{authorization_id}"',),
            ).fetchone()
        return row is not None
