"""The election record's layout: its format line and the files it holds.

The server writes the record (``ballot_server/record.py``) and the verifier
reads it (``tally/record.py``): both name the files from here, so the writer
and the reader cannot drift apart (``docs/record.md`` describes each file).
"""

from __future__ import annotations

from typing import Final

RECORD_FORMAT: Final = "evote-record/3"
"""The ``FORMAT`` file's line: 3 since the group is ristretto255 (``docs/record.md``)."""

FORMAT_FILE: Final = "FORMAT"
MANIFEST: Final = "manifest.json"
ELECTION: Final = "election.json"
ENTRIES: Final = "board/entries.jsonl"
ROOTS: Final = "board/roots.jsonl"
CONSISTENCY: Final = "board/consistency.jsonl"
RECEIPTS: Final = "board/receipts.jsonl"
VOIDS: Final = "board/voids.jsonl"
REPORTS: Final = "reports"
REVOCATIONS: Final = "revocations.jsonl"
AUDIT_LOG: Final = "audit.jsonl"
PROVISIONAL_RESOLUTION: Final = "provisional-resolution.json"
