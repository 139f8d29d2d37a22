"""Registry and online inquiry endpoints (own database; deployable apart)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ballot_server import inquiry
from ballot_server.app import json_body, server_state
from ballot_server.requests import authenticate
from evote import protocol

blueprint = Blueprint("inquiry", __name__)


@blueprint.post(protocol.PATH_INQUIRY_CHALLENGE)
def challenge() -> ResponseReturnValue:
    state = server_state()
    _, terminal = authenticate(state, json_body(), protocol.ACTION_INQUIRY_CHALLENGE)
    return jsonify(inquiry.issue_challenge(state, terminal))


@blueprint.post(protocol.PATH_CHECK_IN)
def check_in() -> ResponseReturnValue:
    state = server_state()
    request, terminal = authenticate(state, json_body(), protocol.ACTION_CHECK_IN)
    return jsonify(inquiry.check_in(state, request, terminal))


@blueprint.post(protocol.PATH_ISSUE_PASS)
def issue_pass() -> ResponseReturnValue:
    state = server_state()
    request, terminal = authenticate(state, json_body(), protocol.ACTION_ISSUE_PASS)
    return jsonify(inquiry.check_in(state, request, terminal, as_pass=True))


@blueprint.post(protocol.PATH_REDEEM_PASS)
def redeem_pass() -> ResponseReturnValue:
    state = server_state()
    request, terminal = authenticate(state, json_body(), protocol.ACTION_REDEEM_PASS)
    return jsonify(inquiry.redeem_pass(state, request, terminal))
