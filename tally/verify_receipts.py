"""Receipts (``board/receipts.jsonl``): exactly one server-signed receipt per cast ballot.

A receipt names the ballot by station and shard position and repeats what the
voter checks: the election, tracking code, station, terminal and sequence. It
must match the cast ballot there, be the only receipt for it, and carry an
integer ``received_at``; every cast ballot must have one, and the times never
decrease along a shard (the server stamps them while it holds the station's
shard: ``ReceiptOrder``).

There is one receipt per ballot, so this is national-scale work for the one
verifying process. The workers read the receipts file themselves, a segment
each, parse each receipt and check its signature and the JSON types of its
fields, and answer a tuple of what the matching needs (``receipt_claims``);
the parent only stores those rows (``EntryStore.
add_receipts``) and lets SQLite find the first receipt that does not match, in
one query over all of them (``EntryStore.first_unmatched_receipt``). That one
receipt is then read again and explained by the same rules in Python
(``_explain``), so the failure named — the earliest receipt, and why — is the
one a receipt-by-receipt pass names.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from crypto.signing import VerifyKey
from tally.cluster import Segment, file_segments, ordered_map, raw_lines
from tally.entry_checks import EntryCheck
from tally.entry_store import EntryStore, ReceiptRow, Received
from tally.errors import RecordError, VerificationFailure
from tally.record import RECEIPTS, Record, readable_line
from tally.verify_ballots import EntryFacts
from tally.verify_board import Shards, entry_failure, signed_envelope_payload

RECEIPT_BATCH: Final = 500
"""Receipts per task: a receipt costs a worker about 0.2 ms."""
SQLITE_INTEGERS: Final = range(-(2**63), 2**63)
"""The integers SQLite stores: what ``received_at`` (the server's clock in seconds) may
be; a larger position or sequence names no ballot."""
Claim: TypeAlias = tuple[
    int, str | None, int | None, str | None, str | None, int | None, int | None
]
"""A receipt whose signature holds, as the matching needs it: its line; its station
id and board position where they are a string and an integer; its tracking code,
terminal id and sequence where the election is this one and every field is of its
type (else None: it matches no ballot); its ``received_at`` if an integer in
``SQLITE_INTEGERS``."""


@dataclass(frozen=True)
class ReceiptClaims:
    """A task's answer for consecutive receipt lines: the claims up to the first
    line that cannot be read (too long, not UTF-8: ``record`` errors) or whose
    envelope or signature fails (``receipt``), and that failure as (check,
    location, message, code)."""

    claims: list[Claim]
    failure: tuple[str, str, str, str] | None


def receipt_claims(segment: Segment, context: tuple[str, str, str]) -> ReceiptClaims:
    """A worker's task (or the parent's, with no cluster): read a segment of the
    receipts, parse and check the signature of each, and reduce it to its claim."""
    path, election_id, key_hex = context
    key = VerifyKey.from_hex(key_hex)
    claims: list[Claim] = []
    for line, raw, newline in raw_lines(path, segment):
        location = f"{RECEIPTS}:{line}"
        try:
            text = readable_line(raw, newline, location)
            receipt = signed_envelope_payload(location, text, "receipt", key)
        except RecordError as error:
            return ReceiptClaims(claims, ("record", location, error.detail, error.code))
        except VerificationFailure as failure:
            return ReceiptClaims(claims, ("receipt", location, failure.detail, failure.code))
        claims.append(_claim(line, receipt, election_id))
    return ReceiptClaims(claims, None)


def _claim(line: int, receipt: dict[str, Any], election_id: str) -> Claim:
    station, position = receipt.get("station_id"), receipt.get("board_position")
    claimed = _claimed(receipt)
    typed = (
        receipt.get("election_id") == election_id
        and all(type(value) is str for value in claimed[:3])
        and type(claimed[3]) is int
        and claimed[3] in SQLITE_INTEGERS
    )
    at = receipt.get("received_at")
    return (
        line,
        station if type(station) is str else None,
        position if type(position) is int and position in SQLITE_INTEGERS else None,
        *((claimed[0], claimed[2], claimed[3]) if typed else (None, None, None)),
        at if type(at) is int and at in SQLITE_INTEGERS else None,
    )


def _claimed(receipt: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """What the receipt says of its ballot: tracking code, station, terminal, sequence."""
    return (
        receipt.get("tracking_code"),
        receipt.get("station_id"),
        receipt.get("terminal_id"),
        receipt.get("sequence"),
    )


def _claims(
    record: Record, server_key: VerifyKey, election_id: str, client: Any
) -> Iterator[ReceiptClaims]:
    """Every receipt's claims, a segment at a time in file order: on the cluster
    when there is one, where the workers cut and read the file themselves."""
    record.size(RECEIPTS)  # a missing or unreadable file fails here, by name
    path = record.path(RECEIPTS)
    segments = file_segments(client, path, RECEIPT_BATCH, by_station=False)
    context = (str(path), election_id, server_key.hex())
    if client is None:
        return (receipt_claims(segment, context) for segment in segments)
    return ordered_map(client, receipt_claims, segments, context)


def match_receipts(
    record: Record,
    store: EntryStore,
    shards: Shards,
    server_key: VerifyKey,
    election_id: str,
    client: Any = None,
) -> int:
    """At most one receipt per cast ballot, each matching its entry (``ReceiptOrder``
    then finds a cast ballot without one); the times go to the store for the checks
    that read the entries with them (``EntryStore.with_received``). Answers how many
    receipts there are."""
    failure: tuple[str, str, str, str] | None = None
    for batch in _claims(record, server_key, election_id, client):
        store.add_receipts(_rows(shards, batch.claims))
        if batch.failure is not None:
            failure = batch.failure
            break
    # The receipts before an unreadable or badly signed line are matched first: the
    # earliest failure is named.
    unmatched = store.first_unmatched_receipt()
    if unmatched is not None:
        raise _explain(record, store, shards, server_key, unmatched, election_id)
    if failure is not None:
        check, location, message, code = failure
        if check == "record":
            raise RecordError(message, location=location, code=code)
        raise VerificationFailure(check, location, message, code=code)
    return store.receipts


def _rows(shards: Shards, claims: list[Claim]) -> list[ReceiptRow]:
    """Each claim with the board line it names, if the station has that position."""
    line = shards.line
    return [
        (
            number,
            None if station is None or at is None else line(station, at),
            code,
            terminal,
            sequence,
            time,
        )
        for number, station, at, code, terminal, sequence, time in claims
    ]


def _explain(
    record: Record,
    store: EntryStore,
    shards: Shards,
    server_key: VerifyKey,
    number: int,
    election_id: str,
) -> VerificationFailure:
    """Why the receipt at line ``number`` does not match, by the rules one receipt at
    a time: read again (only the failing one), its ballot looked up by line."""
    text = next(text for line, text in record.lines(RECEIPTS) if line == number)
    location = f"{RECEIPTS}:{number}"
    receipt = signed_envelope_payload(location, text, "receipt", server_key)
    station, at = receipt.get("station_id"), receipt.get("board_position")
    line = shards.line(station, at) if type(station) is str and type(at) is int else None
    item = None if line is None else store.at_line(line)
    position = f"{station}/{at}"
    if item is None or item.kind != "ballot":
        message, code = f"no cast ballot at position {position}", "receipt_without_ballot"
    elif not _matches(receipt, item, election_id):
        message, code = f"does not match the ballot at position {position}", "receipt_mismatch"
    elif store.receipted_before(item.line, number):
        message, code = f"second receipt for position {position}", "duplicate_receipt"
    elif type(receipt.get("received_at")) is not int:
        message, code = "received_at is not an integer", "receipt_mismatch"
    else:
        message, code = "received_at is out of range", "receipt_mismatch"
    return VerificationFailure("receipts", location, message, code=code)


def _matches(receipt: dict[str, Any], item: EntryFacts, election_id: str) -> bool:
    """The receipt names this ballot, each field of its JSON type: ``true`` or ``4.0``
    equal an integer in Python, not in JSON."""
    claimed = (receipt.get("election_id"), *_claimed(receipt))
    actual = (election_id, item.tracking_code, item.station_id, item.terminal_id, item.sequence)
    return claimed == actual and type(claimed[4]) is int


class ReceiptOrder(EntryCheck[Received, int]):
    """Every cast ballot has its receipt, and the times never decrease along a
    shard: the server stamps ``received_at`` while it holds the station's shard.
    Answers how many receipts ``match_receipts`` matched."""

    def __init__(self, receipts: int) -> None:
        self.receipts = receipts
        self._latest: dict[str, tuple[int, int]] = {}

    def feed(self, item: Received) -> None:
        entry, at = item
        if entry.kind != "ballot":
            return
        if at is None:
            raise entry_failure(
                "receipts", entry, "cast ballot without a receipt", "missing_receipt"
            )
        before, before_position = self._latest.get(entry.station_id, (0, -1))
        if at < before:
            raise entry_failure(
                "receipts",
                entry,
                f"received at {at}, before the ballot at position "
                f"{entry.station_id}/{before_position} ({before})",
                "time_reversed",
            )
        self._latest[entry.station_id] = (at, entry.position)

    def finish(self) -> int:
        return self.receipts
