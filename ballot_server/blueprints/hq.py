"""HQ's front page (``GET /``) and the figures it shows (``GET /api/v1/hq``).

The page is static (``ballot_server/static/hq.*``) and fetches the figures
itself every few seconds; it loads nothing from anywhere but this server.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, send_from_directory
from flask.typing import ResponseReturnValue

from ballot_server.hq_overview import overview
from ballot_server.request_context import server_state
from evote.typeface import FONT_DIRECTORY

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
PATH_HQ = "/api/v1/hq"

blueprint = Blueprint("hq", __name__)


@blueprint.after_request
def own_files_only(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'"
    )
    return response


@blueprint.get("/")
def front_page() -> ResponseReturnValue:
    response = send_from_directory(STATIC_DIR, "hq.html")
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/hq/<name>")
def page_file(name: str) -> ResponseReturnValue:
    return send_from_directory(STATIC_DIR, name)


@blueprint.get("/hq/fonts/<name>")
def font(name: str) -> ResponseReturnValue:
    return send_from_directory(FONT_DIRECTORY, name)


@blueprint.get(PATH_HQ)
def figures() -> ResponseReturnValue:
    return jsonify(overview(server_state()))
