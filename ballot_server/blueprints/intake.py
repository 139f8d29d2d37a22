"""Ballot intake endpoints: cast and challenge."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ballot_server.intake import submit
from ballot_server.release import void_authorization
from ballot_server.request_context import json_body, server_state
from evote import protocol

blueprint = Blueprint("intake", __name__)


@blueprint.post(protocol.PATH_CAST)
def cast() -> ResponseReturnValue:
    return jsonify(submit(server_state(), json_body(), protocol.ACTION_CAST))


@blueprint.post(protocol.PATH_VOID)
def void() -> ResponseReturnValue:
    return jsonify(void_authorization(server_state(), json_body()))


@blueprint.post(protocol.PATH_CHALLENGE)
def challenge() -> ResponseReturnValue:
    return jsonify(submit(server_state(), json_body(), protocol.ACTION_CHALLENGE))
