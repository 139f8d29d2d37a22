"""The journal: durable, chained, and continuing across restarts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crypto.ballot import GENESIS_TRACKING_CODE
from terminal.errors import JournalError
from terminal.journal import Journal


def code(number: int) -> bytes:
    return bytes([number]) * 32


def test_sequence_and_chain_continue_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, "T-1")
    assert journal.head() == (0, GENESIS_TRACKING_CODE)
    journal.append(1, "cast", GENESIS_TRACKING_CODE, code(1), "{}")
    journal.append(2, "challenge", code(1), code(2), "{}")
    journal.close()
    reopened = Journal(path, "T-1")
    assert reopened.head() == (2, code(2))
    reopened.append(3, "cast", code(2), code(3), "{}")
    assert [entry.sequence for entry in reopened.undelivered()] == [1, 2, 3]


def test_an_entry_that_does_not_extend_the_chain_is_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    journal.append(1, "cast", GENESIS_TRACKING_CODE, code(1), "{}")
    with pytest.raises(JournalError):
        journal.append(3, "cast", code(1), code(3), "{}")
    with pytest.raises(JournalError):
        journal.append(2, "cast", code(9), code(2), "{}")
    assert journal.head() == (1, code(1))


def test_another_terminals_journal_is_refused(tmp_path: Path) -> None:
    Journal(tmp_path / "journal.sqlite", "T-1").close()
    with pytest.raises(JournalError):
        Journal(tmp_path / "journal.sqlite", "T-2")


def test_commits_are_fsynced_in_wal_mode(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_delivery_state_and_counts(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    journal.append(1, "cast", GENESIS_TRACKING_CODE, code(1), "{}")
    journal.append(2, "challenge", code(1), code(2), "{}")
    journal.append(3, "cast", code(2), code(3), "{}")
    journal.mark_delivered(1, "{}")
    journal.mark_rejected(2, "invalid_proof")
    counts = journal.counts()
    assert (counts.cast, counts.challenged, counts.waiting, counts.rejected) == (2, 1, 1, 1)
    assert [entry.sequence for entry in journal.undelivered()] == [3]


def test_the_journal_holds_nothing_about_voters(tmp_path: Path) -> None:
    Journal(tmp_path / "journal.sqlite", "T-1").close()
    db = sqlite3.connect(tmp_path / "journal.sqlite")
    columns = {row[1] for row in db.execute("PRAGMA table_info(entries)")}
    assert not columns & {"national_code", "name", "card_id", "voter"}
