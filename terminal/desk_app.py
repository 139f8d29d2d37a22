"""The check-in desk's local HTTP service: the desk page and the API its script calls.

Loopback only, like the booth's kiosk, and the same paths where the actions
are the same, so ``evote terminal touch --kiosk <desk URL> pin 1234`` works:

* ``GET  /api/state?after=V&wait=S``  the desk's view (long-polls until the version passes V)
* ``GET  /api/catalogue``             every message, Persian and English
* ``POST /api/pin {pin}``             the voter's PIN, presented once
* ``POST /api/dismiss``               next voter (from ``issued`` or ``refused``)
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, request

from terminal.app import MAX_WAIT_S, serve_page
from terminal.desk import Desk
from terminal.errors import TerminalError
from terminal.i18n import catalogue_json


def create_desk_app(desk: Desk) -> Flask:
    """App factory: one desk per app."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    api = Blueprint("desk_api", __name__, url_prefix="/api")

    @api.get("/state")
    def state() -> Response:
        after = request.args.get("after", type=int)
        wait_s = min(request.args.get("wait", default=0.0, type=float), MAX_WAIT_S)
        if after is not None and wait_s > 0:
            desk.wait_for_change(after, wait_s)
        return jsonify(desk.view())

    @api.get("/catalogue")
    def catalogue() -> Response:
        return jsonify(catalogue_json())

    @api.post("/pin")
    def pin() -> Response:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise TerminalError("expected a JSON object", code="invalid_request")
        desk.enter_pin(str(data.get("pin", "")))
        return jsonify(desk.view())

    @api.post("/dismiss")
    def dismiss() -> Response:
        desk.dismiss()
        return jsonify(desk.view())

    app.register_blueprint(api)
    serve_page(app, "desk.html")
    return app
