"""Registry and online inquiry endpoints (own database; deployable apart)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ballot_server import inquiry
from ballot_server.release import release_check_in
from ballot_server.request_context import json_body, server_state
from evote import protocol

blueprint = Blueprint("inquiry", __name__)


@blueprint.post(protocol.PATH_INQUIRY_CHALLENGE)
def challenge() -> ResponseReturnValue:
    return jsonify(inquiry.issue_challenge(server_state(), json_body()))


@blueprint.post(protocol.PATH_CHECK_IN)
def check_in() -> ResponseReturnValue:
    return jsonify(inquiry.check_in(server_state(), json_body()))


@blueprint.post(protocol.PATH_ISSUE_PASS)
def issue_pass() -> ResponseReturnValue:
    return jsonify(inquiry.check_in(server_state(), json_body(), as_pass=True))


@blueprint.post(protocol.PATH_RELEASE)
def release() -> ResponseReturnValue:
    return jsonify(release_check_in(server_state(), json_body()))


@blueprint.post(protocol.PATH_REDEEM_PASS)
def redeem_pass() -> ResponseReturnValue:
    return jsonify(inquiry.redeem_pass(server_state(), json_body()))
