"""The check-in desk's page and HQ's page on an 800×480 screen, Persian and English.

An official checks a voter in on the desk page itself (card in the desk's
reader, PIN typed into the page), the simulated printer prints the QR pass,
the pass is redeemed at the booth and the vote ends with a printed receipt.
On every desk screen each control is inside the window, not covered and not
clipped, and each result or error is in sight; then HQ's page shows the
station with its desk, passes and refusals. Window-sized screenshots land in
``test-artifacts/terminal/screens/desk-hq-800x480/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import actions_out_of_reach, chromium_page, wait_screen
from station_harness import DESK_ID, STATION_ID, StationHarness, printed_qr_codes

from evote.sample import Person
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from terminal.desk_runner import RunningDesk
from terminal.kiosk_client import KioskClient

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 800, 480
DESK_CONTROLS = "header, main"
DESK_MINIMUM_PX = 44  # an official's desk screen: the common minimum touch target
SCREENS = (
    Path(__file__).resolve().parents[2]
    / "test-artifacts"
    / "terminal"
    / "screens"
    / "desk-hq-800x480"
)
PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")


def in_sight(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return (
        bool(box)
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= WIDTH
        and box["y"] + box["height"] <= HEIGHT
    )


def check_desk(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENS / f"desk-{name}.png"))
    problems = actions_out_of_reach(page, DESK_CONTROLS, DESK_MINIMUM_PX)
    assert not problems, f"desk {name}: {problems}"
    assert in_sight(page, "#foot"), f"desk {name}: the footer is out of sight"


def enter_at_desk(
    page: Any, reader: ReaderSimulator, station: StationHarness, voter: Person
) -> None:
    """The voter's card into the desk's reader, the PIN typed into the desk page."""
    reader.insert(station.card(voter))
    wait_screen(page, "pin")
    page.fill("#pin", voter.pin)
    page.click("#pin-ok")


def ascii_digits_in(text: str) -> set[str]:
    return {character for character in text if character.isascii() and character.isdigit()}


def test_an_official_checks_a_voter_in_on_the_desk_page_and_the_pass_ends_in_a_receipt(
    chromium: Any,
    station: StationHarness,
    kiosk: KioskClient,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    running_desk, desk_reader, desk_printer = desk
    voter = station.next_voter()
    with chromium_page(chromium, WIDTH, HEIGHT) as page:
        page.goto(running_desk.url)
        wait_screen(page, "idle")
        check_desk(page, "idle-fa")

        desk_reader.insert(station.card(voter))
        wait_screen(page, "pin")
        assert page.inner_text("#holder") == voter.name_fa
        check_desk(page, "pin-fa")
        page.fill("#pin", "0000" if voter.pin != "0000" else "1111")
        page.click("#pin-ok")
        page.wait_for_selector("#notice")
        assert in_sight(page, "#notice") and "۲" in page.inner_text("#notice")
        check_desk(page, "pin-wrong-fa")

        page.fill("#pin", voter.pin)
        page.click("#pin-ok")
        wait_screen(page, "issued")
        assert in_sight(page, "#notice") and in_sight(page, "#pass-id")
        assert page.get_attribute("#notice", "class") == "notice ok"
        assert not ascii_digits_in(page.inner_text("#foot").replace(DESK_ID, ""))
        check_desk(page, "issued-fa")
        pass_id = page.inner_text("#pass-id")
        desk_reader.remove()
        wait_screen(page, "idle")

        (payload,) = printed_qr_codes(desk_printer.receipts[-1])
        assert pass_id in payload.decode("utf-8")
        station.scanner.scan(payload.decode("utf-8"))
        tracking = kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
        receipt = station.printer.receipts[-1]
        assert any(tracking in code.decode("utf-8") for code in printed_qr_codes(receipt))
        kiosk.post("dismiss")
        kiosk.wait_for("idle")

        enter_at_desk(page, desk_reader, station, voter)
        wait_screen(page, "refused")
        assert in_sight(page, "#notice")
        assert "قبلاً رأی داده‌اید" in page.inner_text("#notice")
        check_desk(page, "refused-fa")
        page.click("#toggle-language")
        assert "already voted" in page.inner_text("#notice")
        check_desk(page, "refused-en")
        desk_reader.remove()
        wait_screen(page, "idle")
        check_desk(page, "idle-en")

        row = station.hq_station_when(lambda row: row["ballots_cast"] == 1)
        assert row["passes"] == {"issued": 1, "redeemed": 1}
        assert row["refusals"] == {"already_voted": 1}
        page.goto(f"{station.server_url}/")
        page.wait_for_selector(f'tr[data-station="{STATION_ID}"] [data-refusal="already_voted"]')
        check_hq(page, "fa")
        cell = page.inner_text(f'tr[data-station="{STATION_ID}"] .col-desks')
        assert DESK_ID in cell and "۱ صادر" in cell
        assert not ascii_digits_in(page.inner_text("#totals"))
        page.click("#toggle-language")
        page.wait_for_selector("html[dir=ltr]")
        check_hq(page, "en")
        desks = page.inner_text(f'tr[data-station="{STATION_ID}"] .col-desks')
        assert "1 issued, 1 redeemed" in desks

        page.goto(running_desk.url)
        wait_screen(page, "idle")
        url = station.server_url
        station.stop_server()
        other = station.next_voter()
        enter_at_desk(page, desk_reader, station, other)
        wait_screen(page, "refused")
        assert in_sight(page, "#notice")
        text = page.inner_text("#notice")
        assert "سامانه استعلام پاسخ نداد" in text and f"{url}/api/v1/" in text, text
        assert "connection refused" in text, text
        assert f"\u2068{url}/api/v1/" in text  # the Latin reason isolated inside the Persian
        check_desk(page, "unreachable-fa")


def check_hq(page: Any, language: str) -> None:
    """HQ's page at 800×480: nothing wider than the window, the figures and the station
    row in sight without scrolling sideways."""
    page.screenshot(path=str(SCREENS / f"hq-{language}.png"))
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= WIDTH, f"HQ page {language} is {width} px wide"
    assert in_sight(page, "#totals")
    assert in_sight(page, "#toggle-language")
