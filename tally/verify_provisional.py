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

from collections.abc import Iterable, Sequence

from evote.resolution import Decision
from tally.errors import VerificationFailure
from tally.record import ENTRIES, PROVISIONAL_RESOLUTION
from tally.verify_ballots import EntryFacts

CHECK = "provisional resolution"


def check_provisional(facts: Iterable[EntryFacts], decisions: Sequence[Decision]) -> int:
    """How many provisional ballots were decided; VerificationFailure at the first gap."""
    by_place = {(d.station_id, d.board_position): d for d in decisions}
    provisional = 0
    for item in facts:
        if item.kind != "ballot" or not item.provisional:
            continue
        provisional += 1
        place = f"{item.station_id} position {item.position}"
        decision = by_place.pop((item.station_id, item.position), None)
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
    if by_place:
        station_id, position = min(by_place)
        raise VerificationFailure(
            CHECK,
            PROVISIONAL_RESOLUTION,
            f"a decision for {station_id} position {position}, "
            "which holds no provisional cast ballot",
            code="provisional_stray_decision",
        )
    return provisional
