"""HQ's front page and `evote server turnout`: per station the poll state, turnout, each
terminal's last contact and ballots waiting, from a real station with a running terminal."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kiosk_browser import chromium_page
from station_harness import STATION_ID, TERMINAL_ID, StationHarness

from ballot_server.cli import server
from ballot_server.reports import reissue_closing_report
from terminal.kiosk_client import KioskClient

STATIC = Path(__file__).resolve().parents[2] / "ballot_server" / "static"


def wait_until_seen(station: StationHarness) -> dict[str, Any]:
    return station.hq_station_when(
        lambda row: bool(row["terminals"]) and row["terminals"][0]["last_seen"] is not None
    )


def test_the_front_page_is_persian_first_and_loads_only_its_own_files(
    station: StationHarness,
) -> None:
    with urllib.request.urlopen(f"{station.server_url}/", timeout=10) as response:
        page = response.read().decode("utf-8")
        policy = response.headers["Content-Security-Policy"]
    assert '<html lang="fa" dir="rtl">' in page
    assert "default-src 'self'" in policy
    for name in ("hq.html", "hq.js", "hq.css"):
        assert not re.search(r"(https?:)?//[a-z]", (STATIC / name).read_text(encoding="utf-8"))


def test_hq_sees_the_terminal_the_turnout_and_the_poll_state(
    station: StationHarness, kiosk: KioskClient
) -> None:
    row = wait_until_seen(station)
    assert row["poll_state"] == "open"
    (terminal,) = row["terminals"]
    assert terminal["terminal_id"] == TERMINAL_ID and terminal["waiting"] == 0
    station.sign_in(kiosk, station.next_voter())
    kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
    station.reader.remove()
    row = station.hq_station_when(lambda row: row["ballots_cast"] == 1)
    assert row["check_ins"] == 1 and row["ballots_waiting"] == 0

    result = CliRunner().invoke(server, ["turnout", "--data-dir", str(station.root / "server")])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert header.split()[:5] == ["station", "polls", "check-ins", "cast", "waiting"]
    line = next(line for line in lines if line.startswith(STATION_ID))
    assert line.split()[1:5] == ["open", "1", "1", "0"]
    assert re.search(rf"{TERMINAL_ID} \d+ s ago", line)
    assert lines[-1].startswith("total")
    raw = CliRunner().invoke(
        server, ["turnout", "--json", "--data-dir", str(station.root / "server")]
    )
    assert json.loads(raw.output)["total"]["ballots_cast"] == 1


@pytest.mark.browser
def test_the_front_page_shows_each_station_and_switches_to_english(
    chromium: Any, station: StationHarness, kiosk: KioskClient
) -> None:
    wait_until_seen(station)
    with chromium_page(chromium, 1024, 600) as page:
        page.goto(f"{station.server_url}/")
        row = page.wait_for_selector(f'tr[data-station="{STATION_ID}"]')
        assert row is not None and "باز" in row.inner_text()
        assert page.locator(f'[data-terminal="{TERMINAL_ID}"]').inner_text().startswith(TERMINAL_ID)
        page.click("#toggle-language")
        assert page.evaluate("document.documentElement.dir") == "ltr"
        assert "open" in page.locator(f'tr[data-station="{STATION_ID}"]').inner_text()
        assert "Ballots cast" in page.inner_text("#totals")


@pytest.mark.browser
def test_hq_shows_a_closed_station_whose_closing_report_lacks_a_countersignature(
    chromium: Any, station: StationHarness, kiosk: KioskClient, artifacts: Path
) -> None:
    """Closed and countersigned at the terminal, then reissued after the close (a late
    ballot or a void does that): HQ's figures, its page (800×480, Persian digits) and
    `evote server turnout` name the station until its officials countersign again."""
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    assert kiosk.post("officials/close")["notice"]["code"] == "polls_closed_done"
    station.reader.remove()
    row = station.hq_station_when(lambda row: row["poll_state"] == "closed")
    assert (row["countersigned"], row["closing_revision"]) == (True, 1)
    reissue_closing_report(station.app.extensions["evote"], STATION_ID)
    with urllib.request.urlopen(f"{station.server_url}/api/v1/hq", timeout=10) as response:
        figures = json.loads(response.read())
    row = next(s for s in figures["stations"] if s["station_id"] == STATION_ID)
    assert (row["countersigned"], row["closing_revision"]) == (False, 2)
    assert figures["total"]["not_countersigned"] == 1
    assert all(s["countersigned"] is None for s in figures["stations"] if s is not row)

    result = CliRunner().invoke(server, ["turnout", "--data-dir", str(station.root / "server")])
    assert result.exit_code == 0, result.output
    assert f"not countersigned: {STATION_ID} (closing report revision 2)" in result.output

    screens = artifacts / "screens" / "hq-800x480"
    screens.mkdir(parents=True, exist_ok=True)
    with chromium_page(chromium, 800, 480) as page:
        page.goto(f"{station.server_url}/")
        missing = page.wait_for_selector(f'tr[data-station="{STATION_ID}"] [data-countersign]')
        assert missing is not None and missing.inner_text() == (
            "گزارش پایانی دوباره صادر شد (نسخهٔ ۲) و امضای مسئول ندارد"
        )
        assert page.inner_text("#total-not_countersigned").split()[-1] == "۱"
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 800
        page.screenshot(path=str(screens / "hq-not-countersigned-fa.png"))
        page.click("#toggle-language")
        page.wait_for_selector("html[dir=ltr]")
        cell = page.inner_text(f'tr[data-station="{STATION_ID}"] .col-polls')
        assert "closing report reissued (revision 2), not countersigned" in cell
        assert "Closed, not countersigned" in page.inner_text("#totals")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 800
        page.screenshot(path=str(screens / "hq-not-countersigned-en.png"))
