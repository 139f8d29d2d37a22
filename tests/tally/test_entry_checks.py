"""Checks run side by side in one pass answer as each would alone, and a failure
waits for its check's turn (``tally/entry_checks.py``)."""

from __future__ import annotations

from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.entry_checks import Deferred, EntryCheck, SideBySide
from tally.errors import RecordError, VerificationFailure


class FailsOn(EntryCheck[int, int]):
    """Counts the items it is fed; fails at the first equal to ``bad`` (or, with
    ``at_end``, after the last item when it saw one)."""

    def __init__(self, bad: int, at_end: bool = False) -> None:
        self.bad, self.at_end, self.fed, self.seen = bad, at_end, 0, False

    def feed(self, item: int) -> None:
        self.fed += 1
        if item == self.bad and not self.at_end:
            raise VerificationFailure("fails on", f"item {self.fed}", str(item), code="bad")
        self.seen |= item == self.bad

    def finish(self) -> int:
        if self.seen:
            raise VerificationFailure("fails on", "end", str(self.bad), code="bad_at_end")
        return self.fed


def _alone(check: EntryCheck[int, int], items: list[int]) -> tuple[str, object]:
    try:
        return "passed", check.run(items)
    except VerificationFailure as failure:
        return "failed", (failure.location, failure.code)


def _outcome(deferred: Deferred[int, int]) -> tuple[str, object]:
    try:
        return "passed", deferred.outcome()
    except VerificationFailure as failure:
        return "failed", (failure.location, failure.code)


@given(
    items=st.lists(st.integers(0, 5), max_size=30),
    checks=st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=5),
    chunk=st.integers(1, 7),
)
def test_checks_side_by_side_answer_and_fail_exactly_as_each_alone(
    items: list[int], checks: list[tuple[int, bool]], chunk: int
) -> None:
    together = [Deferred(partial(FailsOn, bad, end)) for bad, end in checks]
    side_by_side = SideBySide(*together)
    for start in range(0, len(items), chunk):
        side_by_side.feed(items[start : start + chunk])
    for (bad, end), deferred in zip(checks, together, strict=True):
        assert _outcome(deferred) == _alone(FailsOn(bad, end), items)


def test_a_later_check_failing_first_still_waits_for_its_turn() -> None:
    early, late = Deferred(lambda: FailsOn(9)), Deferred(lambda: FailsOn(1))
    SideBySide(early, late).feed([1, 2, 9, 3])
    with pytest.raises(VerificationFailure) as caught:
        early.outcome()
    assert caught.value.location == "item 3"
    with pytest.raises(VerificationFailure) as caught:
        late.outcome()
    assert caught.value.location == "item 1"


def test_the_checks_after_a_failing_one_are_still_fed_the_item_it_failed_on() -> None:
    first, second = Deferred(lambda: FailsOn(2)), Deferred(lambda: FailsOn(7))
    SideBySide(first, second).feed([1, 2, 3])
    assert second.outcome() == 3


def test_a_check_that_cannot_be_set_up_keeps_that_error_until_its_turn() -> None:
    def unreadable() -> FailsOn:
        raise RecordError("missing", location="reports/S-001-closing.json", code="unreadable")

    broken, healthy = Deferred(unreadable), Deferred(lambda: FailsOn(7))
    SideBySide(broken, healthy).feed([1, 2])
    assert healthy.outcome() == 2
    with pytest.raises(RecordError, match="missing"):
        broken.outcome()
