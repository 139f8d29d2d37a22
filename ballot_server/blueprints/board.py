"""Public bulletin-board endpoints: entries, checkpoints, tracking-code lookup, export."""

from __future__ import annotations

import re

from flask import Blueprint, jsonify, render_template_string, request
from flask.typing import ResponseReturnValue

from ballot_server import board
from ballot_server.errors import ServerError
from ballot_server.polls import station_id_from_path
from ballot_server.record import station_export
from ballot_server.request_context import server_state
from evote import protocol

blueprint = Blueprint("board", __name__)
_TRACKING_CODE = re.compile(r"[0-9a-f]{64}")

TRACK_PAGE = """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>کد رهگیری / Tracking code</title>
<style>body{font-family:'Noto Sans Arabic','Noto Sans',sans-serif;margin:2em}
.en{direction:ltr;text-align:left;color:#444}code{word-break:break-all}</style></head><body>
<h1>جستجوی کد رهگیری</h1><p class="en">Tracking code lookup</p><p><code>{{ code }}</code></p>
{% if found %}
<p>✔ این برگه رأی در تابلوی اعلانات ثبت شده است (ردیف {{ position }}، شعبه {{ station }}).</p>
<p class="en">This {{ "ballot" if kind == "ballot" else "challenged ballot" }} is on the
bulletin board at position {{ position }} (station {{ station }}).</p>
{% else %}
<p>✘ این کد رهگیری در تابلوی اعلانات یافت نشد.</p>
<p class="en">This tracking code is not on the bulletin board.</p>
{% endif %}</body></html>"""


def _tracking_code(text: str) -> str:
    if not _TRACKING_CODE.fullmatch(text):
        raise ServerError("malformed_request", "a tracking code is 64 lowercase hex digits")
    return text


@blueprint.get(protocol.PATH_BOARD)
def entries() -> ResponseReturnValue:
    try:
        start = int(request.args.get("start", "0"))
        limit = int(request.args.get("limit", "100"))
    except ValueError as error:
        raise ServerError("malformed_request", "start and limit are integers") from error
    return jsonify(board.entries(server_state(), start, limit))


@blueprint.get(protocol.PATH_CHECKPOINTS)
def checkpoints() -> ResponseReturnValue:
    return jsonify({"checkpoints": board.checkpoints(server_state())})


@blueprint.get(protocol.PATH_LOOKUP.replace("{tracking_code}", "<code>"))
def lookup(code: str) -> ResponseReturnValue:
    return jsonify(board.lookup(server_state(), _tracking_code(code)))


@blueprint.get("/track/<code>")
def track_page(code: str) -> ResponseReturnValue:
    found = board.lookup(server_state(), _tracking_code(code))
    return render_template_string(
        TRACK_PAGE,
        code=code,
        found=found["found"],
        position=found.get("board_position"),
        station=found.get("station_id"),
        kind=found.get("kind"),
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
