"""What a request handler needs from the running app: the server state and the
strictly parsed JSON body.

A module of its own so that the blueprints, which need these, and the app
factory, which imports the blueprints, do not import each other.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from ballot_server.errors import ServerError
from ballot_server.state import ServerState
from crypto.canonical import parse_json
from crypto.errors import DecodingError

STATE_EXTENSION = "evote"


def server_state() -> ServerState:
    """The state ``create_app`` put on the current app."""
    state: ServerState = current_app.extensions[STATE_EXTENSION]
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
