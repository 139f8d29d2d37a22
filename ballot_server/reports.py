"""Zero and closing reports (signed envelopes of kind ``poll-report``).

The zero report proves a station starts empty: no board entries, no
check-ins, every terminal at sequence 0. The closing report reconciles the
station: authorizations issued = ballots cast + authorizations released +
authorizations unused, with none unused below zero; every release rests on a
void, and every spent authorization is a ballot or a void. Issued ones are counted
from check-ins (a released voter checked in again counts one more,
``release.py``) and pass redemptions (a desk check-in counts its pass's
redemptions, none while unredeemed; authorizations are never stored,
``inquiry.py``); every cast and every void spends one, so this is the
inequality spent ≤ issued: it catches ballots beyond the authorizations issued,
not minted authorizations standing in for voters who left without casting.
A station that went offline (docs/offline.md) also issued provisional
authorizations: each terminal declares how many voters it checked in offline,
and the report balances the station as a whole::

    authorizations_issued + offline_check_ins
        = ballots_cast + authorizations_released
          + authorizations_unused + provisional_unused

``ballots_cast`` counting provisional ones (``provisional_cast``), the online
side (issued = cast online + released + unused) and the offline side (offline
check-ins = provisional cast + provisional unused) each never below zero. Voters
whose provisional ballot reconciliation counted are checked in at the registry
afterwards; those check-ins are not online ones and are left out here. The
verifier splits ``provisional_cast`` into counted and excluded with the
registry's resolution (``tally/verify_station_balance.py``).
The report carries each terminal's last sequence and chain head and the
journal head it last declared, signed by the terminal (``declarations.py``):
``reconciled`` is false while the board ends before a declared head, and
``missing_sequences`` names what has not arrived; plus the station's
encrypted subtotals.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.declarations import backlog, reconciliation
from ballot_server.errors import ServerError
from ballot_server.models import (
    AuthorizationVoid,
    BoardEntry,
    PollReport,
    SpentAuthorization,
    Station,
    Terminal,
)
from ballot_server.registry_models import CheckIn, IssuedPass, ReconciledVoter
from ballot_server.state import ServerState
from crypto.ballot import BLANK_KEY, EncryptedBallot
from crypto.canonical import canonical_json
from crypto.elgamal import Ciphertext, sum_ciphertexts
from evote.countersign import COUNTERSIGNED, closing_counts, is_countersigned, other_report
from evote.provisional import KIND as PROVISIONAL_KIND


def _registry_counts(state: ServerState, station_id: str) -> dict[str, int]:
    """Check-ins and passes; issued authorizations are counted from them, not stored
    (``inquiry.py``): one per booth check-in (and per check-in again after a release)
    and one per redemption of a pass, that is the check-ins' authorizations (a desk
    check-in holds one) plus each pass's redemptions less one. Released: each check-in
    again and each redemption of a pass but its current one. A voter checked in by
    reconciliation (a counted provisional ballot) was never checked in online: not
    counted."""
    with Session(state.registry_engine) as registry:

        def count(model: Any, *conditions: Any) -> int:
            statement = select(func.count()).select_from(model).where(*conditions)
            return int(registry.execute(statement).scalar_one())

        online = (
            CheckIn.station_id == station_id,
            CheckIn.national_code.not_in(select(ReconciledVoter.national_code)),
        )
        check_ins = count(CheckIn, *online)
        issued = registry.execute(
            select(func.coalesce(func.sum(CheckIn.authorizations), 0)).where(*online)
        ).scalar_one()
        unredeemed = count(
            IssuedPass, IssuedPass.station_id == station_id, IssuedPass.redeemed.is_(False)
        )
        # A voter with k authorizations was released k - 1 times, once more if released now.
        released = registry.execute(
            select(
                func.coalesce(
                    func.sum(CheckIn.authorizations - 1 + case((CheckIn.released, 1), else_=0)),
                    0,
                )
            ).where(*online)
        ).scalar_one()
        # A pass redeemed r times yielded r authorizations (its desk check-in counts one)
        # and was released r - 1 times, or r if it is not redeemed now.
        by_passes, passes_released = registry.execute(
            select(
                func.coalesce(func.sum(IssuedPass.redemptions - 1), 0),
                func.coalesce(
                    func.sum(IssuedPass.redemptions - case((IssuedPass.redeemed, 1), else_=0)),
                    0,
                ),
            ).where(IssuedPass.station_id == station_id)
        ).one()
        return {
            "check_ins": check_ins,
            "authorizations_issued": int(issued) + int(by_passes),
            "authorizations_released": int(released) + int(passes_released),
            "passes_issued": count(IssuedPass, IssuedPass.station_id == station_id),
            "passes_unredeemed": unredeemed,
        }


def _terminals(session: Session, station_id: str) -> list[Terminal]:
    statement = select(Terminal).where(Terminal.station_id == station_id)
    return list(session.execute(statement.order_by(Terminal.terminal_id)).scalars())


def _store(
    state: ServerState, session: Session, station_id: str, kind: str, payload: dict[str, Any]
) -> dict[str, Any]:
    envelope = state.config.keys.server.sign("poll-report", payload).to_json()
    text = canonical_json(envelope).decode("utf-8")
    existing = session.get(PollReport, (station_id, kind))
    if existing is None:
        session.add(PollReport(station_id=station_id, kind=kind, envelope=text))
    else:
        existing.envelope = text
    return envelope


def zero_report(state: ServerState, session: Session, station: Station, now: int) -> dict[str, Any]:
    """Issue the zero report, refusing to open unless everything is zero."""
    entries = session.execute(
        select(func.count()).where(BoardEntry.station_id == station.station_id)
    ).scalar_one()
    counts = _registry_counts(state, station.station_id)
    terminals = _terminals(session, station.station_id)
    if entries or counts["check_ins"] or any(t.last_sequence for t in terminals):
        raise ServerError("zero_report_not_zero", f"{entries} entries, {counts['check_ins']} in")
    payload = {
        "report": "zero",
        "election_id": state.election().election_id,
        "station_id": station.station_id,
        "at": now,
        "board_entries": 0,
        "ballots_cast": 0,
        "challenged": 0,
        "check_ins": 0,
        "terminals": [
            {"terminal_id": t.terminal_id, "last_sequence": 0, "chain_head": t.chain_head}
            for t in terminals
        ],
    }
    return _store(state, session, station.station_id, "opening", payload)


def closing_report(
    state: ServerState,
    session: Session,
    station: Station,
    now: int,
    poll_version: int,
    revision: int = 1,
    closed_by: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The station's closing report of the close that ended ``poll_version``;
    ``closed_by`` is the close request its terminal signed, naming that version (kept
    in every revision: the verifier holds the board to its journal head). Officials
    countersign each revision afresh (``countersign_closing_report``)."""
    station_id = station.station_id
    rows = session.execute(
        select(BoardEntry.terminal_id, BoardEntry.kind, BoardEntry.payload).where(
            BoardEntry.station_id == station_id
        )
    ).all()
    per_terminal: dict[str, dict[str, int]] = defaultdict(lambda: {"ballot": 0, "challenged": 0})
    cast_ballots = []
    provisional_cast = 0
    for terminal_id, kind, entry_payload in rows:
        per_terminal[terminal_id][kind] += 1
        if kind == "ballot":
            body = json.loads(entry_payload)["payload"]["body"]
            cast_ballots.append(EncryptedBallot.from_json(body["ballot"]))
            provisional_cast += body["authorization"]["kind"] == PROVISIONAL_KIND
    spent = session.execute(
        select(func.count()).where(SpentAuthorization.station_id == station_id)
    ).scalar_one()
    voided = session.execute(
        select(func.count()).where(AuthorizationVoid.station_id == station_id)
    ).scalar_one()
    counts = _registry_counts(state, station_id)
    cast = len(cast_ballots)
    unused = (
        counts["authorizations_issued"]
        - (cast - provisional_cast)
        - counts["authorizations_released"]
    )
    terminals = _terminals(session, station_id)
    declared = {t.terminal_id: reconciliation(t) for t in terminals}
    offline = sum(item["declared_offline_check_ins"] for item in declared.values())
    payload = {
        "report": "closing",
        "poll_version": poll_version,
        "revision": revision,
        "election_id": state.election().election_id,
        "station_id": station_id,
        "at": now,
        "opened_at": station.opened_at,
        "closed_at": station.closed_at,
        **counts,
        "ballots_cast": cast,
        "provisional_cast": provisional_cast,
        "offline_check_ins": offline,
        "challenged": sum(item["challenged"] for item in per_terminal.values()),
        "authorizations_voided": voided,
        "voids_without_release": voided - counts["authorizations_released"],
        "authorizations_unused": unused,
        "provisional_unused": offline - provisional_cast,
        # issued + offline = cast + released + unused + provisional unused; voided =
        # released + voids without release (an answer lost before any check-in, a
        # release still to come); every spent authorization is a ballot or a void.
        "reconciled": unused >= 0
        and offline >= provisional_cast
        and spent == cast + voided
        and voided >= counts["authorizations_released"]
        and all(item["reconciled"] for item in declared.values()),
        "missing_sequences": backlog(terminals),
        "terminals": [
            {
                "terminal_id": t.terminal_id,
                "last_sequence": t.last_sequence,
                "chain_head": t.chain_head,
                "ballots_cast": per_terminal[t.terminal_id]["ballot"],
                "challenged": per_terminal[t.terminal_id]["challenged"],
                **declared[t.terminal_id],
            }
            for t in terminals
        ],
        "encrypted_subtotals": encrypted_subtotals(state, station.ballot_style_id, cast_ballots),
    }
    if closed_by is not None:
        payload["closed_by"] = closed_by
    return _store(state, session, station_id, "closing", payload)


