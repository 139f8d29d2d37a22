"""Authorizations' poll periods against the stations' openings in the audit log.

The inquiry stamps every authorization with ``poll_period``, the poll version
(the count of the station's ``poll.*`` transitions, from 1) of the opening it
was issued under; the intake refuses a ballot whose period is not an opening
before the close. The verifier counts the same versions from the audit log:
each authorization must name an opening of its station (``poll.opened`` or
``poll.resumed``), never a pause, a close or a version the station never
reached. One dictionary lookup per ballot.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from tally.entry_checks import EntryCheck
from tally.errors import VerificationFailure
from tally.record import ENTRIES
from tally.verify_ballots import EntryFacts

POLL_EVENTS: Final = frozenset(
    {"poll.opened", "poll.paused", "poll.resumed", "poll.closed", "poll.reopened"}
)
"""The audit events of poll transitions: each bumps the station's poll version."""
OPENINGS: Final = frozenset({"poll.opened", "poll.resumed"})
CHECK: Final = "authorizations' poll periods"


def poll_transitions(audit: Iterable[dict[str, Any]]) -> Iterator[tuple[str, int, str]]:
    """``(station_id, poll version, event id)`` of each poll transition, in order: the
    version the transition took the station to, as the server counts it."""
    versions: dict[str, int] = {}
    for entry in audit:
        fields = entry["fields"]
        if entry["event_id"] not in POLL_EVENTS or not isinstance(fields, dict):
            continue
        station_id = str(fields.get("station_id"))
        versions[station_id] = versions.get(station_id, 0) + 1
        yield station_id, versions[station_id], entry["event_id"]


def poll_openings(audit: Iterable[dict[str, Any]]) -> dict[str, set[int]]:
    """Per station, the poll versions of its openings."""
    openings: dict[str, set[int]] = {}
    for station_id, version, event_id in poll_transitions(audit):
        if event_id in OPENINGS:
            openings.setdefault(station_id, set()).add(version)
    return openings


def closing_versions(audit: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Per station, the poll version its last close ended (one below the version the
    close took it to): what the closing report, the terminal's signed close and the
    officials' countersignature must all name (after an HQ reopen, the second close's)."""
    ended: dict[str, int] = {}
    for station_id, version, event_id in poll_transitions(audit):
        if event_id == "poll.closed":
            ended[station_id] = version - 1
    return ended


def _fail(item: EntryFacts, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(
        CHECK,
        f"{ENTRIES}:{item.line}",
        f"{message} (tracking code {item.tracking_code})",
        code=code,
    )


class PollPeriods(EntryCheck[EntryFacts, int]):
    """Each online authorization names an opening of its station (provisional ones
    carry no period: they were issued with no server)."""

    def __init__(self, openings: dict[str, set[int]]) -> None:
        self.openings = openings
        self.checked = 0

    def feed(self, item: EntryFacts) -> None:
        if item.poll_period is None:
            return
        station = self.openings.get(item.station_id, set())
        if item.poll_period not in station:
            listed = ", ".join(map(str, sorted(station))) or "none"
            raise _fail(
                item,
                f"authorization issued under poll period {item.poll_period}, not an opening of "
                f"{item.station_id} (its openings: {listed})",
                "bad_poll_period",
            )
        self.checked += 1

    def finish(self) -> int:
        return self.checked
