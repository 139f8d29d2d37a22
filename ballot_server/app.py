"""The Flask app factory: one blueprint per area, JSON errors from one catalogue."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ballot_server.config import ServerConfig
from ballot_server.errors import ServerError
from ballot_server.state import ServerState
from crypto.canonical import parse_json
from crypto.errors import DecodingError

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def create_app(config: ServerConfig | None = None) -> Flask:
    """Build the app for ``config.services``; migrations run here unless
    ``config.run_migrations`` is off. An inquiry-only app serves the inquiry
    endpoints and opens only the registry database."""
    from ballot_server.blueprints import admin, board, inquiry, intake, polls

    config = config or ServerConfig.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]
    app.extensions["evote"] = ServerState(config)
    blueprints = {
        "inquiry": (inquiry.blueprint,),
        "intake": (intake.blueprint, polls.blueprint, board.blueprint, admin.blueprint),
    }
    for service in config.services:
        for blueprint in blueprints[service]:
            app.register_blueprint(blueprint)

    @app.errorhandler(ServerError)
    def _refused(error: ServerError) -> ResponseReturnValue:
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if status >= 500:
            return jsonify({"code": "server_error", "message": "internal error"}), status
        server_error = ServerError(HTTP_CODES.get(status, "malformed_request"))
        return jsonify(server_error.body()), status

    return app


def server_state() -> ServerState:
    state: ServerState = current_app.extensions["evote"]
    return state


def json_body() -> Any:
    """The request body, parsed strictly (size-limited, no duplicate keys, no NaN)."""
    if request.mimetype != "application/json":
        raise ServerError("unsupported_media_type")
    try:
        return parse_json(
            request.get_data(cache=False), max_bytes=server_state().config.max_request_bytes
        )
    except DecodingError as error:
        raise ServerError("malformed_request", str(error)) from error
