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
from evote.record_layout import AUDIT_LOG as AUDIT_LOG
from tally.errors import VerificationFailure
from tally.record import ROOTS, Record
from tally.totals import UnitTotals
from tally.verify_election import TerminalKey

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
        "terminal.revoked",
        "authorization.voided_for_revoked",
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
REPORT_OF_EVENT: Final = {"poll.opened": "opening", "poll.closed": "closing"}
ANNOUNCING: Final = frozenset(
    {"board.root", "terminal.registered", "election.created", *REPORT_OF_EVENT}
)
"""Events that announce something published elsewhere in the record."""


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
        if not isinstance(event_id, str) or event_id not in AUDIT_EVENTS:
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


def _fields(entry: dict[str, Any], location: str) -> dict[str, Any]:
    fields = entry["fields"]
    if not isinstance(fields, dict):
        raise _fail(location, "fields is not an object", "malformed_audit_entry")
    return fields


def event_key(fields: dict[str, Any], *names: str) -> bytes:
    """What an event and the item it announces must agree on, as comparable bytes."""
    return canonical_json([fields.get(name) for name in names])


def one_to_one(announced: dict[bytes, str], published: dict[bytes, str], what: str) -> None:
    """Each event has its published item and each published item its event.

    ``announced`` maps a key to the audit line that announced it,
    ``published`` the same key to the file (and line) that publishes it.
    """
    for key, location in published.items():
        if key not in announced:
            raise _fail(location, f"no audit event announces this {what}", "audit_incomplete")
    for key, location in announced.items():
        if key not in published:
            message = f"the {what} this event announces is not in the record"
            raise _fail(location, message, "record_incomplete")


def check_audit_matches_record(
    record: Record,
    entries: Sequence[dict[str, Any]],
    terminals: Sequence[TerminalKey],
) -> int:
    """Audit events and what they announce, in both directions.

    The chain and signatures cannot show a log cut short at its end (the
    remaining prefix is still a valid chain), nor a file removed from the
    record beside an intact log: so every national root, poll report and
    registered terminal must have its event, and every such event its
    line in ``board/roots.jsonl``, report file and ``election.json`` terminal —
    with the same tree size and root hash, station, or key. The election itself is created
    once, from this manifest.
    """
    roots: dict[bytes, str] = {}
    reports: dict[bytes, str] = {}
    registrations: dict[bytes, str] = {}
    created: list[str] = []
    for entry in entries:
        location = f"{AUDIT_LOG}:{entry['position'] + 1}"
        event_id = entry["event_id"]
        if event_id not in ANNOUNCING:
            continue
        fields = _fields(entry, location)
        if event_id == "board.root":
            roots.setdefault(event_key(fields, "tree_size", "root_hash"), location)
        elif event_id in REPORT_OF_EVENT:
            report = {"which": REPORT_OF_EVENT[event_id], **fields}
            reports.setdefault(event_key(report, "which", "station_id"), location)
        elif event_id == "terminal.registered":
            key = event_key(fields, "terminal_id", "station_id", "public_key")
            if key in registrations:
                raise _fail(location, "terminal registered twice", "duplicate_registration")
            registrations[key] = location
        elif fields.get("manifest_hash") != record.election.get("manifest_hash") or created:
            raise _fail(location, "a second election, or another manifest", "bad_election_event")
        else:
            created.append(location)
    if not created:
        raise _fail(AUDIT_LOG, "no election.created event", "audit_incomplete")
    published_roots: dict[bytes, str] = {}
    for line, text in record.lines(ROOTS):
        location = f"{ROOTS}:{line}"
        try:
            payload = parse_json(text)["payload"]
            key = event_key(payload, "tree_size", "root_hash")
        except (CryptoError, KeyError, TypeError, AttributeError) as error:
            raise _fail(location, f"not a national root ({error})", "malformed_root") from error
        published_roots[key] = location
    one_to_one(roots, published_roots, "national root")
    published_reports: dict[bytes, str] = {}
    for path in sorted(record.path("reports").glob("*.json")):
        station_id, _, which = path.stem.rpartition("-")
        key = event_key({"which": which, "station_id": station_id}, "which", "station_id")
        published_reports[key] = f"reports/{path.name}"
    one_to_one(reports, published_reports, "poll report")
    published_terminals = {
        event_key(t.to_json(), "terminal_id", "station_id", "public_key"): (
            f"election.json:terminals[{index}]"
        )
        for index, t in enumerate(terminals)
    }
    one_to_one(registrations, published_terminals, "terminal registration")
    return len(published_roots) + len(published_reports) + len(published_terminals) + 1


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
