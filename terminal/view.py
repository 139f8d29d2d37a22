"""The kiosk's view of the booth: one JSON object that says what to show now.

The kiosk (and the demo's simulated voters) render only from this, so the
browser holds no state a voter could depend on: reload the page and the
screen comes back as it was. Officials' figures appear only in officials' mode.
"""

from __future__ import annotations

from typing import Any

from terminal import printing
from terminal.ballot import ballot_view
from terminal.booth import Booth
from terminal.officials import officials_view
from terminal.session import State

BALLOT_STATES = {State.BALLOT, State.REVIEW, State.ENCRYPTING, State.TRACKING, State.CHALLENGED}


def booth_view(booth: Booth) -> dict[str, Any]:
    with booth.session.lock:
        data = booth.data
        state = booth.state
        view: dict[str, Any] = {
            "version": booth.session.version,
            "state": state.value,
            "role": data.role,
            "polls_state": booth.polls_state,
            "offline_mode": booth.offline_mode,
            "station": {
                "station_id": booth.station.station_id,
                "name": booth.station.name.to_json(),
            },
            "terminal_id": booth.config.terminal_id,
            "notice": data.notice.to_json() if data.notice else None,
            "tries_left": data.tries_left,
            "holder_name": (
                {"fa": data.holder.name_fa, "en": data.holder.name_en}
                if data.holder is not None and state in {State.PIN, State.OFFICIALS}
                else None
            ),
            "contests": None,
            "choices": None,
            "tracking": None,
            "printed": data.printed,
            "card_in": booth.card_in,
            "officials": None,
            "seconds_left": booth.seconds_left(),
        }
        if state in BALLOT_STATES and data.ballot_style_id:
            view["contests"] = ballot_view(booth.election.manifest, data.ballot_style_id)
            view["choices"] = data.choices
        if data.prepared is not None and state in {State.TRACKING, State.CHALLENGED}:
            code = data.prepared.tracking_code.hex()
            view["tracking"] = {"code": code, "short": printing.short_code(code)}
        if state is State.RECEIPT and data.printed is not None:
            code = data.printed["tracking_code"]
            view["tracking"] = {"code": code, "short": printing.short_code(code)}
        if state is State.OFFICIALS:
            view["officials"] = officials_view(booth)
        return view
