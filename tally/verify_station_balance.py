"""Each station's reconciliation line: every check-in ends as a ballot, a release or unused.

The closing report (``ballot_server/reports.py``) states a station's check-ins,
online (authorizations issued) and offline (provisional authorizations its
terminals declared), and what became of them. With the board and the
registry's resolution, anyone can check that they balance::

    check-ins online + offline
        = ballots counted + released + unused (online and offline) + excluded

where *counted* and *excluded* are the station's cast ballots on the board
split by the resolution (an online ballot always counts; a provisional one as
decided), *released* are authorizations voided so the voter could check in
again, and neither side's unused count is negative (no station casts more
ballots than it checked voters in). The report's cast and provisional counts
must be the board's. The check-in counts themselves rest on the server's and
the terminals' signatures: the registry's check-ins are not published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from evote.resolution import Decision
from tally.entry_checks import EntryCheck
from tally.errors import VerificationFailure
from tally.verify_ballots import EntryFacts

CHECK = "station reconciliation"
COUNTS = (
    "authorizations_issued",
    "offline_check_ins",
    "ballots_cast",
    "provisional_cast",
    "authorizations_released",
    "authorizations_unused",
    "provisional_unused",
)


def _counts(report: Mapping[str, Any], location: str) -> dict[str, int]:
    counts = {name: report.get(name) for name in COUNTS}
    for name, value in counts.items():
        if type(value) is not int:
            raise VerificationFailure(
                CHECK, f"{location}:{name}", "not an integer", code="bad_report"
            )
    return counts  # type: ignore[return-value]  # every value checked int above


class CastCounts(EntryCheck[EntryFacts, "CastCounts"]):
    """Fed every entry: each station's cast ballots on the board, and how many of
    them are provisional. Never fails; ``check_station_balance`` weighs them."""

    def __init__(self) -> None:
        self.cast: Counter[str] = Counter()
        self.provisional: Counter[str] = Counter()

    def feed(self, item: EntryFacts) -> None:
        if item.kind == "ballot":
            self.cast[item.station_id] += 1
            if item.provisional:
                self.provisional[item.station_id] += 1

    def finish(self) -> CastCounts:
        return self


def check_station_balance(
    closing_reports: Mapping[str, Mapping[str, Any]],
    board: CastCounts,
    decisions: Sequence[Decision],
) -> int:
    """How many stations balance; VerificationFailure (one line) at the first that does not."""
    cast, provisional = board.cast, board.provisional
    excluded = Counter(decision.station_id for decision in decisions if not decision.counted)
    for station_id, report in sorted(closing_reports.items()):
        location = f"reports/{station_id}-closing.json"
        counts = _counts(report, location)
        on_board = {
            "ballots_cast": cast[station_id],
            "provisional_cast": provisional[station_id],
        }
        for name, value in on_board.items():
            if counts[name] != value:
                raise VerificationFailure(
                    CHECK,
                    f"{location}:{name}",
                    f"{station_id}: the closing report says {counts[name]}, the board has {value}",
                    code="station_unbalanced",
                )
        counted = cast[station_id] - excluded[station_id]
        unused = counts["authorizations_unused"] + counts["provisional_unused"]
        left = counts["authorizations_issued"] + counts["offline_check_ins"]
        right = counted + counts["authorizations_released"] + unused + excluded[station_id]
        if left != right or min(counts["authorizations_unused"], counts["provisional_unused"]) < 0:
            raise VerificationFailure(
                CHECK,
                location,
                f"{station_id}: check-ins {counts['authorizations_issued']} online + "
                f"{counts['offline_check_ins']} offline ≠ ballots {counted} counted + "
                f"{counts['authorizations_released']} released + "
                f"{counts['authorizations_unused']} + {counts['provisional_unused']} unused + "
                f"{excluded[station_id]} excluded",
                code="station_unbalanced",
            )
    return len(closing_reports)
