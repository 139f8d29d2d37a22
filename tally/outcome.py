"""Who is elected, by the contest's rule (manifest ``rule``).

* ``majlis``: the top ``seats`` candidates with at least ``threshold_percent``
  of valid ballots are elected; each unfilled seat sends the next two best
  candidates to a runoff.
* ``majority``: elected with more than half of the valid ballots; unfilled
  seats go to a runoff of the next two best per seat (one seat: the top two).
* ``plurality``: the top ``seats`` (with at least one vote); never a runoff.

"Valid ballots" are cast ballots that are not blank: an electronic ballot is
never void, its proofs guarantee it is well formed. Candidates are ranked by
votes, then by code; the code order is arbitrary, so a tie at a boundary is
flagged for HQ to settle by the legal procedure (drawing lots).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evote.manifest import Contest


@dataclass(frozen=True)
class Outcome:
    contest_id: str
    rule: str
    seats: int
    valid: int
    ranking: tuple[int, ...]
    elected: tuple[int, ...]
    runoff: tuple[int, ...]
    tie_at_boundary: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "contest_id": self.contest_id,
            "rule": self.rule,
            "seats": self.seats,
            "valid": self.valid,
            "ranking": list(self.ranking),
            "elected": list(self.elected),
            "runoff": list(self.runoff),
            "tie_at_boundary": self.tie_at_boundary,
        }


def _passes(rule: str, threshold_percent: int, votes: int, valid: int) -> bool:
    if votes == 0:
        return False
    if rule == "majority":
        return 2 * votes > valid
    if rule == "majlis":
        return 100 * votes >= threshold_percent * valid
    return True


def decide(contest: Contest, votes: Mapping[int, int], valid: int) -> Outcome:
    """Apply ``contest.rule`` to the votes per candidate code."""
    ranking = sorted((c.code for c in contest.candidates), key=lambda code: (-votes[code], code))
    elected = []
    for code in ranking[: contest.seats]:
        if not _passes(contest.rule, contest.threshold_percent, votes[code], valid):
            break
        elected.append(code)
    unfilled = contest.seats - len(elected)
    runoff = []
    if unfilled and contest.rule != "plurality":
        runoff = ranking[len(elected) : len(elected) + 2 * unfilled]
    chosen = len(elected) + len(runoff)
    tie = 0 < chosen < len(ranking) and votes[ranking[chosen - 1]] == votes[ranking[chosen]]
    return Outcome(
        contest.contest_id,
        contest.rule,
        contest.seats,
        valid,
        tuple(ranking),
        tuple(elected),
        tuple(runoff),
        tie,
    )
