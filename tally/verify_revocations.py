"""Terminal revocations (``revocations.jsonl``): signed by HQ, one per audit event.

HQ revokes a stolen or replaced terminal with its own key
(``evote server revoke-terminal``, where HQ's key is); the server audits the
revocation (``terminal.revoked``) and from then on refuses every request the
terminal signs. The verifier checks each revocation's HQ signature, that it
names a registered terminal with its key, that revocations and audit events
match one to one (same terminal, station, reason and time), and that no
ballot of a revoked terminal was received after its revocation, allowing
the seconds every worker may still hold the key in its cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from crypto.signing import VerifyKey
from evote.certificates import REVOCATION_FIELDS, REVOCATION_KIND
from evote.record_layout import REVOCATIONS as REVOCATIONS
from tally.entry_checks import EntryCheck
from tally.entry_store import Received
from tally.errors import VerificationFailure
from tally.record import ENTRIES, Record
from tally.verify_audit import AUDIT_LOG, event_key, one_to_one
from tally.verify_board import signed_lines
from tally.verify_election import TerminalKey

CACHE_MARGIN_S: Final = 2
"""How long a worker may still accept a revoked terminal (the server's
``terminal_cache_s``, docs/server.md)."""
CHECK: Final = "terminal revocations"
MATCHED_ON: Final = ("terminal_id", "station_id", "reason", "revoked_at")


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(CHECK, location, message, code=code)


class Revocations(EntryCheck[Received, dict[str, int]]):
    """Every revocation HQ's, of a registered terminal, audited (checked when set
    up); fed every entry with its receipt's time, none followed by a ballot.
    Answers when each terminal was revoked."""

    def __init__(
        self,
        record: Record,
        audit: Sequence[dict[str, Any]],
        terminals: dict[str, TerminalKey],
        hq_key: VerifyKey,
    ) -> None:
        election_id = record.manifest.election_id
        self.revoked_at: dict[str, int] = {}
        published: dict[bytes, str] = {}
        for location, payload in signed_lines(record, REVOCATIONS, REVOCATION_KIND, hq_key):
            terminal = terminals.get(str(payload.get("terminal_id")))
            if (
                set(payload) != REVOCATION_FIELDS
                or payload["election_id"] != election_id
                or type(payload["revoked_at"]) is not int
                or terminal is None
                or (terminal.station_id, terminal.public_key)
                != (payload["station_id"], payload["public_key"])
                or terminal.terminal_id in self.revoked_at
            ):
                raise _fail(
                    location,
                    "not a revocation of a registered terminal of this election (or a second one)",
                    "bad_revocation",
                )
            self.revoked_at[terminal.terminal_id] = payload["revoked_at"]
            published[event_key(payload, *MATCHED_ON)] = location
        announced: dict[bytes, str] = {}
        for entry in audit:
            if entry["event_id"] == "terminal.revoked" and isinstance(entry["fields"], dict):
                fields = {**entry["fields"], "revoked_at": entry["at"]}
                announced[event_key(fields, *MATCHED_ON)] = f"{AUDIT_LOG}:{entry['position'] + 1}"
        one_to_one(announced, published, "terminal revocation")

    def feed(self, item: Received) -> None:
        entry, at = item
        deadline = self.revoked_at.get(entry.terminal_id)
        if at is not None and deadline is not None and at > deadline + CACHE_MARGIN_S:
            raise _fail(
                f"{ENTRIES}:{entry.line}",
                f"received at {at}, after HQ revoked terminal {entry.terminal_id} at "
                f"{deadline} (tracking code {entry.tracking_code})",
                "after_revocation",
            )

    def finish(self) -> dict[str, int]:
        return self.revoked_at
