"""Checking the registry's resolution of provisional ballots against the board.

Every provisional cast ballot on the board must have exactly one decision, and
that decision must name its station, position in the station's shard and
authorization; no
decision may name anything else. Together with the totals check (the verifier
sums provisional ballots only when decided ``counted``, and compares with the
tally's totals) this shows the sums include exactly the counted ones. Whether
each decision follows the rule (docs/offline.md) rests on the registry's
signature: the rule needs the roll and the sealed check-ins, which the record
does not publish.
"""

from __future__ import annotations

from collections.abc import Sequence

from evote.resolution import Decision
from tally.entry_checks import EntryCheck
from tally.errors import VerificationFailure
from tally.record import ENTRIES, PROVISIONAL_RESOLUTION
from tally.verify_ballots import EntryFacts

CHECK = "provisional resolution"


class ProvisionalDecided(EntryCheck[EntryFacts, int]):
    """Fed every entry: answers how many provisional ballots were decided;
    VerificationFailure at the first gap."""

    def __init__(self, decisions: Sequence[Decision]) -> None:
        self.by_place = {(d.station_id, d.board_position): d for d in decisions}
        self.provisional = 0

    def feed(self, item: EntryFacts) -> None:
        if item.kind != "ballot" or not item.provisional:
            return
        self.provisional += 1
        place = f"{item.station_id} position {item.position}"
        decision = self.by_place.pop((item.station_id, item.position), None)
        location = f"{ENTRIES}:{item.line}"
        if decision is None:
            raise VerificationFailure(
                CHECK,
                location,
                f"provisional ballot at {place} has no decision",
                code="provisional_undecided",
            )
        if decision.authorization_id != item.authorization_id:
            raise VerificationFailure(
                CHECK,
                location,
                f"the decision for {place} names another ballot",
                code="provisional_mismatch",
            )

    def finish(self) -> int:
        if self.by_place:
            station_id, position = min(self.by_place)
            raise VerificationFailure(
                CHECK,
                PROVISIONAL_RESOLUTION,
                f"a decision for {station_id} position {position}, "
                "which holds no provisional cast ballot",
                code="provisional_stray_decision",
            )
        return self.provisional
