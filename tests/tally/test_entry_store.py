"""The on-disk store of every entry's facts behind the board-wide checks: what goes
in comes back, in line order or by line, and the checks read from it answer as
they did over a list in memory."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.entry_store import EntryStore
from tally.errors import VerificationFailure
from tally.verify_ballots import EntryFacts
from tally.verify_board import ShardChains, Shards, check_authorizations


def _facts(
    line: int, kind: str = "ballot", authorization: str = "", **fields: object
) -> EntryFacts:
    values: dict[str, object] = {
        "line": line,
        "position": line - 1,
        "timestamp": 1_790_000_000 + line,
        "kind": kind,
        "previous_hash": f"{line - 1:064x}",
        "entry_hash": f"{line:064x}",
        "terminal_id": "T-1",
        "station_id": "S-001",
        "sequence": line,
        "previous_tracking_code": f"{line + 1000:064x}",
        "tracking_code": f"{line + 1001:064x}",
        "authorization_id": authorization or f"{line:032x}",
        "provisional": False,
        "poll_period": 1,
        **fields,
    }
    return EntryFacts(**values)  # type: ignore[arg-type]


def _stored(facts: Sequence[EntryFacts], chunk: int = 3) -> EntryStore:
    store = EntryStore()
    for start in range(0, len(facts), chunk):
        store.add(facts[start : start + chunk])
    return store


def test_facts_come_back_as_they_were_stored_in_line_order_or_by_line() -> None:
    facts = [
        _facts(1),
        _facts(2, "challenged", provisional=True, poll_period=None),
        _facts(3, terminal_id="T-2"),
        _facts(4, station_id="S-002", position=0),
    ]
    with _stored(facts) as store:
        assert store.count == 4
        assert [item for item, _ in store.with_received()] == facts
        assert store.at_line(2) == facts[1] and store.at_line(2).provisional is True
        assert list(store.entry_hashes(2, 3)) == [facts[1].entry_hash, facts[2].entry_hash]
        assert store.kinds_by_terminal(1, 3) == {
            "T-1": {"ballot": 1, "challenged": 1},
            "T-2": {"ballot": 1},
        }
        assert store.cast_line(facts[2].authorization_id) == 3
        assert store.cast_line(facts[1].authorization_id) is None  # challenged: not cast
        with pytest.raises(KeyError):
            store.at_line(5)


def test_receipts_come_back_as_times_with_their_entries_and_the_first_unmatched_is_named() -> None:
    facts = [_facts(1), _facts(2, "challenged"), _facts(3)]
    with _stored(facts) as store:
        claim = (facts[0].tracking_code, facts[0].terminal_id, facts[0].sequence)
        store.add_receipts([(1, 1, *claim, 1_790_000_100)])
        third = (facts[2].tracking_code, facts[2].terminal_id, facts[2].sequence)
        store.add_receipts([(2, 3, *third, 1_790_000_101)])
        assert store.receipts == 2 and store.first_unmatched_receipt() is None
        assert list(store.with_received()) == [
            (facts[0], 1_790_000_100),
            (facts[1], None),
            (facts[2], 1_790_000_101),
        ]
        assert store.receipted_before(3, 3) and not store.receipted_before(3, 2)


@pytest.mark.parametrize(
    "third",
    [
        (None, "FIRST", "T-1", 1, 1),  # names no position
        (2, "FIRST", "T-1", 2, 1),  # a challenged ballot
        (1, None, None, None, 1),  # another election, or a field of another type
        (1, "b" * 64, "T-1", 1, 1),  # another tracking code
        (1, "FIRST", "T-2", 1, 1),  # another terminal
        (1, "FIRST", "T-1", 5, 1),  # another sequence
        (1, "FIRST", "T-1", 1, None),  # no integer time
        (3, "THIRD", "T-1", 3, 1),  # a second receipt for line 3
    ],
)
def test_the_earliest_receipt_that_does_not_match_is_found_whatever_is_wrong_with_it(
    third: tuple[int | None, str | None, str | None, int | None, int | None],
) -> None:
    facts = [_facts(1), _facts(2, "challenged"), _facts(3)]
    codes = {"FIRST": facts[0].tracking_code, "THIRD": facts[2].tracking_code}
    with _stored(facts) as store:
        store.add_receipts([(1, 3, facts[2].tracking_code, "T-1", 3, 5)])
        store.add_receipts([(2, 1, facts[0].tracking_code, "T-1", 1, 5)])
        assert store.first_unmatched_receipt() is None
        line, code, terminal, sequence, at = third
        store.add_receipts([(3, line, codes.get(code or "", code), terminal, sequence, at)])
        assert store.first_unmatched_receipt() == 3


def test_shards_find_each_entry_by_station_and_position() -> None:
    facts = [
        _facts(1),
        _facts(2, previous_hash=f"{1:064x}"),
        _facts(3, station_id="S-002", position=0, previous_hash=f"{0:064x}"),
    ]
    shards = ShardChains().run(facts)
    assert shards == Shards({"S-001": 1, "S-002": 3}, {"S-001": 2, "S-002": 1})
    assert [shards.line("S-001", 1), shards.line("S-001", 2), shards.line("S-003", 0)] == [
        2,
        None,
        None,
    ]
    assert shards.lines("S-001") == (1, 2) and shards.lines("S-003") is None


def _reuse_in_line_order(facts: Sequence[EntryFacts]) -> tuple[str, str] | None:
    """(location, detail) of the first reused authorization, as the check read a list."""
    seen: dict[str, int] = {}
    for item in facts:
        if item.kind != "ballot":
            continue
        if item.authorization_id in seen:
            return (
                f"board/entries.jsonl:{item.line}",
                f"authorization {item.authorization_id} already used at line "
                f"{seen[item.authorization_id]} (tracking code {item.tracking_code})",
            )
        seen[item.authorization_id] = item.line
    return None


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(
        st.tuples(st.integers(0, 8), st.sampled_from(["ballot", "ballot", "challenged"])),
        max_size=40,
    ),
    chunk=st.integers(1, 10),
)
def test_the_reused_authorization_named_is_the_one_a_pass_in_line_order_finds(
    entries: list[tuple[int, str]], chunk: int
) -> None:
    facts = [
        _facts(line, kind, f"{authorization:032x}")
        for line, (authorization, kind) in enumerate(entries, start=1)
    ]
    expected = _reuse_in_line_order(facts)
    with _stored(facts, chunk) as store:
        if expected is None:
            cast = {item.authorization_id for item in facts if item.kind == "ballot"}
            assert check_authorizations(store) == len(cast)
            return
        with pytest.raises(VerificationFailure) as raised:
            check_authorizations(store)
    found = raised.value
    assert (found.check, found.code) == ("one ballot per authorization", "authorization_reused")
    assert (found.location, found.detail) == expected
