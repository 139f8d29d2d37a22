"""Ballot intake endpoints: cast and challenge."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from ballot_server.intake import submit
from ballot_server.national import publish_when_due
from ballot_server.release import void_authorization
from ballot_server.request_context import json_body, server_state
from evote import protocol

blueprint = Blueprint("intake", __name__)


def _answered(action: str) -> Response:
    """The ballot's answer; the national root, when due, only once it has been sent
    (the response's close: gunicorn's worker runs it before its next request)."""
    state = server_state()
    response = jsonify(submit(state, json_body(), action))
    response.call_on_close(lambda: publish_when_due(state))
    return response


@blueprint.post(protocol.PATH_CAST)
def cast() -> ResponseReturnValue:
    return _answered(protocol.ACTION_CAST)


@blueprint.post(protocol.PATH_VOID)
def void() -> ResponseReturnValue:
    return jsonify(void_authorization(server_state(), json_body()))


@blueprint.post(protocol.PATH_CHALLENGE)
def challenge() -> ResponseReturnValue:
    return _answered(protocol.ACTION_CHALLENGE)
