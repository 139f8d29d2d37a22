"""``results/report.html``: the human-readable report, Persian first, English second.

Self-contained on purpose (no remote fonts, scripts or images) so that it
opens the same offline and cannot leak who reads it. Bar charts are inline
SVG drawn here; the Persian half mirrors them so bars grow right to left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

from evote.digits import persian_digits
from evote.manifest import Manifest
from tally.presentation import percent_in, percent_text
from tally.provisional import BANNER, PROVISIONAL
from tally.totals import LEVELS

_BAR_HEIGHT: Final = 22
_LABEL_WIDTH: Final = 230
_CHART_WIDTH: Final = 640
_STYLE: Final = """
body{font-family:"Noto Sans Arabic","Noto Sans",Tahoma,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #bbb;padding:.2em .6em}
.elected{font-weight:bold;color:#135e2b}.runoff{color:#8a5a00}
section{margin-bottom:3em}
.provisional{font-size:1.4em;font-weight:bold;color:#fff;background:#a30000;padding:.4em}
"""
_TEXT: Final[dict[str, dict[str, Any]]] = {
    "fa": {
        "results": "نتایج",
        "turnout": "مشارکت (آرای مأخوذه) در هر سطح",
        "level": {
            "station": "شعبه",
            "county": "فرمانداری",
            "province": "استان",
            "national": "کشور",
        },
        "unit": "واحد",
        "cast": "آرای مأخوذه",
        "blank": "سفید",
        "valid": "صحیح",
        "candidate": "نامزد",
        "code": "کد",
        "votes": "آرا",
        "elected": "منتخب",
        "runoff": "دور دوم",
        "tie": "تساوی آرا در مرز: با قرعه تعیین شود",
        "share": "سهم از کل",
    },
    "en": {
        "results": "Results",
        "turnout": "Turnout (ballots cast) per level",
        "level": {
            "station": "Station",
            "county": "County",
            "province": "Province",
            "national": "National",
        },
        "unit": "Unit",
        "cast": "Ballots cast",
        "blank": "Blank",
        "valid": "Valid",
        "candidate": "Candidate",
        "code": "Code",
        "votes": "Votes",
        "elected": "elected",
        "runoff": "runoff",
        "tie": "tie at a boundary: to be settled by lot",
        "share": "share of total",
    },
}


def bar_chart(rows: Sequence[tuple[str, int]], *, rtl: bool, number: Any = str) -> str:
    """Horizontal bars, one per (label, value); mirrored for right-to-left text."""
    largest = max((value for _, value in rows), default=0) or 1
    span = _CHART_WIDTH - _LABEL_WIDTH - 60
    height = _BAR_HEIGHT * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_CHART_WIDTH}" height="{height}" '
        f'role="img" direction="{"rtl" if rtl else "ltr"}">'
    ]
    for row, (label, value) in enumerate(rows):
        top = 4 + row * _BAR_HEIGHT
        length = value * span // largest
        if rtl:
            label_x, anchor = _CHART_WIDTH - 4, "start"
            bar_x = _CHART_WIDTH - _LABEL_WIDTH - length
            value_x, value_anchor = bar_x - 4, "start"
        else:
            label_x, anchor = 4, "start"
            bar_x = _LABEL_WIDTH
            value_x, value_anchor = bar_x + length + 4, "start"
        parts.append(
            f'<text x="{label_x}" y="{top + 15}" text-anchor="{anchor}" '
            f'font-size="13">{escape(label)}</text>'
            f'<rect x="{bar_x}" y="{top + 3}" width="{length}" height="{_BAR_HEIGHT - 6}" '
            f'fill="#3b6ea5"/>'
            f'<text x="{value_x}" y="{top + 15}" text-anchor="{value_anchor}" '
            f'font-size="12">{escape(number(value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _contest_section(
    manifest: Manifest, national: Mapping[str, Any], outcome: Mapping[str, Any], language: str
) -> str:
    text = _TEXT[language]
    rtl = language == "fa"
    number = persian_digits if rtl else str
    percent = percent_in(language)
    contest = manifest.contest(outcome["contest_id"])
    row = next(c for c in national["contests"] if c["contest_id"] == contest.contest_id)
    title = number(getattr(contest.name, language))
    chart_rows, table_rows = [], []
    for code in outcome["ranking"]:
        candidate = contest.candidate(code)
        votes = row["votes"][str(code)]
        name = number(getattr(candidate.name, language))
        chart_rows.append((f"{number(code)} {name}", votes))
        status = ""
        if code in outcome["elected"]:
            status = f' class="elected">{text["elected"]}'
        elif code in outcome["runoff"]:
            status = f' class="runoff">{text["runoff"]}'
        table_rows.append(
            f"<tr><td>{number(code)}</td><td>{escape(name)}</td><td>{number(votes)}</td>"
            f"<td>{percent(percent_text(votes, row['valid']))}</td><td{status or '>'}</td></tr>"
        )
    tie = f"<p>{text['tie']}</p>" if outcome["tie_at_boundary"] else ""
    return (
        f"<h3>{escape(title)}</h3>"
        f"<p>{text['cast']}: {number(row['ballots_cast'])} · {text['blank']}: "
        f"{number(row['blank'])} · {text['valid']}: {number(row['valid'])}</p>"
        + bar_chart(chart_rows, rtl=rtl, number=number)
        + f"<table><tr><th>{text['code']}</th><th>{text['candidate']}</th>"
        f"<th>{text['votes']}</th><th>{percent('')}</th><th></th></tr>{''.join(table_rows)}</table>{tie}"
    )


def _turnout_section(results: Mapping[str, Any], language: str) -> str:
    text = _TEXT[language]
    number = persian_digits if language == "fa" else str
    percent = percent_in(language)
    national_cast = max((c["ballots_cast"] for c in results["units"][-1]["contests"]), default=0)
    rows = []
    for level in LEVELS:
        for unit in (u for u in results["units"] if u["level"] == level):
            cast = max((c["ballots_cast"] for c in unit["contests"]), default=0)
            rows.append(
                f"<tr><td>{text['level'][level]}</td><td>{escape(number(unit['name'][language]))}</td>"
                f"<td>{number(cast)}</td>"
                f"<td>{percent(percent_text(cast, national_cast))}</td></tr>"
            )
    return (
        f"<h2>{text['turnout']}</h2><table><tr><th></th><th>{text['unit']}</th>"
        f"<th>{text['cast']}</th><th>{text['share']}</th></tr>{''.join(rows)}</table>"
    )


def render_report(manifest: Manifest, results: Mapping[str, Any]) -> str:
    """The whole report as one HTML document (deterministic: the verifier compares it)."""
    national = results["units"][-1]
    sections = []
    for language in ("fa", "en"):
        direction = "rtl" if language == "fa" else "ltr"
        body = "".join(
            _contest_section(manifest, national, outcome, language)
            for outcome in results["outcomes"]
        )
        banner = (
            f'<p class="provisional">{escape(BANNER[language])}: '
            + " ".join(
                f"<bdi>{escape(station)}</bdi>" for station in results[PROVISIONAL]["open_stations"]
            )
            + "</p>"
            if PROVISIONAL in results
            else ""
        )
        sections.append(
            f'<section lang="{language}" dir="{direction}">{banner}'
            f"<h1>{escape(getattr(manifest.name, language))}</h1>"
            f"<h2>{_TEXT[language]['results']}</h2>{body}"
            f"{_turnout_section(results, language)}</section>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="fa" dir="rtl"><head><meta charset="utf-8">'
        f"<title>{escape(manifest.name.fa)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )
