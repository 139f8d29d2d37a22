"""Reconciling provisional ballots: which count, which do not, signed by the registry.

Run by HQ once stations have synced (``evote server reconcile``; again after
any later sync: every run decides every provisional ballot on the board afresh
and replaces the stored resolution). The rule, in order, for each provisional
*cast* ballot on the board (challenged ones never count anyway):

1. The sealed check-in must open with the registry key, belong to this
   authorization, carry a registry-signed certificate and the card's signature
   over the authorization (``evote/provisional.py``); else ``check_in_invalid``.
2. The voter must be one the online inquiry would have admitted at that
   station: a voter card (``not_a_voter_card``), not revoked now
   (``card_revoked``), on the roll (``not_on_roll``) with the card's birth date
   (``card_roll_mismatch``), and ``eligibility.roll_refusal``'s codes.
3. A voter the online inquiry checked in, at any time, has every provisional
   ballot excluded (``voted_online``). Secrecy forbids the alternative: an
   online ballot cannot be singled out, so it stands even when the offline
   check-in came first.
4. Of a voter's remaining provisional ballots the earliest check-in stands
   (by check-in minute, then station and position on the board); the others
   are ``checked_in_earlier``.

Each voter whose provisional ballot counts is then checked in (so the online
inquiry refuses them from now on) and remembered in ``reconciled_voters`` (so
the next run tells that check-in from an online one). The registry database
never stores which authorization was whose; the resolution names only
authorizations, stations and board positions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ballot_server.eligibility import roll_refusal
from ballot_server.keys import MissingKey
from ballot_server.models import BoardEntry
from ballot_server.registry_models import (
    CheckIn,
    ProvisionalResolution,
    ReconciledVoter,
    RevokedCard,
    RollEntry,
)
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.signing import SignedEnvelope, SigningKey
from evote import provisional, resolution
from evote.manifest import Manifest
from evote.provisional import OpenedCheckIn, ProvisionalError, ProvisionalGrant
from evote.resolution import Decision


@dataclass(frozen=True)
class ProvisionalBallot:
    """A provisional cast ballot on the board: where, and its authorization's grant."""

    board_position: int
    terminal_id: str
    station_id: str
    grant: ProvisionalGrant
    sealed_check_in: bytes

    @property
    def place(self) -> tuple[str, int]:
        """Where it is on the board: its station's shard, and its position there."""
        return self.station_id, self.board_position


def provisional_ballots(state: ServerState) -> list[ProvisionalBallot]:
    """Every cast ballot on the board whose authorization is a provisional one (the
    intake checked the terminal's signature on it; checked again here)."""
    found = []
    with Session(state.engine) as session:
        entries = session.execute(
            select(BoardEntry)
            .where(BoardEntry.kind == "ballot")
            .order_by(BoardEntry.station_id, BoardEntry.position)
        ).scalars()
        for entry in entries:
            body = json.loads(entry.payload)["payload"]["body"]
            if body["authorization"]["kind"] != provisional.KIND:
                continue
            terminal = state.terminal(entry.terminal_id)
            grant, sealed = provisional.read_grant(
                SignedEnvelope.from_json(body["authorization"]), terminal.public_key
            )
            found.append(
                ProvisionalBallot(
                    entry.position, entry.terminal_id, entry.station_id, grant, sealed
                )
            )
    return found


def _refusal(
    manifest: Manifest, session: Session, ballot: ProvisionalBallot, opened: OpenedCheckIn
) -> str | None:
    """Rule 2: why the online inquiry would not have admitted this voter, or None."""
    holder = opened.card_certificate.payload
    assert isinstance(holder, dict)  # open_check_in verified it as a certificate
    if holder.get("role") != "voter":
        return "not_a_voter_card"
    if session.get(RevokedCard, holder.get("card_id")) is not None:
        return "card_revoked"
    voter = session.get(RollEntry, opened.national_code)
    if voter is None:
        return "not_on_roll"
    if voter.birth_date != opened.birth_date:
        return "card_roll_mismatch"
    station = manifest.station(ballot.station_id)
    return roll_refusal(manifest, station, voter.birth_date, voter.alive, voter.district_id)


def decide(
    registry: SigningKey, manifest: Manifest, session: Session, ballots: list[ProvisionalBallot]
) -> tuple[list[Decision], dict[str, ProvisionalBallot]]:
    """The decision for every ballot (board order), and each counted voter's ballot."""
    reasons: dict[tuple[str, int], str | None] = {}
    voters: dict[str, list[ProvisionalBallot]] = defaultdict(list)
    for ballot in ballots:
        try:
            opened = provisional.open_check_in(registry, ballot.grant, ballot.sealed_check_in)
        except ProvisionalError:
            reasons[ballot.place] = "check_in_invalid"
            continue
        reasons[ballot.place] = _refusal(manifest, session, ballot, opened)
        if reasons[ballot.place] is None:
            voters[opened.national_code].append(ballot)
    reconciled = set(session.execute(select(ReconciledVoter.national_code)).scalars())
    counted: dict[str, ProvisionalBallot] = {}
    for code, theirs in voters.items():
        online = code not in reconciled and session.get(CheckIn, code) is not None
        theirs.sort(key=lambda b: (b.grant.checked_in_at, b.station_id, b.board_position))
        for rank, ballot in enumerate(theirs):
            if online:
                reasons[ballot.place] = "voted_online"
            elif rank > 0:
                reasons[ballot.place] = "checked_in_earlier"
        if not online:
            counted[code] = theirs[0]
    decisions = [
        Decision(
            ballot.board_position,
            ballot.grant.authorization_id,
            ballot.station_id,
            reasons[ballot.place] is None,
            reasons[ballot.place],
        )
        for ballot in ballots
    ]
    return decisions, counted


def reconcile(state: ServerState) -> SignedEnvelope:
    """Decide every provisional ballot, check the counted voters in, store and return
    the signed resolution; all in one registry transaction."""
    registry = state.config.keys.registry
    if registry is None:
        raise MissingKey("registry")
    manifest = state.inquiry_manifest()
    ballots = provisional_ballots(state)
    with Session(state.registry_engine) as session, session.begin():
        decisions, counted = decide(registry, manifest, session, ballots)
        reconciled = set(session.execute(select(ReconciledVoter.national_code)).scalars())
        for code, ballot in sorted(counted.items()):
            if code in reconciled:
                continue
            session.add(ReconciledVoter(national_code=code))
            session.add(
                CheckIn(
                    national_code=code,
                    station_id=ballot.station_id,
                    checked_in_at=ballot.grant.checked_in_at,
                )
            )
        payload = {
            "election_id": manifest.election_id,
            "resolved_at": state.now(),
            "decisions": [decision.to_json() for decision in decisions],
        }
        envelope = registry.sign(resolution.KIND, payload)
        session.execute(delete(ProvisionalResolution))
        session.execute(
            insert(ProvisionalResolution).values(
                singleton=1, envelope=canonical_json(envelope.to_json()).decode()
            )
        )
    return envelope


def stored_resolution(state: ServerState) -> SignedEnvelope | None:
    """The latest resolution ``reconcile`` stored (for the record), or None."""
    with Session(state.registry_engine) as session:
        text = session.execute(select(ProvisionalResolution.envelope)).scalar_one_or_none()
    return None if text is None else SignedEnvelope.from_json(json.loads(text))