def encrypted_subtotals(
    state: ServerState, ballot_style_id: str, ballots: list[EncryptedBallot]
) -> dict[str, dict[str, dict[str, str]]]:
    """Per contest, per selection (and ``@blank``): the homomorphic sum of the ballots."""
    result: dict[str, dict[str, dict[str, str]]] = {}
    for index, spec in enumerate(state.specs(ballot_style_id)):
        contests = [ballot.contests[index] for ballot in ballots]
        sums: dict[str, Ciphertext] = {
            selection_id: sum_ciphertexts(c.selections[position].ciphertext for c in contests)
            for position, selection_id in enumerate(spec.selection_ids)
        }
        sums[BLANK_KEY] = sum_ciphertexts(c.blank for c in contests)
        result[spec.contest_id] = {key: value.to_json() for key, value in sums.items()}
    return result


def countersign_closing_report(
    state: ServerState, session: Session, station_id: str, countersigned: dict[str, Any]
) -> dict[str, Any]:
    """Add the officials' countersignature to the station's closing report, refused
    unless the station is closed and the card signed exactly the report's counts: the
    counts of another report (a revision reissued since, the close before an HQ
    reopen) are ``countersign_stale``, other counts ``countersign_mismatch``."""
    station = session.execute(
        select(Station).where(Station.station_id == station_id).with_for_update()
    ).scalar_one()
    stored = session.get(PollReport, (station_id, "closing"))
    if station.poll_state != "closed" or stored is None:
        raise ServerError("not_closed", station_id)
    payload = json.loads(stored.envelope)["payload"]
    stale = other_report(countersigned["counts"], payload)
    if stale is not None:
        raise ServerError("countersign_stale", stale)
    if countersigned["counts"] != closing_counts(payload):
        raise ServerError("countersign_mismatch", "the card signed other counts")
    payload[COUNTERSIGNED] = countersigned
    return _store(state, session, station_id, "closing", payload)


