"""A voter's own check of a challenge slip: a public page, nothing to install.

The slip's QR is a link to ``/CHECK/EVC2:<tracking code>:<digest>`` (upper
case, see ``evote/challenge_slip.py``), so a phone's camera opens the answer;
``/check`` has a box to type or paste the slip's code. The page looks the
tracking code up on the board, checks that the board's revealed secrets are
the ones the slip names and re-encrypts the ballot from them, then shows the
choices it says — for the voter to compare with the slip's printed lines.
``evote check-slip`` does the same on the voter's own machine.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template_string, request
from flask.typing import ResponseReturnValue

from ballot_server import board
from ballot_server.request_context import server_state
from evote.challenge_slip import SlipCheck, SlipError, check_slip, parse_slip
from evote.digits import persian_digits
from evote.refusals import refusal

blueprint = Blueprint("check", __name__)

CHECK_PAGE = """<!doctype html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>بررسی برگه باطل‌شده / Check a challenge slip</title>
<style>body{font-family:'Noto Sans Arabic','Noto Sans',sans-serif;margin:1em auto;max-width:40em;
padding:0 1em;line-height:1.6}.en{color:#444}[dir=ltr]{text-align:left}
input{font:inherit;width:100%;padding:.5em;box-sizing:border-box;direction:ltr}
button{font:inherit;min-height:3em;padding:0 1.5em;margin-top:.5em}
.ok{border:3px solid #0b7a3e;padding:.5em 1em;border-radius:.6em}
.bad{border:3px solid #a40e26;padding:.5em 1em;border-radius:.6em}
code{word-break:break-all}</style></head><body>
<h1>بررسی برگه باطل‌شده</h1><p class="en" dir="ltr">Check a challenge slip</p>
{% if result %}
<div class="ok" id="result">
<p>✔ این برگه در تابلوی اعلانات است
(شعبه {{ result.station_id }}، ردیف {{ fa(result.board_position) }})
و رمز منتشرشده همان رمز برگهٔ شماست. این برگه رمزشده این انتخاب‌ها را نشان می‌دهد؛
آن‌ها را با برگهٔ چاپی مقایسه کنید:</p>
<p class="en" dir="ltr">✔ This ballot is on the bulletin board (station {{ result.station_id }},
position {{ result.board_position }}) and its published secrets are your slip's. The encrypted
ballot says the following; compare it with the lines printed on your slip:</p>
{% for contest in contests %}
<h2>{{ contest.name.fa }} <span class="en">— {{ contest.name.en }}</span></h2>
<ul>{% for candidate in contest.chosen %}<li>{{ fa(candidate.code) }} — {{ candidate.name.fa }}
<span class="en">({{ candidate.code }} {{ candidate.name.en }})</span></li>
{% else %}<li>سفید (بدون انتخاب) <span class="en">— blank (no choice)</span></li>{% endfor %}</ul>
{% endfor %}
<p class="en" dir="ltr">Tracking code <code>{{ result.tracking_code }}</code></p>
</div>
{% elif problem %}
<div class="bad" id="problem" data-code="{{ problem.code }}"><p>✘ {{ problem.message_fa }}</p>
<p class="en" dir="ltr">✘ {{ problem.message_en }}</p></div>
{% endif %}
<form method="get" action="{{ action }}">
<p><label for="slip">کد برگه را بنویسید یا QR آن را با دوربین گوشی بخوانید
<span class="en">— type the slip's code, or scan its QR with a phone camera</span></label></p>
<input id="slip" name="slip" value="{{ typed }}" autocomplete="off" spellcheck="false"
placeholder="EVC2:…">
<button type="submit">بررسی — Check</button></form>
</body></html>"""


def _contests(check: SlipCheck) -> list[dict[str, Any]]:
    manifest = server_state().election().manifest
    contests = []
    for spec in manifest.contest_specs(check.ballot_style_id):
        contest = manifest.contest(spec.contest_id)
        chosen = [
            contest.candidate(int(selection_id)) for selection_id in check.choices[spec.contest_id]
        ]
        contests.append({"name": contest.name, "chosen": chosen})
    return contests


def _page(typed: str) -> ResponseReturnValue:
    values: dict[str, Any] = {"typed": typed, "result": None, "problem": None, "contests": []}
    if typed:
        try:
            slip = parse_slip(typed)
            state = server_state()
            election = state.election()
            found = board.lookup(state, slip.tracking_code)
            values["result"] = check_slip(slip, found, election.context, election.manifest)
            values["contests"] = _contests(values["result"])
        except SlipError as error:
            values["problem"] = refusal(error.code)
    status = 200 if values["problem"] is None else refusal(values["problem"].code).status
    page = render_template_string(CHECK_PAGE, action="/check", fa=persian_digits, **values)
    return page, status


@blueprint.get("/check")
def check_form() -> ResponseReturnValue:
    return _page(request.args.get("slip", "").strip()[:400])


@blueprint.get("/check/<path:slip>")
@blueprint.get("/CHECK/<path:slip>")
def check_scanned(slip: str) -> ResponseReturnValue:
    return _page(slip[:400])
