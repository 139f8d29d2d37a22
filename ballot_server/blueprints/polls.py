"""Poll state endpoints: officials' challenge and actions, terminal status, public state."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ballot_server import polls
from ballot_server.declarations import record_declaration
from ballot_server.errors import ServerError
from ballot_server.models import Terminal
from ballot_server.reports import closing_envelope, reissue_closing_report
from ballot_server.request_context import json_body, server_state
from ballot_server.requests import authenticate, prune_nonces
from crypto.errors import DecodingError
from evote import protocol

blueprint = Blueprint("polls", __name__)


@blueprint.post(protocol.PATH_OFFICIAL_CHALLENGE)
def challenge() -> ResponseReturnValue:
    state = server_state()
    _, terminal = authenticate(state.intake_gate, json_body(), protocol.ACTION_OFFICIAL_CHALLENGE)
    return jsonify(polls.official_challenge(state, terminal))


@blueprint.post(protocol.PATH_POLL_ACTION)
def action() -> ResponseReturnValue:
    state = server_state()
    request, terminal = authenticate(state.intake_gate, json_body(), protocol.ACTION_POLL)
    answer = polls.poll_action(state, request, terminal)
    prune_nonces(state.intake_gate)
    return jsonify(answer)


@blueprint.get(protocol.PATH_POLL_STATUS.replace("{station_id}", "<station_id>"))
def status(station_id: str) -> ResponseReturnValue:
    return jsonify(polls.poll_status(server_state(), station_id))


@blueprint.get(protocol.PATH_CLOSING_REPORT.replace("{station_id}", "<station_id>"))
def closing_report(station_id: str) -> ResponseReturnValue:
    """The station's latest signed closing report, for officials to countersign again."""
    state = server_state()
    return jsonify(closing_envelope(state, polls.station_id_from_path(station_id)))


@blueprint.post(protocol.PATH_TERMINAL_STATUS)
def terminal_status() -> ResponseReturnValue:
    """What a terminal needs after a restart: poll state and version and its chain head
    here (once closed, also whether the latest closing report is countersigned). A
    body declaring the terminal's journal is kept signed (``declarations.py``); after
    close a changed declaration reissues the closing report."""
    state = server_state()
    request, terminal = authenticate(state.intake_gate, json_body(), protocol.ACTION_STATUS)
    # Before any session: state.election() (on its first call in a worker) and
    # poll_status open their own, and on SQLite a session opened inside another waits
    # for the write lock the outer one holds: 30 s, then "database is locked".
    manifest = state.election().manifest
    try:
        declaration = protocol.parse_status_body(request.body)
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
    if declaration is not None:
        with state.sessions.begin() as session:
            changed = record_declaration(
                session, terminal.terminal_id, declaration, request.envelope
            )
        if changed and polls.poll_status(state, terminal.station_id)["state"] == "closed":
            reissue_closing_report(state, terminal.station_id)
    with Session(state.engine) as session:
        row = session.get(Terminal, terminal.terminal_id)
        assert row is not None
        answer = {
            "terminal_id": row.terminal_id,
            "station_id": row.station_id,
            "ballot_style_id": manifest.station(row.station_id).ballot_style_id,
            "last_sequence": row.last_sequence,
            "chain_head": row.chain_head,
        }
    polls_now = polls.poll_status(state, terminal.station_id)
    answer["poll_state"] = polls_now["state"]
    answer["poll_version"] = polls_now["poll_version"]
    answer["countersigned"] = polls_now.get("countersigned")
    return jsonify(answer)
