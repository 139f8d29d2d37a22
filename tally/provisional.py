"""No results from an open election, unless everyone can see they are provisional.

A count taken while a station still takes ballots is not a result: the
tally refuses it unless HQ asks for ``--provisional``, and then every file it
writes says so (``"provisional"`` in the JSON documents, a first line in the
CSV, a banner in the HTML report and on each poll tape). Whether a station is
open is read from the record's own audit log: the last poll event of each
station.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from crypto.canonical import parse_json
from crypto.errors import CryptoError
from evote.record_layout import AUDIT_LOG as AUDIT_LOG
from tally.errors import RecordError, TallyError
from tally.record import Record

PROVISIONAL_FILE: Final = "PROVISIONAL"
"""Written at a record's root by ``evote record export --provisional``."""
PROVISIONAL: Final = "provisional"
"""The key every JSON output of a provisional tally carries: ``{"open_stations": [...]}``."""
LEAVES_OPEN: Final = {
    "poll.opened": True,
    "poll.paused": True,
    "poll.resumed": True,
    "poll.reopened": True,
    "poll.closed": False,
}
"""Poll events, and whether the station can still take ballots after each (paused can resume)."""
BANNER: Final = {
    "fa": "نتایج موقت: رأی‌گیری در برخی شعب هنوز باز است",
    "en": "PROVISIONAL: polls are still open at some stations",
}


class PollsOpen(TallyError):
    """A tally or an export was asked for while stations still take ballots."""

    code = "polls_open"


def stations_left_open(events: Iterable[tuple[str, Any]]) -> list[str]:
    """Stations whose last poll event (of ``(event_id, fields)`` in order) leaves them open."""
    is_open: dict[str, bool] = {}
    for event_id, fields in events:
        if event_id in LEAVES_OPEN:
            is_open[str(fields["station_id"])] = LEAVES_OPEN[event_id]
    return sorted(station for station, still in is_open.items() if still)


def open_stations(record: Record) -> list[str]:
    """``stations_left_open`` over the record's ``audit.jsonl``, each line named if malformed."""
    events = []
    for line, text in record.lines(AUDIT_LOG):
        try:
            entry = parse_json(text)
            if isinstance(entry, dict) and entry.get("event_id") in LEAVES_OPEN:
                events.append((entry["event_id"], {"station_id": entry["fields"]["station_id"]}))
        except (CryptoError, KeyError, TypeError) as error:
            location = f"{AUDIT_LOG}:{line}"
            raise RecordError(f"not an audit entry ({error})", location=location) from error
    return stations_left_open(events)


def refuse_unless_provisional(stations: list[str], provisional: bool) -> dict[str, Any] | None:
    """The mark for the outputs (None when every station is closed); refuses open ones.

    ``--provisional`` on a closed election is refused too: a mark that says
    nothing would teach readers to ignore it.
    """
    if stations and not provisional:
        raise PollsOpen(
            f"polls still open at {', '.join(stations)}: close them, or pass --provisional"
        )
    if provisional and not stations:
        raise PollsOpen("every station is closed: these results are final, drop --provisional")
    return {"open_stations": stations} if stations else None


def provisional_mark(record: Record, provisional: bool) -> dict[str, Any] | None:
    """``refuse_unless_provisional`` on what the record's audit log shows."""
    return refuse_unless_provisional(open_stations(record), provisional)
