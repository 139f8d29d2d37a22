"""In the browser: Cancel asks for confirmation, and an idle session counts down first."""

from __future__ import annotations

from pathlib import Path

import pytest
from station_harness import StationHarness
from test_kiosk_browser import page, screen, shot  # noqa: F401 (fixture)

from terminal.kiosk_client import KioskClient

pytestmark = pytest.mark.browser


def test_cancel_needs_confirmation_and_the_idle_countdown_is_shown(
    station: StationHarness,
    page: object,  # noqa: F811
    tmp_path: Path,
    artifacts: Path,
) -> None:
    running = station.start_terminal(tmp_path / "terminal", session_timeout_s=25.0)
    try:
        kiosk = KioskClient(running.url)
        station.open_polls(kiosk)
        p = page  # type: ignore[assignment]
        p.goto(running.url)  # type: ignore[attr-defined]
        station.sign_in(kiosk, station.next_voter())
        screen(p, "ballot")
        # Idle for less than 30 s before the timeout: the countdown is up at once.
        p.wait_for_selector("#countdown:not([hidden])")  # type: ignore[attr-defined]
        shot(p, artifacts, "20-idle-countdown")
        p.click("#countdown button")  # type: ignore[attr-defined]
        # A tap on Cancel only asks; Back keeps the ballot.
        p.click("main button.danger")  # type: ignore[attr-defined]
        p.wait_for_selector("#dialog:not([hidden])")  # type: ignore[attr-defined]
        shot(p, artifacts, "21-cancel-confirm")
        p.click("#dialog button.primary")  # type: ignore[attr-defined]
        p.wait_for_selector("#dialog", state="hidden")  # type: ignore[attr-defined]
        assert kiosk.state()["state"] == "ballot"
        p.click("main button.danger")  # type: ignore[attr-defined]
        p.click("#dialog button.danger")  # type: ignore[attr-defined]
        screen(p, "cancelled")
        p.wait_for_selector("#countdown", state="hidden")  # type: ignore[attr-defined]
    finally:
        running.stop()
