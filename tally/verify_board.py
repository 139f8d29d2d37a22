"""Checks over the whole board, on the facts the ballot workers returned.

These need every entry (shard and terminal chains, uniqueness, poll reports)
but no group operations, so they run in the parent process: those that walk
the entries in line order with state per station or terminal as
``EntryCheck``s fed one entry at a time (``entry_checks.py``), the others
reading the facts back from the ``EntryStore`` they were spilled to, by line
or through an index, never all held at once. The receipts are checked in
``verify_receipts.py``, the national roots over the shards in
``verify_roots.py``. Each raises VerificationFailure naming the file and line
of the first problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.canonical import parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from tally.entry_checks import EntryCheck
from tally.entry_store import EntryStore, Received
from tally.errors import VerificationFailure
from tally.record import ENTRIES, Record
from tally.repeats import RepeatFinder
from tally.verify_ballots import EntryFacts

_ZERO_HASH = bytes(32).hex()
REPORT_NAMES = {"opening": "zero", "closing": "closing"}
"""File name part → the payload's ``report`` field (the opening report is the zero report)."""
_GENESIS = GENESIS_TRACKING_CODE.hex()


def _fail(check: str, location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(check, location, message, code=code)


def entry_failure(check: str, item: EntryFacts, message: str, code: str) -> VerificationFailure:
    """A failure at a board entry, naming the tracking code its voter holds."""
    return _fail(
        check, f"{ENTRIES}:{item.line}", f"{message} (tracking code {item.tracking_code})", code
    )


def same(left: Any, right: Any) -> bool:
    """Equal and of one JSON type: ``true`` is not ``1``, although Python says so."""
    return type(left) is type(right) and left == right


@dataclass
class Shards:
    """Where each station's shard lies on the board, once its chain is checked: a run
    of lines from its first, one per position. Finds an entry by (station, position)
    with no index of the entries."""

    first_lines: dict[str, int] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)

    def line(self, station_id: str, position: int) -> int | None:
        """The board line of the station's entry at ``position``, None if it has none."""
        if not 0 <= position < self.lengths.get(station_id, 0):
            return None
        return self.first_lines[station_id] + position

    def lines(self, station_id: str) -> tuple[int, int] | None:
        """The first and last board lines of the station's shard, None if it has none."""
        last = self.line(station_id, self.lengths.get(station_id, 0) - 1)
        return None if last is None else (self.first_lines[station_id], last)


class ShardChains(EntryCheck[EntryFacts, Shards]):
    """Stations' shards one after another in order of station id; within each,
    positions 0..n-1, each entry linked to the previous one's hash.

    Answers where each shard lies, for the roots and the receipts.
    """

    def __init__(self) -> None:
        self.shards = Shards()
        self._station, self._previous, self._expected_position = "", _ZERO_HASH, 0

    def feed(self, item: EntryFacts) -> None:
        location = f"{ENTRIES}:{item.line}"
        if item.station_id != self._station:
            if item.station_id < self._station:
                raise _fail(
                    "board shards",
                    location,
                    f"station {item.station_id} after {self._station}: shards out of order"
                    " or split",
                    "bad_shard_order",
                )
            self._station, self._previous, self._expected_position = (
                item.station_id,
                _ZERO_HASH,
                0,
            )
            self.shards.first_lines[self._station] = item.line
        station = self._station
        if item.position != self._expected_position:
            raise _fail(
                "board shards",
                location,
                f"station {station}: position {item.position}, expected "
                f"{self._expected_position} (an entry missing from the shard?) "
                f"(tracking code {item.tracking_code})",
                "bad_position",
            )
        if item.previous_hash != self._previous:
            raise _fail(
                "board shards",
                location,
                f"station {station}: previous_hash does not link to the entry before it"
                f" (tracking code {item.tracking_code})",
                "broken_chain",
            )
        self._previous, self._expected_position = item.entry_hash, self._expected_position + 1
        self.shards.lengths[station] = self._expected_position

    def finish(self) -> Shards:
        return self.shards


class TerminalChains(EntryCheck[EntryFacts, dict[str, EntryFacts]]):
    """Per terminal: sequences 1, 2, 3… and each tracking code chained to the one before.

    Answers each terminal's last entry (its chain head) for the closing reports.
    """

    def __init__(self) -> None:
        self.heads: dict[str, EntryFacts] = {}

    def feed(self, item: EntryFacts) -> None:
        head = self.heads.get(item.terminal_id)
        expected_sequence = head.sequence + 1 if head else 1
        expected_previous = head.tracking_code if head else _GENESIS
        if item.sequence != expected_sequence:
            raise entry_failure(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: sequence "
                f"{item.sequence}, expected {expected_sequence}",
                "bad_sequence",
            )
        if item.previous_tracking_code != expected_previous:
            raise entry_failure(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: previous tracking code does not continue the chain",
                "broken_tracking_chain",
            )
        if head and item.timestamp < head.timestamp:
            raise entry_failure(
                "terminal chains",
                item,
                f"terminal {item.terminal_id}: signed at {item.timestamp}, before its "
                f"previous ballot ({head.timestamp})",
                "time_reversed",
            )
        self.heads[item.terminal_id] = item

    def finish(self) -> dict[str, EntryFacts]:
        return self.heads


