"""The registry's signed resolution of provisional ballots: counted or excluded, and why.

A ``provisional-resolution`` envelope signed by the registry key, payload::

    {election_id, resolved_at, decisions: [{board_position, authorization_id,
     station_id, decision: "counted" | "excluded", reason}]}

``reason`` is null for a counted ballot and a refusal-style code for an
excluded one (``REASONS``). ``board_position`` is the ballot's position in its
station's shard of the board; decisions are sorted by (station, position), one
per provisional cast ballot on the board. The registry writes it
(``ballot_server/reconciliation.py``); the tally counts a provisional ballot
only when it is ``counted`` here, and the verifier checks the resolution
against the board (``tally/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from evote.errors import ModelError

KIND = "provisional-resolution"
COUNTED = "counted"
EXCLUDED = "excluded"
REASONS = frozenset(
    {
        "check_in_invalid",
        "not_a_voter_card",
        "card_revoked",
        "not_on_roll",
        "card_roll_mismatch",
        "deceased",
        "underage",
        "wrong_ballot_style",
        "voted_online",
        "checked_in_earlier",
    }
)
DECISION_FIELDS = {"board_position", "authorization_id", "station_id", "decision", "reason"}


class ResolutionError(ModelError):
    """A resolution that is not the registry's or not well formed."""

    code = "resolution_invalid"


@dataclass(frozen=True)
class Decision:
    board_position: int
    authorization_id: str
    station_id: str
    counted: bool
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "board_position": self.board_position,
            "authorization_id": self.authorization_id,
            "station_id": self.station_id,
            "decision": COUNTED if self.counted else EXCLUDED,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: object) -> Decision:
        if not isinstance(data, dict) or set(data) != DECISION_FIELDS:
            raise ResolutionError("a decision has exactly " + ", ".join(sorted(DECISION_FIELDS)))
        position, decision, reason = data["board_position"], data["decision"], data["reason"]
        if type(position) is not int or position < 0:
            raise ResolutionError("board_position")
        if not isinstance(data["authorization_id"], str) or not isinstance(data["station_id"], str):
            raise ResolutionError("authorization_id, station_id")
        if (decision, reason is None) != (COUNTED, True) and (
            decision != EXCLUDED or reason not in REASONS
        ):
            raise ResolutionError(f"decision {decision!r} with reason {reason!r}")
        return cls(
            position, data["authorization_id"], data["station_id"], decision == COUNTED, reason
        )


def read_resolution(
    envelope: SignedEnvelope, registry_key: VerifyKey, election_id: str
) -> tuple[Decision, ...]:
    """The decisions of a resolution signed by ``registry_key`` for this election, in
    board order (station, then position), at most one per place and per authorization."""
    try:
        payload = envelope.verify(KIND, registry_key)
    except CryptoError as error:
        raise ResolutionError(f"resolution signature: {error}") from error
    if not isinstance(payload, dict) or set(payload) != {"election_id", "resolved_at", "decisions"}:
        raise ResolutionError("resolution fields")
    if payload["election_id"] != election_id:
        raise ResolutionError("resolution of another election")
    if not isinstance(payload["decisions"], list):
        raise ResolutionError("decisions")
    decisions = tuple(Decision.from_json(item) for item in payload["decisions"])
    places = [(decision.station_id, decision.board_position) for decision in decisions]
    if places != sorted(set(places)):
        raise ResolutionError("decisions not in board order, or a place twice")
    if len({decision.authorization_id for decision in decisions}) != len(decisions):
        raise ResolutionError("an authorization decided twice")
    return decisions
