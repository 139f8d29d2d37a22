"""Receipts matched in SQLite name the same failure as the rules applied one receipt
at a time, in file order (``tally/verify_receipts.py``): whatever a receipt gets
wrong, and wherever a badly signed one stops the reading."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.canonical import canonical_json
from crypto.signing import SigningKey
from tally.entry_store import EntryStore
from tally.errors import VerificationFailure
from tally.record import RECEIPTS, Record
from tally.verify_ballots import EntryFacts
from tally.verify_board import ShardChains, Shards
from tally.verify_receipts import SQLITE_INTEGERS, match_receipts

ELECTION = "majlis-12"
SERVER = SigningKey.generate(bytes(range(32)))
KINDS = ["ballot", "ballot", "challenged", "ballot", "ballot", "ballot", "challenged", "ballot"]


def _board() -> list[EntryFacts]:
    """Two stations' shards, a terminal each, some ballots challenged."""
    facts, previous = [], ""
    for line, kind in enumerate(KINDS, start=1):
        station = "S-001" if line <= 4 else "S-002"
        position = line - 1 if line <= 4 else line - 5
        previous = f"{0:064x}" if position == 0 else f"{line - 1:064x}"
        facts.append(
            EntryFacts(
                line=line,
                position=position,
                timestamp=1_790_000_000 + line,
                kind=kind,
                previous_hash=previous,
                entry_hash=f"{line:064x}",
                terminal_id=f"T-{station}",
                station_id=station,
                sequence=position + 1,
                previous_tracking_code=f"{line + 1000:064x}",
                tracking_code=f"{line + 2000:064x}",
                authorization_id=f"{line:032x}",
                provisional=False,
                poll_period=1,
            )
        )
    return facts


def _receipt(item: EntryFacts) -> dict[str, Any]:
    return {
        "board_position": item.position,
        "election_id": ELECTION,
        "received_at": item.timestamp,
        "sequence": item.sequence,
        "station_id": item.station_id,
        "terminal_id": item.terminal_id,
        "tracking_code": item.tracking_code,
    }


CHANGES: dict[str, tuple[str, Any]] = {
    "another station": ("station_id", "S-002"),
    "a position past the shard": ("board_position", 40),
    "a position that is text": ("board_position", "1"),
    "a position that is true": ("board_position", True),
    "a position beyond 64 bits": ("board_position", 2**70),
    "another tracking code": ("tracking_code", "f" * 64),
    "a tracking code that is a number": ("tracking_code", 7),
    "another terminal": ("terminal_id", "T-S-002"),
    "a sequence that is true": ("sequence", True),
    "a sequence beyond 64 bits": ("sequence", 2**70),
    "another election": ("election_id", "majlis-11"),
    "a time that is text": ("received_at", "1790000000"),
    "a time beyond 64 bits": ("received_at", 2**64),
    "no time": ("received_at", None),
}


def _one_at_a_time(
    facts: list[EntryFacts], shards: Shards, receipts: list[dict[str, Any] | None]
) -> tuple[str, str, str] | int:
    """The rules, receipt by receipt (None: a receipt whose signature fails)."""
    matched: set[int] = set()
    for number, receipt in enumerate(receipts, start=1):
        location = f"{RECEIPTS}:{number}"
        if receipt is None:
            return ("receipt", location, "bad_signature")
        station, at = receipt.get("station_id"), receipt.get("board_position")
        line = shards.line(station, at) if type(station) is str and type(at) is int else None
        item = None if line is None else facts[line - 1]
        claimed = tuple(
            receipt.get(name)
            for name in ("election_id", "tracking_code", "station_id", "terminal_id", "sequence")
        )
        time = receipt.get("received_at")
        if item is None or item.kind != "ballot":
            return ("receipts", location, "receipt_without_ballot")
        actual = (ELECTION, item.tracking_code, item.station_id, item.terminal_id, item.sequence)
        if claimed != actual or type(claimed[4]) is not int:
            return ("receipts", location, "receipt_mismatch")
        if item.line in matched:
            return ("receipts", location, "duplicate_receipt")
        if type(time) is not int or time not in SQLITE_INTEGERS:
            return ("receipts", location, "receipt_mismatch")
        matched.add(item.line)
    return len(receipts)


def _matched(
    facts: list[EntryFacts], shards: Shards, receipts: list[dict[str, Any] | None]
) -> tuple[str, str, str] | int:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / RECEIPTS).parent.mkdir(parents=True)
        lines = []
        for receipt in receipts:
            signed = SERVER.sign("receipt", receipt or {"forged": True}).to_json()
            if receipt is None:
                signed["signature"] = "00" * 64
            lines.append(canonical_json(signed) + b"\n")
        (root / RECEIPTS).write_bytes(b"".join(lines))
        with EntryStore() as store:
            store.add(facts)
            try:
                return match_receipts(Record(root), store, shards, SERVER.public_key, ELECTION)
            except VerificationFailure as failure:
                code = "bad_signature" if failure.check == "receipt" else failure.code
                return (failure.check, failure.location, code)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    receipts=st.lists(
        st.tuples(
            st.integers(0, len(KINDS) - 1),
            st.one_of(st.none(), st.sampled_from(sorted(CHANGES))),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_the_first_receipt_named_is_the_one_the_rules_name_one_receipt_at_a_time(
    receipts: list[tuple[int, str | None, bool]],
) -> None:
    facts = _board()
    shards = ShardChains().run(facts)
    written: list[dict[str, Any] | None] = []
    for index, change, signed in receipts:
        receipt = _receipt(facts[index])
        if change is not None:
            name, value = CHANGES[change]
            receipt[name] = value
        written.append(receipt if signed else None)
    assert _matched(facts, shards, written) == _one_at_a_time(facts, shards, written)


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_way_a_receipt_can_be_wrong_is_named_at_its_line(change: str) -> None:
    facts = _board()
    shards = ShardChains().run(facts)
    receipts: list[dict[str, Any] | None] = [_receipt(item) for item in facts[:2]]
    wrong = _receipt(facts[0])
    name, value = CHANGES[change]
    wrong[name] = value
    receipts.append(wrong)
    found = _matched(facts, shards, receipts)
    assert found == _one_at_a_time(facts, shards, receipts)
    assert isinstance(found, tuple) and found[1] == f"{RECEIPTS}:3"
