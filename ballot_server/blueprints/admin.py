"""HQ's read-only views: the election's public data and live turnout."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template_string
from flask.typing import ResponseReturnValue

from ballot_server.request_context import server_state
from ballot_server.setup import election_summary
from ballot_server.turnout import turnout
from evote import protocol

blueprint = Blueprint("admin", __name__)

TURNOUT_PAGE = """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>مشارکت / Turnout</title><style>body{font-family:'Noto Sans Arabic','Noto Sans',sans-serif;
margin:2em}td,th{padding:.3em .8em;border-bottom:1px solid #ccc}</style></head><body>
<h1>مشارکت — Turnout</h1>
{% for title, rows, key in tables %}<h2>{{ title }}</h2><table>
<tr><th>نام / Name</th><th>پذیرش / Check-ins</th><th>آرای ثبت‌شده / Ballots cast</th></tr>
{% for row in rows %}<tr><td>{{ row.name.fa }} — {{ row.name.en }}</td>
<td>{{ row.check_ins }}</td><td>{{ row.ballots_cast }}</td></tr>{% endfor %}</table>
{% endfor %}<p>کل / Total: {{ total.check_ins }} / {{ total.ballots_cast }}
(فهرست / roll {{ total.on_roll }})</p></body></html>"""


@blueprint.get(protocol.PATH_ELECTION)
def election() -> ResponseReturnValue:
    return jsonify(election_summary(server_state()))


@blueprint.get(protocol.PATH_TURNOUT)
def turnout_json() -> ResponseReturnValue:
    return jsonify(turnout(server_state()))


@blueprint.get("/turnout")
def turnout_page() -> ResponseReturnValue:
    figures = turnout(server_state())
    tables = [
        ("استان‌ها / Provinces", figures["provinces"], "province_id"),
        ("شهرستان‌ها / Counties", figures["counties"], "county_id"),
        ("شعبه‌ها / Stations", figures["stations"], "station_id"),
    ]
    return render_template_string(TURNOUT_PAGE, tables=tables, total=figures["total"])
