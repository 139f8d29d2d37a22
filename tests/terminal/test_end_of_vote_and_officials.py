"""The end of a vote waits for the card; officials see each action's result and its reason.

* "Take your card": a finished screen is not cleared by its timeout while the card
  is still in the reader; taking the card out returns to idle.
* An officials' action that fails says so (``ok`` false) with the reason, naming the
  URL that did not answer; a success is marked ``ok``.
"""

from __future__ import annotations

import time
from pathlib import Path

from station_harness import StationHarness

from terminal.kiosk_client import KioskClient


def test_the_receipt_screen_stays_until_the_card_is_taken_out(
    station: StationHarness, tmp_path: Path
) -> None:
    running = station.start_terminal(tmp_path / "terminal", finished_timeout_s=0.3)
    try:
        kiosk = KioskClient(running.url)
        station.open_polls(kiosk)
        station.sign_in(kiosk, station.next_voter())
        kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
        view = kiosk.state()
        assert view["state"] == "receipt" and view["card_in"] is True
        time.sleep(1.5)  # five finished-timeouts: the watchdog (0.5 s) has looked several times
        view = kiosk.state()
        assert view["state"] == "receipt" and view["card_in"] is True
        station.reader.remove()
        view = kiosk.wait_for("idle")
        assert view["card_in"] is False
    finally:
        running.stop()


def test_a_refused_voter_without_a_card_in_still_returns_to_idle_by_itself(
    station: StationHarness, tmp_path: Path
) -> None:
    running = station.start_terminal(tmp_path / "terminal", finished_timeout_s=0.3)
    try:
        kiosk = KioskClient(running.url)
        station.reader.insert(station.card(station.next_voter()))
        assert kiosk.wait_for("refused")["notice"]["code"] == "polls_not_open"
        station.reader.remove()
        assert kiosk.wait_for("idle", timeout_s=10)["card_in"] is False
    finally:
        running.stop()


def test_an_officials_action_without_the_server_fails_with_the_url_and_reason(
    station: StationHarness, kiosk: KioskClient
) -> None:
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    url = station.server_url
    station.stop_server()
    view = kiosk.post("officials/pause")
    notice = view["notice"]
    assert notice["ok"] is False and notice["code"] == "officials_unreachable"
    assert f"{url}/api/v1/" in notice["en"] and "connection refused" in notice["en"]
    assert url in notice["fa"]
    assert view["polls_state"] == "open"
    deadline = time.monotonic() + 20  # the idle status call, every 5 s, notices the server gone
    while kiosk.state()["officials"]["online"]:
        assert time.monotonic() < deadline, "the link still says online without a server"
        time.sleep(0.3)
    assert kiosk.state()["officials"]["last_error"] == "connection_refused"
    station.start_server()
    view = kiosk.post("officials/pause")
    assert view["notice"]["ok"] is True and view["notice"]["code"] == "polls_paused_done"
    assert view["polls_state"] == "paused"
