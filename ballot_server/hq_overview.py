"""HQ's front page figures: per station the poll state, turnout, and each terminal's link.

Turnout comes from ``turnout`` (check-ins in the registry, ballots on the board),
refusals by reason from the inquiry's counts (``refusal_counts``: counts only),
QR passes issued and redeemed from the inquiry's pass rows.
A closed station's ``countersigned`` says whether officials countersigned its
latest closing report (``closing_revision``: a report reissued after the close,
by a late ballot or a void, needs it again); until they do, its record fails
``evote verify`` (``not_countersigned``), so HQ sees which stations to call.
A terminal's link comes from its newest signed journal declaration (sent with
its status requests while idle, ``declarations.py``; a check-in desk sends one
every few seconds, marked ``role: desk``): when it was made is when the
terminal was last heard from, and it says how many journaled ballots were
still waiting to be sent; the board says how far its ballots have arrived.
Nothing here names a voter.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot_server.models import BoardEntry, Terminal
from ballot_server.refusal_counts import refusals_by_station
from ballot_server.registry_models import IssuedPass
from ballot_server.reports import closed_countersign_statuses
from ballot_server.state import ServerState
from ballot_server.turnout import turnout
from evote.refusals import refusal


def terminal_links(state: ServerState) -> dict[str, list[dict[str, Any]]]:
    """Per station, its terminals: last heard from, waiting, declared and received heads."""
    with Session(state.engine) as session:
        terminals = list(session.scalars(select(Terminal).order_by(Terminal.terminal_id)))
        last_ballot = dict(
            session.execute(
                select(BoardEntry.terminal_id, func.max(BoardEntry.received_at)).group_by(
                    BoardEntry.terminal_id
                )
            ).all()
        )
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for terminal in terminals:
        declaration = json.loads(terminal.declaration) if terminal.declaration else None
        payload = declaration["payload"] if declaration else {}
        body = payload.get("body", {})
        heard = [t for t in (payload.get("timestamp"), last_ballot.get(terminal.terminal_id)) if t]
        links[terminal.station_id].append(
            {
                "terminal_id": terminal.terminal_id,
                "role": body.get("role", "booth"),
                "last_seen": max(heard) if heard else None,
                "waiting": body.get("waiting"),
                "declared_sequence": terminal.declared_sequence,
                "received_sequence": terminal.last_sequence,
            }
        )
    return links


def passes_by_station(state: ServerState) -> dict[str, dict[str, int]]:
    """Per station, the QR passes its desks issued and how many a booth redeemed."""
    with Session(state.registry_engine) as registry:
        rows = registry.execute(
            select(
                IssuedPass.station_id,
                func.count(),
                func.count().filter(IssuedPass.redeemed.is_(True)),
            ).group_by(IssuedPass.station_id)
        ).all()
    return {station: {"issued": issued, "redeemed": redeemed} for station, issued, redeemed in rows}


def overview(state: ServerState) -> dict[str, Any]:
    """Everything the HQ page shows, as of ``generated_at``."""
    figures = turnout(state)
    links = terminal_links(state)
    refusals = refusals_by_station(state)
    passes = passes_by_station(state)
    with Session(state.engine) as session:
        countersign = closed_countersign_statuses(session)
    unsigned = {"closing_revision": None, "countersigned": None}
    for station in figures["stations"]:
        station.update(countersign.get(station["station_id"], unsigned))
        station["terminals"] = links.get(station["station_id"], [])
        station["passes"] = passes.get(station["station_id"], {"issued": 0, "redeemed": 0})
        station["ballots_waiting"] = sum(t["waiting"] or 0 for t in station["terminals"])
        station["refusals"] = refusals.get(station["station_id"], {})
        station["refused"] = sum(station["refusals"].values())
    figures["total"]["refused"] = sum(s["refused"] for s in figures["stations"])
    figures["total"]["not_countersigned"] = sum(
        s["countersigned"] is False for s in figures["stations"]
    )
    codes = sorted({code for counts in refusals.values() for code in counts})
    messages = {
        code: {"fa": refusal(code).message_fa, "en": refusal(code).message_en} for code in codes
    }
    return {**figures, "refusal_messages": messages, "generated_at": state.now()}


def _seen(terminal: dict[str, Any], now: int) -> str:
    name = terminal["terminal_id"] + (" (desk)" if terminal["role"] == "desk" else "")
    if terminal["last_seen"] is None:
        return f"{name} not yet seen"
    return f"{name} {max(0, now - terminal['last_seen'])} s ago"


def turnout_table(figures: dict[str, Any]) -> list[str]:
    """``evote server turnout``: one line per station, a total line, then the closed
    stations whose latest closing report lacks a countersignature, each station's QR
    passes and refusals by reason; plain text columns."""
    now = figures["generated_at"]
    header = ("station", "polls", "check-ins", "cast", "waiting", "refused", "terminals: last seen")
    rows = [
        (
            station["station_id"],
            station["poll_state"] or "-",
            str(station["check_ins"]),
            str(station["ballots_cast"]),
            str(station["ballots_waiting"]),
            str(station["refused"]),
            ", ".join(_seen(t, now) for t in station["terminals"]) or "-",
        )
        for station in figures["stations"]
    ]
    total = figures["total"]
    share = 100 * total["ballots_cast"] / total["on_roll"] if total["on_roll"] else 0.0
    waiting = sum(station["ballots_waiting"] for station in figures["stations"])
    rows.append(
        (
            "total",
            "",
            str(total["check_ins"]),
            str(total["ballots_cast"]),
            str(waiting),
            str(total["refused"]),
            f"on the roll {total['on_roll']}, turnout {share:.1f} %",
        )
    )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    numeric = {2, 3, 4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        return "  ".join([*cells, row[-1]]).rstrip()

    passes = [
        f"passes at {station['station_id']}: issued {station['passes']['issued']}, "
        f"redeemed {station['passes']['redeemed']}"
        for station in figures["stations"]
        if station["passes"]["issued"]
    ]
    uncountersigned = [
        f"not countersigned: {station['station_id']} (closing report revision "
        f"{station['closing_revision']})"
        for station in figures["stations"]
        if station["countersigned"] is False
    ]
    reasons = [
        f"refused at {station['station_id']}: "
        + ", ".join(f"{code} {count}" for code, count in sorted(station["refusals"].items()))
        for station in figures["stations"]
        if station["refusals"]
    ]
    return [line(header), *(line(row) for row in rows), *uncountersigned, *passes, *reasons]
