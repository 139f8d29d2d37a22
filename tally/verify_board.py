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
from tally.repeats import RepeatFinder
from tally.verify_ballots import EntryFacts

_ZERO_HASH = bytes(32).hex()
REPORT_NAMES = {"opening": "zero", "closing": "closing"}
"""File name part → the payload's ``report`` field (the opening report is the zero report)."""
_GENESIS = GENESIS_TRACKING_CODE.hex()


def _fail(check: str, location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(check, location, message, code=code)


def _entry_fail(check: str, item: EntryFacts, message: str, code: str) -> VerificationFailure:
    """A failure at a board entry, naming the tracking code its voter holds."""
    return _fail(
        check, f"{ENTRIES}:{item.line}", f"{message} (tracking code {item.tracking_code})", code
    )


def same(left: Any, right: Any) -> bool:
    """Equal and of one JSON type: ``true`` is not ``1``, although Python says so."""
    return type(left) is type(right) and left == right


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
                f" (an entry missing from the shard?) (tracking code {item.tracking_code})",
                "bad_position",
            )
        if item.previous_hash != previous:
            raise _fail(
                "board shards",
                location,
                f"station {station}: previous_hash does not link to the entry before it"
                f" (tracking code {item.tracking_code})",
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
        if item.sequence != expected_sequence:
            raise _entry_fail(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: sequence "
                f"{item.sequence}, expected {expected_sequence}",
                "bad_sequence",
            )
        if item.previous_tracking_code != expected_previous:
            raise _entry_fail(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: previous tracking code does not continue the chain",
                "broken_tracking_chain",
            )
        if head and item.timestamp < head.timestamp:
            raise _entry_fail(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: signed at {item.timestamp}, before its "
                f"previous ballot ({head.timestamp})",
                "time_reversed",
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
            raise _entry_fail(
                "one ballot per authorization",
                item,
                f"authorization {item.authorization_id} already used at line "
                f"{seen[item.authorization_id]}",
                "authorization_reused",
            )
        seen[item.authorization_id] = item.line
    return len(seen)


def check_unique_ciphertexts(facts: Sequence[EntryFacts], alphas: RepeatFinder) -> int:
    """No ciphertext alpha twice on the board, cast or challenged.

    An honest terminal draws a fresh nonce for every ciphertext, so a repeated
    alpha means a contest copied from another ballot: its proofs still verify
    (they are bound to the election, not to the ballot), and whoever cast the
    copy learns the victim's vote from how the tally moves. ``alphas`` holds
    every entry's alphas by line, spilled to disk (the check's memory stays flat).
    """
    found = alphas.first_repeat()
    if found is None:
        return alphas.count
    alpha, first, line = found
    item = facts[line - 1]
    if first == line:
        raise _entry_fail(
            "unique ciphertexts",
            item,
            "one ciphertext alpha appears twice in this ballot",
            "copied_ciphertext",
        )
    raise _entry_fail(
        "unique ciphertexts",
        item,
        f"ciphertext alpha {alpha.hex()[:16]}… already appears at line {first}",
        "copied_ciphertext",
    )


def signed_lines(
    record: Record, relative: str, kind: str, key: VerifyKey
) -> Iterator[tuple[str, Any]]:
    for line, text in record.lines(relative):
        location = f"{relative}:{line}"
        try:
            payload = SignedEnvelope.from_json(parse_json(text)).verify(kind, key)
        except CryptoError as error:
            raise _fail(kind, location, str(error), error.code) from error
        if not isinstance(payload, dict):
            raise _fail(kind, location, "payload is not an object", "malformed_envelope")
        yield location, payload


def check_receipts(
    record: Record,
    entries: dict[tuple[str, int], EntryFacts],
    server_key: VerifyKey,
    election_id: str,
) -> dict[tuple[str, int], int]:
    """Exactly one server-signed receipt per cast ballot, matching its entry.

    The server stamps ``received_at`` while it holds the station's shard, so
    the times never decrease along a shard. Returns each cast entry's
    ``received_at`` by (station, position) for the poll-report checks.
    """
    received: dict[tuple[str, int], int] = {}
    for location, receipt in signed_lines(record, RECEIPTS, "receipt", server_key):
        station, at = receipt.get("station_id"), receipt.get("board_position")
        position = f"{station}/{at}"
        valid = type(station) is str and type(at) is int
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
        if not all(same(mine, theirs) for mine, theirs in zip(actual, claimed, strict=True)):
            raise _fail(
                "receipts",
                location,
                f"does not match the ballot at position {position}",
                "receipt_mismatch",
            )
        key = (item.station_id, item.position)
        if key in received:
            raise _fail(
                "receipts", location, f"second receipt for position {position}", "duplicate_receipt"
            )
        received_at = receipt.get("received_at")
        if type(received_at) is not int:
            raise _fail("receipts", location, "received_at is not an integer", "receipt_mismatch")
        received[key] = received_at
    latest: dict[str, tuple[int, int]] = {}
    for item in entries.values():
        if item.kind != "ballot":
            continue
        key = (item.station_id, item.position)
        if key not in received:
            raise _entry_fail("receipts", item, "cast ballot without a receipt", "missing_receipt")
        before, before_position = latest.get(item.station_id, (0, -1))
        if received[key] < before:
            raise _entry_fail(
                "receipts",
                item,
                f"received at {received[key]}, before the ballot at position "
                f"{item.station_id}/{before_position} ({before})",
                "time_reversed",
            )
        latest[item.station_id] = (received[key], item.position)
    return received


def signed_report(
    record: Record, station_id: str, which: str, server_key: VerifyKey
) -> dict[str, Any]:
    """A station's opening or closing report, signed by the server, of that station."""
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
    if type(payload.get("at")) is not int:
        raise _fail("poll reports", f"{relative}:at", "not an integer", "bad_report")
    return payload


def _reported_terminals(payload: dict[str, Any], relative: str) -> dict[str, dict[str, Any]]:
    """The report's per-terminal lines by terminal id, each with an id, a count and a head."""
    listed = payload.get("terminals")
    if not isinstance(listed, list):
        raise _fail("poll reports", f"{relative}:terminals", "expected a list", "bad_report")
    terminals: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(listed):
        if (
            not isinstance(item, dict)
            or type(item.get("terminal_id")) is not str
            or type(item.get("last_sequence")) is not int
            or type(item.get("chain_head")) is not str
            or item["terminal_id"] in terminals
        ):
            raise _fail(
                "poll reports",
                f"{relative}:terminals[{index}]",
                "expected a new terminal_id, an integer last_sequence and a chain_head",
                "bad_report",
            )
        terminals[item["terminal_id"]] = item
    return terminals


def check_poll_reports(
    record: Record,
    stations: Sequence[str],
    heads: dict[str, EntryFacts],
    server_key: VerifyKey,
    facts: Sequence[EntryFacts],
    received: dict[tuple[str, int], int],
) -> int:
    """Ballots only while polls were open: after the opening, up to the closing report.

    Times are the server's (one clock): a station closes no earlier than it
    opened, and none of its ballots was received before it opened. (A
    ballot may carry a later second than the close: the close reads the
    clock before it waits for the station's lock; its counts are still checked.)
    """
    floors: dict[str, int] = {}
    opened_at: dict[str, int] = {}
    for station_id in stations:
        terminals = {t for t, head in heads.items() if head.station_id == station_id}
        opening = signed_report(record, station_id, "opening", server_key)
        closing = signed_report(record, station_id, "closing", server_key)
        location = f"reports/{station_id}-closing.json"
        if closing["at"] < opening["at"]:
            raise _fail(
                "poll reports",
                f"{location}:at",
                f"closed at {closing['at']}, before it opened at {opening['at']}",
                "time_reversed",
            )
        opened_at[station_id] = opening["at"]
        opening_terminals = _reported_terminals(opening, f"reports/{station_id}-opening.json")
        for terminal_id, item in opening_terminals.items():
            floors[terminal_id] = item["last_sequence"]
        closed = _reported_terminals(closing, location)
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
            if item["last_sequence"] != last or item["chain_head"] != chain_head:
                raise _fail(
                    "poll reports",
                    location,
                    f"terminal {terminal_id}: closing report says sequence "
                    f"{item['last_sequence']}, the board has {last} (or chain heads differ)",
                    "closing_mismatch",
                )
    for entry in facts:
        if entry.sequence <= floors.get(entry.terminal_id, 0):
            raise _entry_fail(
                "poll reports", entry, "ballot from before the polls opened", "before_opening"
            )
        at = received.get((entry.station_id, entry.position))
        if at is not None and at < opened_at[entry.station_id]:
            raise _entry_fail(
                "poll reports",
                entry,
                f"received at {at}, before its station opened at {opened_at[entry.station_id]}",
                "before_opening",
            )
    return 2 * len(stations)
