"""The audit log (``audit.jsonl``) and the closing reports' encrypted subtotals.

The ballot server writes the audit log (``ballot_server/audit.py``); the
verifier reads only the record, so the entry hash and the event catalogue
are restated here (``tests/tally/test_verify_audit.py`` holds them equal to
the server's). Line format: docs/record.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from crypto.canonical import canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.hashing import hash_bytes
from crypto.hexcodec import bytes_from_hex
from crypto.signing import VerifyKey
from tally.errors import VerificationFailure
from tally.record import ROOTS, Record
from tally.totals import UnitTotals

AUDIT_LOG: Final = "audit.jsonl"
AUDIT_DOMAIN: Final = "evote/audit-entry/v1"
AUDIT_FIELDS: Final = frozenset(
    {"position", "event_id", "at", "fields", "previous_hash", "entry_hash", "signature"}
)
AUDIT_EVENTS: Final = frozenset(
    {
        "election.created",
        "roll.imported",
        "card.revoked",
        "terminal.registered",
        "poll.opened",
        "poll.paused",
        "poll.resumed",
        "poll.closed",
        "poll.close_override",
        "poll.reopened",
        "report.reissued",
        "board.root",
    }
)
SUBTOTALS: Final = "encrypted_subtotals"


def audit_entry_hash(
    previous_hash: bytes, position: int, event_id: str, at: int, fields: Any
) -> bytes:
    """BLAKE2b over the previous hash, position, event id and canonical ``{at, fields}``."""
    return hash_bytes(
        AUDIT_DOMAIN,
        previous_hash,
        position,
        event_id,
        canonical_json({"at": at, "fields": fields}),
    )


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure("audit log", location, message, code=code)


def check_audit_log(record: Record, server_key: VerifyKey) -> list[dict[str, Any]]:
    """Every line chained to the one before, a catalogued event, signed by the server.

    Returns the entries, in order, for the checks that compare them with the
    rest of the record.
    """
    previous = bytes(32)
    entries: list[dict[str, Any]] = []
    for line, text in record.lines(AUDIT_LOG):
        location = f"{AUDIT_LOG}:{line}"
        try:
            entry = parse_json(text)
        except CryptoError as error:
            raise _fail(location, str(error), "malformed_audit_entry") from error
        if not isinstance(entry, dict) or set(entry) != AUDIT_FIELDS:
            raise _fail(
                location, f"expected exactly {sorted(AUDIT_FIELDS)}", "malformed_audit_entry"
            )
        position, event_id, at = entry["position"], entry["event_id"], entry["at"]
        if type(position) is not int or position != len(entries):
            raise _fail(location, f"position {position!r}, expected {len(entries)}", "bad_position")
        if event_id not in AUDIT_EVENTS:
            raise _fail(location, f"event {event_id!r} is not in the catalogue", "unknown_event")
        if type(at) is not int:
            raise _fail(location, "at must be an integer (unix seconds)", "malformed_audit_entry")
        if entry["previous_hash"] != previous.hex():
            raise _fail(
                location, "previous_hash does not link to the entry before it", "broken_chain"
            )
        digest = audit_entry_hash(previous, position, event_id, at, entry["fields"])
        if entry["entry_hash"] != digest.hex():
            raise _fail(location, "entry hash does not match", "bad_entry_hash")
        try:
            server_key.verify_bytes(digest, bytes_from_hex(entry["signature"], 64, "signature"))
        except CryptoError as error:
            raise _fail(location, str(error), error.code) from error
        previous = digest
        entries.append(entry)
    return entries


def check_audit_covers_record(record: Record, entries: Sequence[dict[str, Any]]) -> int:
    """Every national root and every poll report has its audit event.

    The chain and signatures cannot show a log cut short at its end (the
    remaining prefix is still a valid chain); but the last events of an
    election — polls closed, the closing root — are also facts published
    elsewhere in the record, so a cut log is missing them.
    """
    roots = {
        (e["fields"].get("tree_size"), e["fields"].get("root_hash"))
        for e in entries
        if e["event_id"] == "board.root" and isinstance(e["fields"], dict)
    }
    stations = {
        (e["event_id"], e["fields"].get("station_id"))
        for e in entries
        if isinstance(e["fields"], dict)
    }
    covered = 0
    for line, text in record.lines(ROOTS):
        payload = parse_json(text).get("payload", {})
        key = (payload.get("tree_size"), payload.get("root_hash"))
        if key not in roots:
            raise _fail(
                f"{ROOTS}:{line}",
                "no board.root event in the audit log",
                "audit_incomplete",
            )
        covered += 1
    for path in sorted(record.path("reports").glob("*.json")):
        station_id, _, kind = path.stem.rpartition("-")
        event = {"opening": "poll.opened", "closing": "poll.closed"}.get(kind)
        if event is not None and (event, station_id) not in stations:
            raise _fail(
                f"reports/{path.name}", f"no {event} event in the audit log", "audit_incomplete"
            )
        covered += 1
    return covered


def check_closing_subtotals(
    record: Record, stations: Sequence[UnitTotals], reported: Sequence[str], server_key: VerifyKey
) -> int:
    """Each closing report's encrypted subtotals equal the sum of its station's cast ballots."""
    by_station = {unit.unit_id: unit for unit in stations}
    for station_id in reported:
        relative = f"reports/{station_id}-closing.json"
        try:
            payload = record.read_envelope(relative).verify("poll-report", server_key)
        except CryptoError as error:
            raise VerificationFailure(
                "closing subtotals", relative, str(error), code=error.code
            ) from error
        expected = {
            contest_id: {key: value.to_json() for key, value in totals.ciphertexts.items()}
            for contest_id, totals in by_station[station_id].contests.items()
        }
        found = payload.get(SUBTOTALS) if isinstance(payload, dict) else None
        if found != expected:
            wrong = next(
                (
                    f"{contest_id}/{key}"
                    for contest_id, sums in expected.items()
                    for key in sums
                    if not isinstance(found, dict)
                    or not isinstance(found.get(contest_id), dict)
                    or found[contest_id].get(key) != sums[key]
                ),
                "a total not on the station's ballot",
            )
            detail = "missing" if found is None else f"{wrong} differs from the sum of the ballots"
            raise VerificationFailure(
                "closing subtotals", f"{relative}:{SUBTOTALS}", detail, code="subtotals_mismatch"
            )
    return len(reported)
