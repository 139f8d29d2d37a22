"""No voter locked out: a terminal voids the authorization it will not use, and the
voter's check-in is released so they can check in again at the same station.

A voter whose session ends before Cast for a reason that is not theirs (Cancel,
card pulled, idle timeout, the check-in answer lost, the terminal restarted)
would otherwise stay checked in with an authorization nobody will use, and be
refused ``already_voted``. The design (docs/server.md, "No voter locked out"):

1. At check-in the terminal sends a fresh secret *release key*. The inquiry
   derives the authorization's id from it and stores beside the check-in only a
   *commitment*, another hash of it (``protocol.release_derivation``): the board
   will show the id, the registry holds the commitment, and neither leads to the
   other without the key, which the terminal forgets once the ballot is cast.
2. To give up an authorization the terminal *voids* it at the intake
   (``void_authorization``): a ``spent_authorizations`` row, the same primary key
   a cast inserts, so of a void and a cast of one authorization exactly one
   succeeds, in every interleaving; the server signs the void and publishes it
   (``board/voids.jsonl``). The terminal knows the id before the answer comes, so
   it can void an authorization whose answer was lost.
3. With the signed void and the release key the terminal *releases* the check-in
   at the inquiry (``release_check_in``): the row whose commitment matches is
   marked released. A released voter may check in again at the same station
   (``inquiry.check_in``), which counts one more authorization issued.

A voter checked in at the desk holds a QR pass instead; a booth redeems it with a
release key of its own, the pass row keeps the commitment, and a release with the
pass id (the booth does not know the voter) makes the pass redeemable again.

So every authorization is cast, voided or unused, and a voter holds at most one
that is not voided: at most one cast ballot per voter. Closing reports count
``issued = cast + voided + unused`` (``reports.py``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.errors import ServerError
from ballot_server.models import AuthorizationVoid, SpentAuthorization, Station, Terminal
from ballot_server.polls import PollState
from ballot_server.registry_models import CheckIn, IssuedPass
from ballot_server.reports import reissue_closing_report
from ballot_server.requests import authenticate
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.errors import CryptoError, DecodingError
from evote import protocol

_RELEASE = (
    update(CheckIn)
    .where(
        CheckIn.national_code == bindparam("voter"),
        CheckIn.station_id == bindparam("station"),
        CheckIn.release_commitment == bindparam("commitment"),
        CheckIn.released.is_(False),
    )
    .values(released=True, release_commitment=None, release_escrow=None)
)
# A QR pass whose authorization was voided may be redeemed again (``inquiry.redeem_pass``).
_RELEASE_PASS = (
    update(IssuedPass)
    .where(
        IssuedPass.pass_id == bindparam("pass"),
        IssuedPass.station_id == bindparam("station"),
        IssuedPass.release_commitment == bindparam("commitment"),
        IssuedPass.redeemed.is_(True),
    )
    .values(redeemed=False, release_commitment=None)
)


def void_authorization(state: ServerState, data: object) -> dict[str, Any]:
    """Void an authorization of the terminal's station that no ballot has spent; answer
    the signed void (the stored one again if it was voided already)."""
    request, terminal = authenticate(state.intake_gate, data, protocol.ACTION_VOID)
    try:
        void = protocol.parse_void_body(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    if void.station_id != terminal.station_id:
        raise ServerError("wrong_station")
    if void.holder_terminal_id == terminal.terminal_id:
        raise ServerError("malformed_request", "a terminal voids its own authorizations plainly")
    now = state.now()
    payload = {
        "election_id": state.election().election_id,
        "authorization_id": void.authorization_id,
        "station_id": void.station_id,
        "terminal_id": terminal.terminal_id,
        "reason": void.reason,
        "voided_at": now,
        "request": request.envelope.to_json(),
    }
    envelope = state.config.keys.server.sign(protocol.VOID_KIND, payload).to_json()
    try:
        with state.sessions.begin() as session:
            connection = session.connection()
            if void.holder_terminal_id is not None:
                _voiding_for_revoked(session, state, void, terminal.terminal_id, now)
            connection.execute(
                insert(SpentAuthorization),
                {"authorization_id": void.authorization_id, "station_id": void.station_id},
            )
            connection.execute(
                insert(AuthorizationVoid),
                {
                    "authorization_id": void.authorization_id,
                    "station_id": void.station_id,
                    "voided_at": now,
                    "envelope": canonical_json(envelope).decode("utf-8"),
                },
            )
            poll_state = session.execute(
                select(Station.poll_state).where(Station.station_id == void.station_id)
            ).scalar_one()
    except IntegrityError:  # spent already: by this void before (a resend) or by a ballot
        with Session(state.engine) as session:
            held = session.get(AuthorizationVoid, void.authorization_id)
        if held is None or held.station_id != void.station_id:
            raise ServerError("authorization_used", "a ballot spent it") from None
        return {"void": json.loads(held.envelope)}
    if poll_state == PollState.CLOSED.value:
        reissue_closing_report(state, void.station_id)
    return {"void": envelope}


def _voiding_for_revoked(
    session: Session, state: ServerState, void: protocol.VoidRequest, terminal_id: str, now: int
) -> None:
    """A booth voids for the voter an authorization its holder can no longer spend: the
    holder is a terminal of this station that HQ revoked, so no ballot it signs can be
    appended any more (``intake._append`` reads the revocation under the terminal
    row's lock). Audited with the void, in its transaction."""
    holder = session.execute(
        select(Terminal.station_id, Terminal.revoked_at).where(
            Terminal.terminal_id == void.holder_terminal_id
        )
    ).one_or_none()
    if holder is None or holder.station_id != void.station_id:
        raise ServerError("wrong_station", f"{void.holder_terminal_id} is not of this station")
    if holder.revoked_at is None:
        raise ServerError("holder_not_revoked", str(void.holder_terminal_id))
    record_event(
        session,
        state.config.keys.server,
        "authorization.voided_for_revoked",
        now,
        authorization_id=void.authorization_id,
        station_id=void.station_id,
        holder_terminal_id=void.holder_terminal_id,
        terminal_id=terminal_id,
    )


def release_check_in(state: ServerState, data: object) -> dict[str, Any]:
    """Release the check-in (or the QR pass) whose authorization the signed void names,
    given the release key it was derived from; ``{released: false}`` when none holds
    that key's commitment (never checked in or redeemed: the request was lost; or
    released already)."""
    request, terminal = authenticate(state.inquiry_gate, data, protocol.ACTION_RELEASE)
    try:
        release = protocol.parse_release_body(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    try:
        payload = release.void.verify(protocol.VOID_KIND, state.config.keys.server_public)
    except CryptoError as error:
        raise ServerError("void_invalid", str(error)) from error
    if not isinstance(payload, dict) or set(payload) != protocol.VOID_FIELDS:
        raise ServerError("void_invalid", "fields")
    # The void's own holder: the voiding terminal, or the revoked one it voided for.
    holder = protocol.void_holder(payload)
    authorization_id, commitment = protocol.release_derivation(release.release_key, holder)
    if (
        payload["authorization_id"] != authorization_id
        or payload["station_id"] != terminal.station_id
        or payload["election_id"] != state.inquiry_manifest().election_id
    ):
        raise ServerError("void_invalid", "not the void of this key's authorization here")
    parameters: dict[str, str | None]
    if release.pass_id is not None:
        statement, parameters = _RELEASE_PASS, {"pass": release.pass_id}
    else:
        statement, parameters = _RELEASE, {"voter": release.national_code}
    with state.registry_engine.begin() as connection:
        marked = connection.execute(
            statement, {**parameters, "station": terminal.station_id, "commitment": commitment}
        )
    return {"released": marked.rowcount == 1}


def voids(session: Session) -> list[dict[str, Any]]:
    """Every signed void, in order (``board/voids.jsonl``)."""
    rows = session.execute(
        select(AuthorizationVoid.envelope).order_by(
            AuthorizationVoid.voided_at, AuthorizationVoid.authorization_id
        )
    ).scalars()
    return [json.loads(row) for row in rows]
