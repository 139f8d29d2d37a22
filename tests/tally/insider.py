"""An insider who holds the server's key rewrites a record, then has it tallied again.

Everything the server signs is rebuilt to agree with the edited board:
each shard's hash chain, one national root over it, the receipts, the closing
reports (terminal heads and encrypted subtotals), and the audit log (its
``board.root`` events); then the honest trustees decrypt the new totals. What
the insider cannot sign — terminals' requests, HQ's certificates, officials'
cards — is kept as it was, or dropped when it would name what was removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from record_tampering import read_document, read_lines, write_document, write_lines

from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from tally.ceremony import CeremonyResult, decrypt_with_trustees
from tally.pipeline import compute_totals, finish_tally, write_totals
from tally.record import CONSISTENCY, ENTRIES, RECEIPTS, ROOTS, Record
from tally.testing import NationalLog, RecordKeys, audit_log, count_closing, countersign
from tally.verify_audit import AUDIT_LOG, SUBTOTALS
from tally.verify_ballots import ENTRY_DOMAIN

ReportEdit = Callable[[dict[str, Any]], None]


def entries(root: Path) -> list[dict[str, Any]]:
    return read_lines(root, ENTRIES)


def request(entry: dict[str, Any]) -> dict[str, Any]:
    """The terminal's signed request inside a board entry."""
    found: dict[str, Any] = entry["payload"]["payload"]
    return found


def last_entries(board: list[dict[str, Any]]) -> dict[str, int]:
    """Each terminal's last entry, by index in the board."""
    last: dict[str, int] = {}
    for index, entry in enumerate(board):
        last[request(entry)["terminal_id"]] = index
    return last


def _rechain(board: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    shards: dict[str, list[dict[str, Any]]] = {}
    for entry in board:
        shard = shards.setdefault(entry["station_id"], [])
        previous = bytes.fromhex(shard[-1]["entry_hash"]) if shard else bytes(32)
        entry["position"], entry["previous_hash"] = len(shard), previous.hex()
        entry["entry_hash"] = hash_bytes(
            ENTRY_DOMAIN,
            previous,
            entry["station_id"],
            entry["position"],
            entry["kind"],
            canonical_json(entry["payload"]),
        ).hex()
        shard.append(entry)
    return shards


def _receipts(root: Path, keys: RecordKeys, board: list[dict[str, Any]]) -> None:
    by_code = {
        item["payload"]["tracking_code"]: item["payload"] for item in read_lines(root, RECEIPTS)
    }
    receipts = []
    latest: dict[str, int] = {}
    for entry in board:
        body = request(entry)["body"]
        if entry["kind"] != "ballot":
            continue
        payload = by_code.get(body["tracking_code"]) or {
            "election_id": read_document(root, "election.json")["election_id"],
            "tracking_code": body["tracking_code"],
            "station_id": entry["station_id"],
            "terminal_id": request(entry)["terminal_id"],
            "sequence": body["sequence"],
            "received_at": max(request(entry)["timestamp"], latest.get(entry["station_id"], 0)),
        }
        latest[entry["station_id"]] = payload["received_at"]
        payload = {**payload, "board_position": entry["position"]}
        receipts.append(keys.server.sign("receipt", payload).to_json())
    receipts.sort(
        key=lambda item: (item["payload"]["station_id"], item["payload"]["board_position"])
    )
    write_lines(root, RECEIPTS, receipts)


def _closing_reports(
    root: Path,
    keys: RecordKeys,
    board: list[dict[str, Any]],
    edit: ReportEdit | None,
    officials: bool,
) -> None:
    heads: dict[str, tuple[int, str]] = {}
    for entry in board:
        body = request(entry)["body"]
        heads[request(entry)["terminal_id"]] = (body["sequence"], body["tracking_code"])
    stations = {
        unit.unit_id: unit for unit in compute_totals(Record(root)).units if unit.level == "station"
    }
    for path in sorted((root / "reports").glob("*-closing.json")):
        relative = f"reports/{path.name}"
        payload = read_document(root, relative)["payload"]
        for item in payload["terminals"]:
            sequence, code = heads.get(item["terminal_id"], (0, "00" * 32))
            item["last_sequence"], item["chain_head"] = sequence, code
        payload[SUBTOTALS] = {
            contest_id: {key: value.to_json() for key, value in totals.ciphertexts.items()}
            for contest_id, totals in stations[payload["station_id"]].contests.items()
        }
        count_closing(payload, [e for e in board if e["station_id"] == payload["station_id"]])
        if officials:
            countersign(keys, payload)
        if edit is not None:
            edit(payload)
        write_document(root, relative, keys.server.sign("poll-report", payload).to_json())


def _audit(root: Path, keys: RecordKeys, log: NationalLog) -> None:
    old = read_lines(root, AUDIT_LOG)
    events = [
        (item["event_id"], item["fields"]) for item in old if item["event_id"] != "board.root"
    ]
    events.extend(
        ("board.root", {name: item["payload"][name] for name in ("tree_size", "root_hash")})
        for item in log.roots
    )
    write_lines(root, AUDIT_LOG, audit_log(keys.server, events, at=old[0]["at"]))


@dataclass(frozen=True)
class ServerInsider:
    """The server's key, with honest trustees who tally whatever board they are given."""

    keys: RecordKeys
    ceremony: CeremonyResult
    passphrases: dict[int, bytes]

    def rewrite(
        self,
        root: Path,
        board: list[dict[str, Any]],
        *,
        edit_closing: ReportEdit | None = None,
        officials: bool = False,
    ) -> None:
        """Publish ``board`` (entries in station order) as the server's key holder would,
        and tally it again with trustees 1 and 3; with ``officials``, their cards too
        countersign the new counts."""
        shards = _rechain(board)
        log = NationalLog(self.keys.server)
        log.publish(shards, at=1_790_000_000)
        write_lines(
            root, ENTRIES, [entry for station in sorted(shards) for entry in shards[station]]
        )
        write_lines(root, ROOTS, log.roots)
        (root / CONSISTENCY).write_bytes(b"")
        _receipts(root, self.keys, board)
        _closing_reports(root, self.keys, board, edit_closing, officials)
        _audit(root, self.keys, log)
        record = Record(root)
        totals = write_totals(record)
        quorum = {index: self.passphrases[index] for index in (1, 3)}
        finish_tally(record, decrypt_with_trustees(self.ceremony, quorum, totals))
