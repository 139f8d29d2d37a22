"""The officials' countersignature of a closing report: their card signs the counts.

The server signs the closing report, so the server's key alone could re-sign
it with other counts. The station's officials close the polls with their card
at a terminal, and right after the close the card signs (INTERNAL
AUTHENTICATE) a digest of the report's counts — ballots and challenged per
terminal, check-ins, challenged, voided — bound to a fresh server challenge.
The report carries that signature with the official's registry-signed card
certificate, and the verifier holds the counts to the board it verified: a
record with ballots added or removed after the close fails unless an
official's card signs again.

The counts name the report they belong to (``REPORT_IDENTITY``): the poll
version its close ended, so a countersignature of the close before an HQ
reopen is never one of the close after it, and its revision, so a report
reissued after the close (a late ballot from a journal, a void) needs a fresh
countersignature. Officials give it with "countersign again" on the
officials' screen (``terminal/officials.py``); the station's poll status says
when the latest report lacks one (``is_countersigned``).
"""

from __future__ import annotations

from typing import Any, Final

from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes

COUNTERSIGN: Final = "countersign"
"""The poll action by which officials countersign a closed station's report."""
COUNTERSIGNED: Final = "countersigned"
"""The closing report's field: ``{counts, challenge, card_certificate, card_signature}``."""
COUNTERSIGN_DOMAIN: Final = "evote/closing-countersign/v2"
REPORT_IDENTITY: Final = ("poll_version", "revision")
"""Which closing report of a station the counts are: the poll version its close
ended, and its revision."""
STATION_COUNTS: Final = ("check_ins", "ballots_cast", "challenged", "authorizations_voided")
TERMINAL_COUNTS: Final = ("terminal_id", "ballots_cast", "challenged")


def closing_counts(report: dict[str, Any]) -> dict[str, Any]:
    """What officials countersign, taken from a closing report's payload."""
    return {
        "election_id": report["election_id"],
        "station_id": report["station_id"],
        **{name: report[name] for name in REPORT_IDENTITY},
        **{name: report[name] for name in STATION_COUNTS},
        "terminals": [
            {name: item[name] for name in TERMINAL_COUNTS} for item in report["terminals"]
        ],
    }


def countersign_message(challenge: bytes, counts: dict[str, Any]) -> bytes:
    """The 32 bytes the official's card signs: the server's challenge and the counts."""
    return hash_bytes(COUNTERSIGN_DOMAIN, challenge, canonical_json(counts))


def other_report(counts: Any, identity: dict[str, Any]) -> str | None:
    """Why ``counts`` an official's card signed belong to another closing report than
    the one ``identity`` (its poll version and revision) names, or None when they are
    this report's."""
    if not isinstance(counts, dict):
        return "the card signed no counts"
    for name in REPORT_IDENTITY:
        if canonical_json(counts.get(name)) != canonical_json(identity.get(name)):
            return (
                f"the card countersigned the report of {name} {counts.get(name)!r}; "
                f"this one is {name} {identity.get(name)!r}"
            )
    return None


def is_countersigned(report: dict[str, Any]) -> bool:
    """Whether a closing report's payload carries its officials' countersignature: the
    card's signature is checked when the server takes it, so what is left to ask is
    whether it signed this very report's counts (a reissue drops it)."""
    signed = report.get(COUNTERSIGNED)
    return isinstance(signed, dict) and signed.get("counts") == closing_counts(report)
