"""The Flask app factory: one blueprint per area, JSON errors from one catalogue."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from ballot_server.blueprints import admin, board, check, hq, inquiry, intake, polls
from ballot_server.config import ServerConfig
from ballot_server.errors import ServerError
from ballot_server.request_context import STATE_EXTENSION
from ballot_server.state import ServerState

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}


def create_app(config: ServerConfig | None = None) -> Flask:
    """Build the app for ``config.services``; migrations run here unless
    ``config.run_migrations`` is off. An inquiry-only app serves the inquiry
    endpoints and opens only the registry database."""
    config = config or ServerConfig.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_request_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = True  # type: ignore[attr-defined]
    app.extensions[STATE_EXTENSION] = ServerState(config)
    blueprints = {
        "inquiry": (inquiry.blueprint,),
        "intake": (
            intake.blueprint,
            polls.blueprint,
            board.blueprint,
            check.blueprint,
            admin.blueprint,
            hq.blueprint,
        ),
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
