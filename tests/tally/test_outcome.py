"""The contest rules decide who is elected and who goes to a runoff."""

from __future__ import annotations

from evote.manifest import Candidate, Contest, Name
from tally.outcome import decide


def _contest(rule: str, seats: int, codes: int, threshold: int = 0) -> Contest:
    candidates = tuple(Candidate(100 + i, Name(f"ن{i}", f"C{i}")) for i in range(codes))
    return Contest("c", Name("م", "C"), rule, seats, seats, candidates, threshold)


def test_majlis_elects_those_over_the_threshold_and_sends_two_per_unfilled_seat_to_runoff() -> None:
    contest = _contest("majlis", 3, 8, threshold=20)
    votes = {100: 50, 101: 30, 102: 19, 103: 18, 104: 10, 105: 9, 106: 8, 107: 0}
    outcome = decide(contest, votes, valid=100)
    assert outcome.elected == (100, 101)
    assert outcome.runoff == (102, 103)
    assert not outcome.tie_at_boundary


def test_majlis_with_no_one_over_the_threshold_sends_six_to_the_runoff() -> None:
    contest = _contest("majlis", 3, 8, threshold=20)
    votes = {code: 10 + code % 7 for code in range(100, 108)}
    outcome = decide(contest, votes, valid=100)
    assert outcome.elected == ()
    assert len(outcome.runoff) == 6


def test_majority_needs_more_than_half_else_top_two_runoff() -> None:
    contest = _contest("majority", 1, 4)
    assert decide(contest, {100: 51, 101: 30, 102: 19, 103: 0}, 100).elected == (100,)
    outcome = decide(contest, {100: 50, 101: 30, 102: 20, 103: 0}, 100)
    assert outcome.elected == () and outcome.runoff == (100, 101)


def test_plurality_takes_the_top_and_flags_a_tie_at_the_boundary() -> None:
    contest = _contest("plurality", 1, 3)
    outcome = decide(contest, {100: 5, 101: 5, 102: 1}, 11)
    assert outcome.elected == (100,)
    assert outcome.runoff == ()
    assert outcome.tie_at_boundary
