"""Authenticating terminal requests: known terminal, valid signature, fresh and unseen.

Freshness: the signed timestamp must lie within the gate's window of the server
clock and the nonce must not have been seen from that terminal; nonces are kept
for twice the window, so a replay is refused either way. Each service checks
requests at its own gate (``state.RequestGate``): the intake against its
terminal table and ``request_nonces``, the inquiry against its own copies in
the registry database. Ballot submissions skip freshness (see
``evote/protocol.py``); a check-in records its nonce inside its own transaction
(``inquiry.py``).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from ballot_server import db
from ballot_server.errors import ServerError
from ballot_server.models import RequestNonce
from ballot_server.registry_models import InquiryNonce
from ballot_server.state import RequestGate, TerminalKey
from crypto.errors import DecodingError, InvalidSignature
from evote.protocol import TERMINAL_REQUEST, TerminalRequest, parse_terminal_request

# Built once: building a statement per request costs as much as executing it.
_INSERT_NONCE = {
    RequestNonce: insert(RequestNonce).values(
        terminal_id=bindparam("terminal_id"),
        nonce=bindparam("nonce"),
        timestamp=bindparam("timestamp"),
    ),
    InquiryNonce: insert(InquiryNonce).values(
        digest=bindparam("digest"), timestamp=bindparam("timestamp")
    ),
}


def verify_signed(
    gate: RequestGate, data: object, action: str
) -> tuple[TerminalRequest, TerminalKey]:
    """Decode a terminal request for ``action`` and check its signature; freshness is
    the caller's (``authenticate`` checks it too)."""
    try:
        request = parse_terminal_request(data)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    if request.action != action:
        raise ServerError("malformed_request", f"expected action {action!r}")
    terminal = gate.terminal(request.terminal_id)
    try:
        request.envelope.verify(TERMINAL_REQUEST, terminal.public_key)
    except InvalidSignature as error:
        raise ServerError("bad_signature", str(error)) from error
    if terminal.revoked:
        raise ServerError("terminal_revoked", request.terminal_id)
    return request, terminal


def authenticate(
    gate: RequestGate, data: object, action: str
) -> tuple[TerminalRequest, TerminalKey]:
    """Decode, verify and check the freshness of a terminal request, or raise ServerError."""
    request, terminal = verify_signed(gate, data, action)
    check_window(gate, request)
    try:
        db.write_once(gate.nonce_engine, _INSERT_NONCE[gate.nonce_table], gate.nonce_row(request))
    except IntegrityError as error:
        raise ServerError("replayed_request") from error
    return request, terminal


def check_window(gate: RequestGate, request: TerminalRequest) -> None:
    now = gate.clock()
    if abs(now - request.timestamp) > gate.window_s:
        raise ServerError("stale_request", f"timestamp {request.timestamp}, server time {now}")


def prune_nonces(gate: RequestGate) -> None:
    """Forget nonces too old to pass the time window anyway."""
    horizon = gate.clock() - 2 * gate.window_s
    table = gate.nonce_table
    with gate.nonce_engine.begin() as connection:
        connection.execute(delete(table).where(table.timestamp < horizon))
