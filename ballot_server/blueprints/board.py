"""Public bulletin-board endpoints: shard entries, national roots and proofs,
tracking-code lookup, export."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, render_template_string, request
from flask.typing import ResponseReturnValue

from ballot_server import board, national
from ballot_server.board import MAX_POSITION
from ballot_server.errors import ServerError
from ballot_server.polls import station_id_from_path
from ballot_server.record import station_export
from ballot_server.request_context import server_state
from evote import protocol
from evote.digits import persian_digits

blueprint = Blueprint("board", __name__)
_TRACKING_CODE = re.compile(r"[0-9a-f]{64}")

TRACK_PAGE = """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>کد رهگیری / Tracking code</title>
<style>body{font-family:'Noto Sans Arabic','Noto Sans',sans-serif;margin:2em}
.en{direction:ltr;text-align:left;color:#444}code{word-break:break-all}</style></head><body>
<h1>جستجوی کد رهگیری</h1><p class="en">Tracking code lookup</p>
<p><code dir="ltr">{{ code }}</code></p>
{% if found %}
<p>✔ این برگه رأی در تابلوی اعلانات ثبت شده است
(ردیف {{ fa(position) }}، شعبه <bdi dir="ltr">{{ station }}</bdi>).</p>
<p class="en">This {{ "ballot" if kind == "ballot" else "challenged ballot" }} is on the
bulletin board at position {{ position }} (station {{ station }}).</p>
{% if root %}
<p>در ریشهٔ امضاشدهٔ سراسری با {{ fa(root.tree_size) }} برگ گنجانده شده است
(برگ {{ fa(log_index) }}).</p>
<p class="en">Included in the signed national root of {{ root.tree_size }} leaves
(leaf {{ log_index }}); root hash <code>{{ root.root_hash }}</code>; inclusion proof
(RFC 9162): <code>{{ proof | join(" ") }}</code></p>
{% else %}
<p>هنوز ریشهٔ سراسری‌ای آن را در بر نمی‌گیرد.</p>
<p class="en">No signed national root covers it yet.</p>
{% endif %}
{% else %}
<p>✘ این کد رهگیری در تابلوی اعلانات یافت نشد.</p>
<p class="en">This tracking code is not on the bulletin board.</p>
{% endif %}</body></html>"""


def _tracking_code(text: str) -> str:
    if not _TRACKING_CODE.fullmatch(text):
        raise ServerError("malformed_request", "a tracking code is 64 lowercase hex digits")
    return text


def _integer_arguments(**defaults: str | None) -> list[int]:
    """The named query arguments as integers (a default of None: required), each in
    0..2^63 − 1: a larger one would fail in the database (64-bit columns), not here."""
    values = []
    for name, default in defaults.items():
        text = request.args.get(name, default)
        if text is None:
            raise ServerError("malformed_request", f"{name} is required")
        try:
            value = int(text)
        except ValueError as error:
            raise ServerError("malformed_request", f"{name} is an integer") from error
        if not 0 <= value <= MAX_POSITION:
            raise ServerError("malformed_request", f"{name} in 0..{MAX_POSITION}")
        values.append(value)
    return values


@blueprint.get(protocol.PATH_BOARD)
def entries() -> ResponseReturnValue:
    station = request.args.get("station")
    start, limit = _integer_arguments(start="0", limit="100")
    station_id = None if station is None else station_id_from_path(station)
    return jsonify(board.entries(server_state(), station_id, start, limit))


@blueprint.get(protocol.PATH_ROOTS)
def roots() -> ResponseReturnValue:
    return jsonify({"roots": national.roots(server_state())})


@blueprint.get(protocol.PATH_CONSISTENCY)
def consistency() -> ResponseReturnValue:
    first, second = _integer_arguments(first=None, second=None)
    return jsonify(national.consistency(server_state(), first, second))


@blueprint.get(protocol.PATH_LOOKUP.replace("{tracking_code}", "<code>"))
def lookup(code: str) -> ResponseReturnValue:
    return jsonify(board.lookup(server_state(), _tracking_code(code)))


@blueprint.get("/track/<code>")
def track_page(code: str) -> ResponseReturnValue:
    """The receipt's QR target: a page for people, the lookup's JSON (entry,
    inclusion proof, signed root) for a program that asks for JSON."""
    found = board.lookup(server_state(), _tracking_code(code))
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    ):
        return jsonify(found)
    root = found.get("root")
    return render_template_string(
        TRACK_PAGE,
        fa=persian_digits,
        code=code,
        found=found["found"],
        position=found.get("board_position"),
        station=found.get("station_id"),
        kind=found.get("kind"),
        root=root["payload"] if root else None,
        log_index=found.get("log_index"),
        proof=found.get("inclusion_proof") or [],
    )


@blueprint.get(protocol.PATH_STATION_EXPORT.replace("{station_id}", "<station_id>"))
def export(station_id: str) -> ResponseReturnValue:
    state = server_state()
    station_id = station_id_from_path(station_id)
    try:
        state.election().manifest.station(station_id)
    except KeyError as error:
        raise ServerError("unknown_station", station_id) from error
    return jsonify(station_export(state, station_id))
