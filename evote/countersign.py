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
"""

from __future__ import annotations

from typing import Any, Final

from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes

COUNTERSIGN: Final = "countersign"
"""The poll action by which officials countersign a closed station's report."""
COUNTERSIGNED: Final = "countersigned"
"""The closing report's field: ``{counts, challenge, card_certificate, card_signature}``."""
COUNTERSIGN_DOMAIN: Final = "evote/closing-countersign/v1"
STATION_COUNTS: Final = ("check_ins", "ballots_cast", "challenged", "authorizations_voided")
TERMINAL_COUNTS: Final = ("terminal_id", "ballots_cast", "challenged")


def closing_counts(report: dict[str, Any]) -> dict[str, Any]:
    """What officials countersign, taken from a closing report's payload."""
    return {
        "election_id": report["election_id"],
        "station_id": report["station_id"],
        **{name: report[name] for name in STATION_COUNTS},
        "terminals": [
            {name: item[name] for name in TERMINAL_COUNTS} for item in report["terminals"]
        ],
    }


def countersign_message(challenge: bytes, counts: dict[str, Any]) -> bytes:
    """The 32 bytes the official's card signs: the server's challenge and the counts."""
    return hash_bytes(COUNTERSIGN_DOMAIN, challenge, canonical_json(counts))