def check_authorizations(store: EntryStore) -> int:
    """At most one cast ballot per authorization (challenged ones may share it).

    Reads the cast ballots by authorization id (an index on disk, not a set in
    memory); the failure names the earliest line that reuses an authorization
    and the line that used it first, as a pass in line order would.
    """
    reuse: tuple[int, str, int] | None = None
    authorizations, current, first_line, repeated = 0, None, 0, False
    for authorization_id, line in store.cast_authorizations():
        if authorization_id != current:
            authorizations += 1
            current, first_line, repeated = authorization_id, line, False
        elif not repeated:
            repeated = True
            if reuse is None or line < reuse[0]:
                reuse = (line, authorization_id, first_line)
    if reuse is not None:
        line, authorization_id, first_line = reuse
        raise entry_failure(
            "one ballot per authorization",
            store.at_line(line),
            f"authorization {authorization_id} already used at line {first_line}",
            "authorization_reused",
        )
    return authorizations


def check_unique_ciphertexts(store: EntryStore, alphas: RepeatFinder) -> int:
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
    item = store.at_line(line)
    if first == line:
        raise entry_failure(
            "unique ciphertexts",
            item,
            "one ciphertext alpha appears twice in this ballot",
            "copied_ciphertext",
        )
    raise entry_failure(
        "unique ciphertexts",
        item,
        f"ciphertext alpha {alpha.hex()[:16]}… already appears at line {first}",
        "copied_ciphertext",
    )


def signed_envelope_payload(location: str, text: str, kind: str, key: VerifyKey) -> dict[str, Any]:
    """The payload of one line's envelope, signature checked."""
    try:
        payload = SignedEnvelope.from_json(parse_json(text)).verify(kind, key)
    except CryptoError as error:
        raise _fail(kind, location, str(error), error.code) from error
    if not isinstance(payload, dict):
        raise _fail(kind, location, "payload is not an object", "malformed_envelope")
    return payload


def signed_lines(
    record: Record, relative: str, kind: str, key: VerifyKey
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, payload) of every line of a signed JSON-lines file, in order."""
    for line, text in record.lines(relative):
        location = f"{relative}:{line}"
        yield location, signed_envelope_payload(location, text, kind, key)


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


class PollReports(EntryCheck[Received, int]):
    """Ballots only while polls were open: after the opening, up to the closing report.

    Times are the server's (one clock): a station closes no earlier than it
    opened, and none of its ballots was received before it opened. (A
    ballot may carry a later second than the close: the close reads the
    clock before it waits for the station's lock; its counts are still checked.)
    The reports are checked when the check is set up, against the terminals'
    chain ``heads``; then it is fed every entry with its receipt's time, if any.
    """

    def __init__(
        self,
        record: Record,
        stations: Sequence[str],
        heads: dict[str, EntryFacts],
        server_key: VerifyKey,
    ) -> None:
        self.stations = len(stations)
        self.floors: dict[str, int] = {}
        self.opened_at: dict[str, int] = {}
        posted: dict[str, set[str]] = {}
        for terminal_id, last_entry in heads.items():
            posted.setdefault(last_entry.station_id, set()).add(terminal_id)
        for station_id in stations:
            terminals = posted.get(station_id, set())
            self._check_station(record, station_id, terminals, heads, server_key)

    def _check_station(
        self,
        record: Record,
        station_id: str,
        terminals: set[str],
        heads: dict[str, EntryFacts],
        server_key: VerifyKey,
    ) -> None:
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
        self.opened_at[station_id] = opening["at"]
        opening_terminals = _reported_terminals(opening, f"reports/{station_id}-opening.json")
        for terminal_id, item in opening_terminals.items():
            self.floors[terminal_id] = item["last_sequence"]
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

    def feed(self, item: Received) -> None:
        entry, at = item
        if entry.sequence <= self.floors.get(entry.terminal_id, 0):
            raise entry_failure(
                "poll reports", entry, "ballot from before the polls opened", "before_opening"
            )
        if at is not None and at < self.opened_at[entry.station_id]:
            raise entry_failure(
                "poll reports",
                entry,
                f"received at {at}, before its station opened at "
                f"{self.opened_at[entry.station_id]}",
                "before_opening",
            )

    def finish(self) -> int:
        return 2 * self.stations
