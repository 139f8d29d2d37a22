"""Sequential checks over the whole board, on the facts the ballot workers returned.

These need every entry at once (shard chains, uniqueness, receipts, poll
reports) but no group operations, so they run in the parent process; the
national roots over the shards are checked in ``verify_roots.py``.
Each raises VerificationFailure naming the file and line of the first problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.canonical import parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from tally.errors import VerificationFailure
from tally.record import ENTRIES, RECEIPTS, Record
from tally.verify_ballots import EntryFacts

_ZERO_HASH = bytes(32).hex()
REPORT_NAMES = {"opening": "zero", "closing": "closing"}
"""File name part → the payload's ``report`` field (the opening report is the zero report)."""
_GENESIS = GENESIS_TRACKING_CODE.hex()


def _fail(check: str, location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(check, location, message, code=code)


def check_shard_chains(facts: Sequence[EntryFacts]) -> dict[tuple[str, int], EntryFacts]:
    """Stations' shards one after another in order of station id; within each,
    positions 0..n-1, each entry linked to the previous one's hash.

    Returns every entry by (station, position), for the roots and the receipts.
    """
    by_position: dict[tuple[str, int], EntryFacts] = {}
    station, previous, expected_position = "", _ZERO_HASH, 0
    for item in facts:
        location = f"{ENTRIES}:{item.line}"
        if item.station_id != station:
            if item.station_id < station:
                raise _fail(
                    "board shards",
                    location,
                    f"station {item.station_id} after {station}: shards out of order or split",
                    "bad_shard_order",
                )
            station, previous, expected_position = item.station_id, _ZERO_HASH, 0
        if item.position != expected_position:
            raise _fail(
                "board shards",
                location,
                f"station {station}: position {item.position}, expected {expected_position}"
                " (an entry missing from the shard?)",
                "bad_position",
            )
        if item.previous_hash != previous:
            raise _fail(
                "board shards",
                location,
                f"station {station}: previous_hash does not link to the entry before it",
                "broken_chain",
            )
        by_position[(station, item.position)] = item
        previous, expected_position = item.entry_hash, expected_position + 1
    return by_position


def check_terminal_chains(facts: Sequence[EntryFacts]) -> dict[str, EntryFacts]:
    """Per terminal: sequences 1, 2, 3… and each tracking code chained to the one before.

    Returns each terminal's last entry (its chain head) for the closing reports.
    """
    heads: dict[str, EntryFacts] = {}
    for item in facts:
        head = heads.get(item.terminal_id)
        expected_sequence = head.sequence + 1 if head else 1
        expected_previous = head.tracking_code if head else _GENESIS
        location = f"{ENTRIES}:{item.line}"
        if item.sequence != expected_sequence:
            raise _fail(
                "terminal chains",
                location,
                f"terminal {item.terminal_id}: sequence "
                f"{item.sequence}, expected {expected_sequence}",
                "bad_sequence",
            )
        if item.previous_tracking_code != expected_previous:
            raise _fail(
                "terminal chains",
                location,
                f"terminal {item.terminal_id}: previous tracking code does not continue the chain",
                "broken_tracking_chain",
            )
        heads[item.terminal_id] = item
    return heads


def check_authorizations(facts: Sequence[EntryFacts]) -> int:
    """At most one cast ballot per authorization (challenged ones may share it)."""
    seen: dict[str, int] = {}
    for item in facts:
        if item.kind != "ballot":
            continue
        if item.authorization_id in seen:
            raise _fail(
                "one ballot per authorization",
                f"{ENTRIES}:{item.line}",
                f"authorization {item.authorization_id} already used at line "
                f"{seen[item.authorization_id]}",
                "authorization_reused",
            )
        seen[item.authorization_id] = item.line
    return len(seen)


def check_unique_ciphertexts(facts: Sequence[EntryFacts]) -> int:
    """No ciphertext alpha twice on the board, cast or challenged.

    An honest terminal draws a fresh nonce for every ciphertext, so a repeated
    alpha means a contest copied from another ballot: its proofs still verify
    (they are bound to the election, not to the ballot), and whoever cast the
    copy learns the victim's vote from how the tally moves.
    """
    seen: dict[bytes, int] = {}
    for item in facts:
        if len(set(item.alphas)) != len(item.alphas):
            raise _fail(
                "unique ciphertexts",
                f"{ENTRIES}:{item.line}",
                "one ciphertext alpha appears twice in this ballot",
                "copied_ciphertext",
            )
        for alpha in item.alphas:
            first = seen.setdefault(alpha, item.line)
            if first != item.line:
                raise _fail(
                    "unique ciphertexts",
                    f"{ENTRIES}:{item.line}",
                    f"ciphertext alpha {alpha.hex()[:16]}… already appears at line {first}",
                    "copied_ciphertext",
                )
    return len(seen)


def signed_lines(
    record: Record, relative: str, kind: str, key: VerifyKey
) -> Iterator[tuple[str, Any]]:
    for line, text in record.lines(relative):
        location = f"{relative}:{line}"
        try:
            yield location, SignedEnvelope.from_json(parse_json(text)).verify(kind, key)
        except CryptoError as error:
            raise _fail(kind, location, str(error), error.code) from error


def check_receipts(
    record: Record,
    entries: dict[tuple[str, int], EntryFacts],
    server_key: VerifyKey,
    election_id: str,
) -> int:
    """Exactly one server-signed receipt per cast ballot, matching its entry."""
    covered: set[tuple[str, int]] = set()
    for location, receipt in signed_lines(record, RECEIPTS, "receipt", server_key):
        station, at = receipt.get("station_id"), receipt.get("board_position")
        position = f"{station}/{at}"
        valid = isinstance(station, str) and isinstance(at, int)
        item = entries.get((station, at)) if valid else None
        if item is None or item.kind != "ballot":
            raise _fail(
                "receipts",
                location,
                f"no cast ballot at position {position}",
                "receipt_without_ballot",
            )
        claimed = (
            receipt.get("election_id"),
            receipt.get("tracking_code"),
            receipt.get("station_id"),
            receipt.get("terminal_id"),
            receipt.get("sequence"),
        )
        actual = (election_id, item.tracking_code, item.station_id, item.terminal_id, item.sequence)
        if claimed != actual:
            raise _fail(
                "receipts",
                location,
                f"does not match the ballot at position {position}",
                "receipt_mismatch",
            )
        if (item.station_id, item.position) in covered:
            raise _fail(
                "receipts", location, f"second receipt for position {position}", "duplicate_receipt"
            )
        covered.add((item.station_id, item.position))
    for item in entries.values():
        if item.kind == "ballot" and (item.station_id, item.position) not in covered:
            raise _fail(
                "receipts",
                f"{ENTRIES}:{item.line}",
                "cast ballot without a receipt",
                "missing_receipt",
            )
    return len(covered)


def _report(record: Record, station_id: str, which: str, server_key: VerifyKey) -> dict[str, Any]:
    relative = f"reports/{station_id}-{which}.json"
    envelope = record.read_envelope(relative)
    try:
        payload = envelope.verify("poll-report", server_key)
    except CryptoError as error:
        raise _fail("poll reports", relative, str(error), error.code) from error
    if (
        not isinstance(payload, dict)
        or payload.get("report") != REPORT_NAMES[which]
        or payload.get("station_id") != station_id
    ):
        raise _fail(
            "poll reports", relative, f"not the {which} report of {station_id}", "bad_report"
        )
    return payload


def check_poll_reports(
    record: Record,
    stations: Sequence[str],
    heads: dict[str, EntryFacts],
    server_key: VerifyKey,
    facts: Sequence[EntryFacts],
) -> int:
    """Ballots only while polls were open: after the opening, up to the closing report."""
    floors: dict[str, int] = {}
    for station_id in stations:
        terminals = {t for t, head in heads.items() if head.station_id == station_id}
        opening = _report(record, station_id, "opening", server_key)
        closing = _report(record, station_id, "closing", server_key)
        for item in opening.get("terminals", []):
            floors[item["terminal_id"]] = item.get("last_sequence", 0)
        closed = {item["terminal_id"]: item for item in closing.get("terminals", [])}
        location = f"reports/{station_id}-closing.json"
        for terminal_id in sorted(terminals - set(closed)):
            raise _fail(
                "poll reports",
                location,
                f"terminal {terminal_id} posted ballots but is not in the closing report",
                "terminal_not_closed",
            )
        for terminal_id, item in closed.items():
            head = heads.get(terminal_id)
            last, chain_head = (head.sequence, head.tracking_code) if head else (0, _GENESIS)
            if item.get("last_sequence") != last or item.get("chain_head") != chain_head:
                raise _fail(
                    "poll reports",
                    location,
                    f"terminal {terminal_id}: closing report says sequence "
                    f"{item.get('last_sequence')}, the board has {last} (or chain heads differ)",
                    "closing_mismatch",
                )
    for item in facts:
        if item.sequence <= floors.get(item.terminal_id, 0):
            raise _fail(
                "poll reports",
                f"{ENTRIES}:{item.line}",
                "ballot from before the polls opened",
                "before_opening",
            )
    return 2 * len(stations)
