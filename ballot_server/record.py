"""The server's part of the election record (docs/record.md, format ``evote-record/3``).

Writes FORMAT, manifest.json, election.json, trustees/, board/, reports/,
revocations.jsonl, audit.jsonl and, once HQ has reconciled provisional
ballots, provisional-resolution.json; the tally adds tally/ and results/.
Every JSON file is canonical JSON and every ``.jsonl`` line a canonical JSON
object, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot_server import national
from ballot_server.audit import audit_lines
from ballot_server.board import entry_json
from ballot_server.models import BoardEntry, BoardRoot, PollReport, Receipt
from ballot_server.reconciliation import stored_resolution
from ballot_server.release import voids
from ballot_server.setup import election_summary, revocation_certificates
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.merkle import consistency_path
from evote.record_layout import (
    AUDIT_LOG,
    CONSISTENCY,
    ELECTION,
    ENTRIES,
    FORMAT_FILE,
    MANIFEST,
    PROVISIONAL_RESOLUTION,
    RECEIPTS,
    RECORD_FORMAT,
    REPORTS,
    REVOCATIONS,
    ROOTS,
    VOIDS,
)

ELECTION_FIELDS = (
    "election_id",
    "manifest_hash",
    "base_hash",
    "joint_public_key",
    "trustee_count",
    "quorum",
    "hq_public_key",
    "registry_public_key",
    "inquiry_public_key",
    "server_public_key",
    "terminals",
)


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(value))


def _write_lines(path: Path, values: Iterable[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for value in values:
            handle.write(canonical_json(value) + b"\n")


def _consistency_lines(session: Session) -> list[dict[str, Any]]:
    """An RFC 9162 consistency proof from each root to the next, from stored nodes."""
    sizes = list(
        session.execute(select(BoardRoot.tree_size).order_by(BoardRoot.tree_size)).scalars()
    )
    return [
        {
            "first": first,
            "second": second,
            "proof": national.stored_proof(session, consistency_path(first, second)),
        }
        for first, second in zip(sizes, sizes[1:], strict=False)
    ]


def export_record(state: ServerState, directory: Path) -> Path:
    """Write the server's part of the record into ``directory`` (created if needed),
    after publishing a national root over every entry on the board."""
    national.publish_root(state)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    summary = election_summary(state)
    (directory / FORMAT_FILE).write_text(RECORD_FORMAT + "\n", encoding="ascii")
    _write_json(directory / MANIFEST, summary["manifest"])
    _write_json(directory / ELECTION, {name: summary[name] for name in ELECTION_FIELDS})
    for trustee in summary["trustees"]:
        _write_json(directory / "trustees" / f"trustee-{trustee['index']}.json", trustee)
    with Session(state.engine) as session:
        entries = session.execute(
            select(BoardEntry)
            .order_by(BoardEntry.station_id, BoardEntry.position)
            .execution_options(yield_per=500)
        ).scalars()
        _write_lines(directory / ENTRIES, (entry_json(e) for e in entries))
        roots = session.execute(select(BoardRoot.envelope).order_by(BoardRoot.tree_size))
        _write_lines(directory / ROOTS, (json.loads(r) for r in roots.scalars()))
        _write_lines(directory / CONSISTENCY, _consistency_lines(session))
        receipts = session.execute(
            select(Receipt.envelope).order_by(Receipt.station_id, Receipt.board_position)
        ).scalars()
        _write_lines(directory / RECEIPTS, (json.loads(r) for r in receipts))
        _write_lines(directory / VOIDS, voids(session))
        (directory / REPORTS).mkdir(exist_ok=True)
        for report in session.execute(select(PollReport)).scalars():
            name = f"{report.station_id}-{report.kind}.json"
            _write_json(directory / REPORTS / name, json.loads(report.envelope))
        _write_lines(directory / REVOCATIONS, revocation_certificates(session))
        _write_lines(directory / AUDIT_LOG, audit_lines(session))
    resolution = stored_resolution(state)
    if resolution is not None:
        _write_json(directory / PROVISIONAL_RESOLUTION, resolution.to_json())
    return directory


def station_export(state: ServerState, station_id: str) -> dict[str, Any]:
    """One station's board entries, receipts and reports (``GET …/stations/<id>/export``)."""
    with Session(state.engine) as session:
        entries = list(
            session.execute(
                select(BoardEntry)
                .where(BoardEntry.station_id == station_id)
                .order_by(BoardEntry.position)
            ).scalars()
        )
        receipts = session.execute(
            select(Receipt).where(Receipt.station_id == station_id).order_by(Receipt.board_position)
        ).scalars()
        reports = session.execute(
            select(PollReport).where(PollReport.station_id == station_id)
        ).scalars()
        return {
            "station_id": station_id,
            "entries": [entry_json(entry) for entry in entries],
            "receipts": [json.loads(receipt.envelope) for receipt in receipts],
            "reports": {report.kind: json.loads(report.envelope) for report in reports},
        }
