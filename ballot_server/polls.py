"""Poll state per station: an explicit state machine driven by officials' cards.

NOT_OPENED → OPEN (zero report) → PAUSED ↔ OPEN → CLOSED (closing report).
Reopening closed polls is only HQ's, and only as PAUSED. An illegal
transition raises ``IllegalTransition`` and changes nothing.

The inquiry runs on the registry database and learns the state from its copy
there (``publish_to_inquiry``). The copy is never more open than the intake:
a transition away from open is written there before the intake commits (the
write waits for every check-in that read the station open, since those hold
a share lock on the row), an opening only after. Every transition bumps the
station's ``poll_version``; the copy keeps the highest version it was sent.
"""

from __future__ import annotations

import enum
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot_server import national, reports
from ballot_server.audit import record_event
from ballot_server.cards import verify_card
from ballot_server.db import skip_commit_flush
from ballot_server.declarations import backlog, hold_declared_at_close, record_declaration
from ballot_server.errors import ServerError
from ballot_server.models import OfficialChallenge, Station, Terminal
from ballot_server.registry_models import InquiryStation
from ballot_server.state import ServerState, TerminalKey
from crypto.errors import DecodingError
from evote.countersign import countersign_message
from evote.protocol import CHALLENGE_BYTES, TerminalRequest, identifier, parse_poll_action


class PollState(enum.Enum):
    NOT_OPENED = "not_opened"
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


TRANSITIONS: dict[tuple[PollState, str], PollState] = {
    (PollState.NOT_OPENED, "open"): PollState.OPEN,
    (PollState.OPEN, "pause"): PollState.PAUSED,
    (PollState.PAUSED, "resume"): PollState.OPEN,
    (PollState.OPEN, "close"): PollState.CLOSED,
    (PollState.PAUSED, "close"): PollState.CLOSED,
    (PollState.CLOSED, "reopen"): PollState.PAUSED,
}
EVENT_OF_ACTION = {
    "open": "poll.opened",
    "pause": "poll.paused",
    "resume": "poll.resumed",
    "close": "poll.closed",
    "reopen": "poll.reopened",
}


class IllegalTransition(ServerError):
    """The poll state does not allow this action."""

    def __init__(self, current: PollState, action: str) -> None:
        super().__init__("illegal_transition", f"cannot {action} polls that are {current.value}")
        self.current = current
        self.action = action


def next_state(current: PollState, action: str) -> PollState:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalTransition(current, action) from None


def official_challenge(state: ServerState, terminal: TerminalKey) -> dict[str, Any]:
    """A fresh challenge for an official's card, bound to this terminal, with the
    station's poll version (a close names the version it ends)."""
    challenge_id, challenge = os.urandom(16).hex(), os.urandom(CHALLENGE_BYTES)
    expires_at = state.now() + state.config.challenge_ttl_s
    with state.sessions.begin() as session:
        skip_commit_flush(session)
        station = session.get(Station, terminal.station_id)
        assert station is not None, "a registered terminal's station exists"
        poll_version = station.poll_version
        session.add(
            OfficialChallenge(
                challenge_id=challenge_id,
                terminal_id=terminal.terminal_id,
                challenge=challenge.hex(),
                expires_at=expires_at,
                used=False,
            )
        )
    return {
        "challenge_id": challenge_id,
        "challenge": challenge.hex(),
        "expires_at": expires_at,
        "poll_version": poll_version,
    }


