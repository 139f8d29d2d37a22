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
