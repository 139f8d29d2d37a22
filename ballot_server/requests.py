"""Authenticating terminal requests: known terminal, valid signature, fresh and unseen.

Freshness: the signed timestamp must lie within ``request_window_s`` of the
server clock and the nonce must not have been seen from that terminal; nonces
are kept for twice the window, so a replay is refused either way. Ballot
submissions skip freshness (see ``evote/protocol.py``).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from ballot_server import db
from ballot_server.errors import ServerError
from ballot_server.models import RequestNonce
from ballot_server.state import ServerState, TerminalKey
from crypto.errors import DecodingError, InvalidSignature
from evote.protocol import TERMINAL_REQUEST, TerminalRequest, parse_terminal_request

# Built once: building a statement per request costs as much as executing it.
_INSERT_NONCE = insert(RequestNonce).values(
    terminal_id=bindparam("terminal_id"),
    nonce=bindparam("nonce"),
    timestamp=bindparam("timestamp"),
)


def authenticate(
    state: ServerState, data: object, action: str, *, fresh: bool = True
) -> tuple[TerminalRequest, TerminalKey]:
    """Decode and authenticate a terminal request for ``action``, or raise ServerError."""
    try:
        request = parse_terminal_request(data)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    if request.action != action:
        raise ServerError("malformed_request", f"expected action {action!r}")
    terminal = state.terminal(request.terminal_id)
    try:
        request.envelope.verify(TERMINAL_REQUEST, terminal.public_key)
    except InvalidSignature as error:
        raise ServerError("bad_signature", str(error)) from error
    if fresh:
        _check_fresh(state, request)
    return request, terminal


def _check_fresh(state: ServerState, request: TerminalRequest) -> None:
    now = state.now()
    window = state.config.request_window_s
    if abs(now - request.timestamp) > window:
        raise ServerError("stale_request", f"timestamp {request.timestamp}, server time {now}")
    try:
        db.write_once(
            state.ephemeral_engine,
            _INSERT_NONCE,
            {
                "terminal_id": request.terminal_id,
                "nonce": request.nonce,
                "timestamp": request.timestamp,
            },
        )
    except IntegrityError as error:
        raise ServerError("replayed_request") from error


def prune_nonces(state: ServerState) -> None:
    """Forget nonces too old to pass the time window anyway."""
    horizon = state.now() - 2 * state.config.request_window_s
    with state.sessions.begin() as session:
        session.execute(delete(RequestNonce).where(RequestNonce.timestamp < horizon))