def poll_action(
    state: ServerState, request: TerminalRequest, terminal: TerminalKey
) -> dict[str, Any]:
    """An official's open/pause/resume/close at ``terminal``'s station, or the
    countersignature of its closing report by the official's card."""
    try:
        parsed = parse_poll_action(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    info = state.election()
    now = state.now()
    with state.sessions.begin() as session:
        challenge = session.execute(
            select(OfficialChallenge)
            .where(OfficialChallenge.challenge_id == parsed.answer.challenge_id)
            .with_for_update()
        ).scalar_one_or_none()
        if (
            challenge is None
            or challenge.used
            or challenge.terminal_id != terminal.terminal_id
            or challenge.expires_at < now
        ):
            raise ServerError("unknown_challenge")
        signed = bytes.fromhex(challenge.challenge)
        if parsed.counts is not None:
            signed = countersign_message(signed, parsed.counts)
        with Session(state.registry_engine) as registry:
            card = verify_card(registry, state.config.keys.registry_public, parsed.answer, signed)
        if card.role != "official":
            raise ServerError("not_an_official")
        if card.station_id != terminal.station_id:
            raise ServerError("official_wrong_station")
        challenge.used = True
        if parsed.counts is not None:
            report = reports.countersign_closing_report(
                state,
                session,
                terminal.station_id,
                {
                    "counts": parsed.counts,
                    "challenge": challenge.challenge,
                    "card_certificate": parsed.answer.certificate.to_json(),
                    "card_signature": parsed.answer.card_signature.hex(),
                },
            )
            return {
                "election_id": info.election_id,
                "station_id": terminal.station_id,
                "state": PollState.CLOSED.value,
                "report": report,
            }
        if parsed.declaration is not None:
            record_declaration(session, terminal.terminal_id, parsed.declaration, request.envelope)
        who: dict[str, Any] = {"card_id": card.card_id}
        closed_by = None
        if parsed.action == "close":
            who.update(_backlog_check(state, session, terminal, parsed.override_backlog, now))
            closed_by = request.envelope.to_json()
        report = transition(
            state,
            session,
            terminal.station_id,
            parsed.action,
            now,
            closed_by=closed_by,
            expected_version=parsed.poll_version,
            **who,
        )
    if report["state"] == PollState.OPEN.value:
        publish_to_inquiry(state, terminal.station_id, PollState.OPEN, report["version"])
    if parsed.action == "close":  # the station's last entries get a root at once
        national.publish_root(state)
    return {
        "election_id": info.election_id,
        "station_id": terminal.station_id,
        "state": report["state"],
        "report": report["report"],
    }


def _backlog_check(
    state: ServerState, session: Session, terminal: TerminalKey, override: bool, now: int
) -> dict[str, Any]:
    """Refuse to close over ballots still waiting, unless the official overrides it;
    an override is audited with the backlog it closed over (and the closing event
    then names it too)."""
    terminals = list(
        session.execute(
            select(Terminal)
            .where(Terminal.station_id == terminal.station_id)
            .order_by(Terminal.terminal_id)
        ).scalars()
    )
    waiting = backlog(terminals)
    if not waiting:
        return {}
    if not override:
        raise ServerError(
            "backlog_waiting",
            ", ".join(f"{item['terminal_id']}: {item['count']}" for item in waiting),
            details={"backlog": waiting},
        )
    record_event(
        session,
        state.config.keys.server,
        "poll.close_override",
        now,
        station_id=terminal.station_id,
        terminal_id=terminal.terminal_id,
        backlog=waiting,
    )
    return {"backlog": waiting}


def transition(
    state: ServerState,
    session: Session,
    station_id: str,
    action: str,
    now: int,
    closed_by: dict[str, Any] | None = None,
    expected_version: int | None = None,
    **who: Any,
) -> dict[str, Any]:
    """Apply ``action`` in the caller's transaction; issue the report it calls for. A
    transition away from open reaches the inquiry's copy here, before the caller
    commits; an opening must be published by the caller after it commits
    (``result["publish"]``). ``closed_by`` is the terminal's signed close request,
    which the closing report carries (a close by the server alone has none), and
    ``expected_version`` the poll version it names: another one is refused
    (``poll_version_mismatch``), so a close signed for one poll period never closes
    another."""
    station = session.execute(
        select(Station).where(Station.station_id == station_id).with_for_update()
    ).scalar_one()
    new = next_state(PollState(station.poll_state), action)
    if expected_version is not None and expected_version != station.poll_version:
        raise ServerError(
            "poll_version_mismatch",
            f"signed for poll version {expected_version}; {station_id} is at "
            f"{station.poll_version}",
            details={"poll_version": station.poll_version},
        )
    ended = station.poll_version
    station.poll_version += 1
    report = None
    if action == "open":
        report = reports.zero_report(state, session, station, now)
        station.opened_at = now
    elif action == "close":
        station.closed_at = now
        hold_declared_at_close(session, station_id)
        report = reports.closing_report(state, session, station, now, ended, closed_by=closed_by)
    station.poll_state = new.value
    record_event(
        session,
        state.config.keys.server,
        EVENT_OF_ACTION[action],
        now,
        station_id=station_id,
        **who,
    )
    if new != PollState.OPEN:
        publish_to_inquiry(state, station_id, new, station.poll_version)
    return {"state": new.value, "report": report, "version": station.poll_version}


def publish_to_inquiry(state: ServerState, station_id: str, new: PollState, version: int) -> None:
    """Write a station's poll state to the inquiry's copy (registry database) in its
    own transaction, unless the copy already holds this version or a later one."""
    with state.registry_sessions.begin() as registry:
        held = registry.execute(
            select(InquiryStation).where(InquiryStation.station_id == station_id).with_for_update()
        ).scalar_one_or_none()
        if held is None:
            registry.add(
                InquiryStation(station_id=station_id, poll_state=new.value, poll_version=version)
            )
        elif held.poll_version < version:
            held.poll_state = new.value
            held.poll_version = version


def hq_reopen(state: ServerState, station_id: str) -> str:
    """HQ reopens closed polls, as paused (officials must then resume)."""
    with state.sessions.begin() as session:
        if session.get(Station, station_id) is None:
            raise ServerError("unknown_station", station_id)
        result = transition(state, session, station_id, "reopen", state.now(), by="hq")
    return str(result["state"])


def station_id_from_path(text: str) -> str:
    """A station id taken from a URL path, checked before it reaches a query."""
    try:
        return identifier(text, "station_id")
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error


def poll_status(state: ServerState, station_id: str) -> dict[str, Any]:
    """A station's poll state and version; once closed, the revision of its latest
    closing report and whether officials countersigned that very revision."""
    station_id = station_id_from_path(station_id)
    with Session(state.engine) as session:
        station = session.get(Station, station_id)
        if station is None:
            raise ServerError("unknown_station", station_id)
        status: dict[str, Any] = {
            "station_id": station_id,
            "state": station.poll_state,
            "poll_version": station.poll_version,
            "opened_at": station.opened_at,
            "closed_at": station.closed_at,
        }
        if station.poll_state == PollState.CLOSED.value:
            status.update(reports.countersign_status(session, station_id))
    return status


def open_station_ids(state: ServerState) -> list[str]:
    """Stations that can still take ballots (open, or paused and able to resume)."""
    with Session(state.engine) as session:
        rows = session.execute(
            select(Station.station_id)
            .where(Station.poll_state.in_([PollState.OPEN.value, PollState.PAUSED.value]))
            .order_by(Station.station_id)
        )
        return list(rows.scalars())