def countersign_status(session: Session, station_id: str) -> dict[str, Any]:
    """``{closing_revision, countersigned}`` of a closed station's latest closing report
    (``polls.poll_status``): the officials' screen offers "countersign again" while
    ``countersigned`` is false."""
    stored = session.get(PollReport, (station_id, "closing"))
    if stored is None:
        return {"closing_revision": None, "countersigned": False}
    return _countersign_of(json.loads(stored.envelope)["payload"])


def _countersign_of(payload: dict[str, Any]) -> dict[str, Any]:
    return {"closing_revision": payload["revision"], "countersigned": is_countersigned(payload)}


def closed_countersign_statuses(session: Session) -> dict[str, dict[str, Any]]:
    """``countersign_status`` of every closed station, in one query (HQ's overview: a
    closed station whose latest report lacks a countersignature needs its officials)."""
    rows = session.execute(
        select(PollReport.station_id, PollReport.envelope)
        .join(Station, Station.station_id == PollReport.station_id)
        .where(PollReport.kind == "closing", Station.poll_state == "closed")
    )
    return {
        station_id: _countersign_of(json.loads(envelope)["payload"])
        for station_id, envelope in rows
    }


def closing_envelope(state: ServerState, station_id: str) -> dict[str, Any]:
    """The station's latest signed closing report (``GET …/polls/<id>/closing-report``:
    the terminal fetches it to countersign it again); refused while there is none."""
    with Session(state.engine) as session:
        stored = session.get(PollReport, (station_id, "closing"))
    if stored is None:
        raise ServerError("not_closed", station_id)
    envelope: dict[str, Any] = json.loads(stored.envelope)
    return envelope


def reissue_closing_report(state: ServerState, station_id: str) -> None:
    """After a journaled ballot arrives late (or a void, or a changed declaration), the
    closing report is signed again as a new revision, without a countersignature: the
    officials' screen then offers to countersign it (``terminal/officials.py``)."""
    with state.sessions.begin() as session:
        station = session.execute(
            select(Station).where(Station.station_id == station_id).with_for_update()
        ).scalar_one()
        stored = session.get(PollReport, (station_id, "closing"))
        previous = json.loads(stored.envelope)["payload"] if stored else {}
        revision = 1 + previous.get("revision", 0)
        now = state.now()
        closing_report(
            state,
            session,
            station,
            now,
            station.poll_version - 1,  # closed: the close took the version one up
            revision,
            previous.get("closed_by"),
        )
        record_event(
            session,
            state.config.keys.server,
            "report.reissued",
            now,
            station_id=station_id,
            revision=revision,
        )
