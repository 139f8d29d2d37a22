"""The terminal's local HTTP service: the kiosk page and the API its script calls.

Bound to loopback only. The same API is what the demo's simulated voters use,
so they go through exactly the code a person at the touchscreen does:

* ``GET  /api/state?after=V&wait=S``  the view (long-polls until the version passes V)
* ``GET  /api/catalogue``             every message, Persian and English
* ``GET  /api/status``                the link to the server: online, waiting, last error
* ``POST /api/pin {pin}``             present the PIN once
* ``POST /api/review {choices}``      choices = {contest_id: [selection_id, ...]}
* ``POST /api/edit`` · ``/api/confirm`` · ``/api/cast`` · ``/api/challenge``
* ``POST /api/vote-again`` · ``/api/cancel`` · ``/api/dismiss`` · ``/api/still-here``
* ``POST /api/officials/<open|pause|resume|close>``  (close: ``{override_backlog: true}``
  closes although ballots are still waiting; audited by the server)
* ``POST /api/officials/countersign``  countersign the station's latest closing report
  again (offered while the server says it lacks the officials' countersignature)
* ``POST /api/offline/<enter|leave>``  officials: offline mode (docs/offline.md)

Every POST answers with the new view; a refused action answers 4xx with
``{code, message_fa, message_en}`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    jsonify,
    request,
    send_file,
    send_from_directory,
)

from evote.typeface import FONT_DIRECTORY
from terminal import casting
from terminal.booth import Booth
from terminal.errors import IllegalTransition, InvalidChoices, TerminalError
from terminal.i18n import CATALOGUE, catalogue_json
from terminal.officials import countersign_again, link_status, offline_action, poll_action
from terminal.speech import DEFAULT_RATE_WPM, Speech, SpeechUnavailable
from terminal.view import booth_view

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_WAIT_S = 25.0


def error_answer(error: TerminalError) -> tuple[Response, int]:
    """A refused action: 409 for the wrong moment, 400 for bad input; both languages."""
    status = 409 if isinstance(error, IllegalTransition) else 400
    if isinstance(error, SpeechUnavailable) and error.code == SpeechUnavailable.code:
        status = 503
    key = error.code if error.code in CATALOGUE else "terminal_error"
    fa, en = CATALOGUE[key]
    return jsonify({"code": error.code, "message_fa": fa, "message_en": en}), status


def security_headers(response: Response) -> Response:
    """Nothing but the terminal's own files: the page works offline and loads nothing remote."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self'; script-src 'self'; font-src 'self'"
    )
    return response


def create_app(booth: Booth) -> Flask:
    """App factory: one booth per app, no module-level state."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    api = Blueprint("api", __name__, url_prefix="/api")

    def action(handler: Callable[[], object]) -> Response:
        booth.note_activity()
        handler()
        return jsonify(booth_view(booth))

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise InvalidChoices("expected a JSON object")
        return data

    @api.get("/state")
    def state() -> Response:
        after = request.args.get("after", type=int)
        wait_s = min(request.args.get("wait", default=0.0, type=float), MAX_WAIT_S)
        if after is not None and wait_s > 0:
            booth.session.wait_for_change(after, wait_s)
        return jsonify(booth_view(booth))

    @api.get("/status")
    def status() -> Response:
        return jsonify(link_status(booth))

    @api.get("/catalogue")
    def catalogue() -> Response:
        return jsonify(catalogue_json())

    @api.post("/pin")
    def pin() -> Response:
        return action(lambda: booth.enter_pin(str(body().get("pin", ""))))

    @api.post("/review")
    def review() -> Response:
        return action(lambda: booth.review(body().get("choices")))

    simple: dict[str, Callable[[], object]] = {
        "edit": booth.edit,
        "confirm": booth.confirm,
        "cast": lambda: casting.cast(booth),
        "challenge": lambda: casting.challenge(booth),
        "vote-again": booth.vote_again,
        "cancel": booth.cancel,
        "still-here": lambda: None,  # ``action`` notes the activity: the countdown restarts
        "dismiss": booth.dismiss,
    }
    for name, handler in simple.items():
        api.add_url_rule(
            f"/{name}",
            endpoint=name,
            view_func=lambda handler=handler: action(handler),
            methods=["POST"],
        )

    speech = Speech(booth.config.data_dir / "speech")

    @api.get("/speech")
    def speak() -> Response:
        clip = speech.clip(
            request.args.get("text", ""),
            request.args.get("lang", "fa"),
            request.args.get("rate", default=DEFAULT_RATE_WPM, type=int),
        )
        return send_file(clip, mimetype="audio/wav", max_age=3600)

    @api.post("/officials/countersign")
    def countersign() -> Response:
        return action(lambda: countersign_again(booth))

    @api.post("/officials/<name>")
    def officials(name: str) -> Response:
        override = body().get("override_backlog", False) is True if request.data else False
        return action(lambda: poll_action(booth, name, override_backlog=override))

    @api.post("/offline/<name>")
    def offline(name: str) -> Response:
        return action(lambda: offline_action(booth, name))

    app.register_blueprint(api)
    serve_page(app, "index.html")

    @app.get("/kiosk-sw.js")
    def service_worker() -> Response:
        """At the root so its scope covers the page (see static/kiosk-connection.js)."""
        response = send_from_directory(STATIC_DIR, "kiosk-sw.js")
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def serve_page(app: Flask, page: str) -> None:
    """What every loopback screen (booth kiosk, check-in desk) serves around its
    API: the page at ``/`` never cached (a restarted terminal's page must load
    fresh), its static files and fonts, refusals as JSON and the same headers."""
    app.register_error_handler(TerminalError, error_answer)

    @app.get("/")
    def index() -> Response:
        response = send_from_directory(STATIC_DIR, page)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/static/<path:name>")
    def static_file(name: str) -> Response:
        return send_from_directory(STATIC_DIR, name)

    @app.get("/fonts/<name>")
    def font(name: str) -> Response:
        return send_from_directory(FONT_DIRECTORY, name)

    app.after_request(security_headers)
