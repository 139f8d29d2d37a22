"""Whether a roll entry may vote at a station: one rule for the online inquiry
(``inquiry.py``) and for the offline roll snapshot (``snapshot.py``), so a voter
the station recognises offline is exactly one the inquiry would admit online."""

from __future__ import annotations

from evote.jalali import age_on, parse_jalali
from evote.manifest import Manifest, Station

VOTING_AGE = 18


def roll_refusal(
    manifest: Manifest, station: Station, birth_date: str, alive: bool, district_id: str
) -> str | None:
    """The refusal code for a roll entry at ``station``, or None if it may vote there
    (the caller checks the card and earlier check-ins)."""
    if not alive:
        return "deceased"
    if age_on(parse_jalali(birth_date), manifest.election_date) < VOTING_AGE:
        return "underage"
    if manifest.district(district_id).ballot_style_id != station.ballot_style_id:
        return "wrong_ballot_style"
    return None
