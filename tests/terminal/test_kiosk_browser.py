"""The kiosk in headless Chromium at 800×480: a whole vote by touch and keyboard, with screenshots.

Screenshots and the printed receipts land in ``test-artifacts/terminal/`` so a
person can look at every screen a voter and an official sees.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import chromium_page, wait_screen
from station_harness import StationHarness

from terminal.runner import RunningTerminal

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Any) -> Iterator[object]:
    with chromium_page(chromium, 800, 480) as browser_page:
        yield browser_page


def shot(page: object, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"))  # type: ignore[attr-defined]


screen = wait_screen


def save_receipt(station: StationHarness, artifacts: Path, name: str, count: int) -> None:
    """Wait for the printer's ``count``-th receipt and keep its image."""
    deadline = time.monotonic() + 10
    while len(station.printer.receipts) < count:
        assert time.monotonic() < deadline, "nothing printed"
        time.sleep(0.05)
    receipt = station.printer.receipts[count - 1]
    assert receipt.png_path is not None
    shutil.copy(receipt.png_path, artifacts / f"{name}.png")


def test_a_whole_vote_and_the_officials_day_in_the_browser(
    station: StationHarness, running: RunningTerminal, page: object, artifacts: Path
) -> None:
    p = page  # type: ignore[assignment]
    p.goto(running.url)  # type: ignore[attr-defined]
    screen(p, "idle")
    assert p.locator("html").get_attribute("dir") == "rtl"  # type: ignore[attr-defined]
    shot(p, artifacts, "01-idle")

    # The official opens the polls, typing the PIN on the keyboard alone.
    station.reader.insert(station.card(station.official))
    screen(p, "pin")
    p.keyboard.type(station.official.pin)  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    screen(p, "officials")
    shot(p, artifacts, "02-officials-before-opening")
    p.click("#open-polls")  # type: ignore[attr-defined]
    p.wait_for_selector("#open-polls:disabled")  # type: ignore[attr-defined]
    save_receipt(station, artifacts, "03-zero-report-tape", 1)
    p.click("#exit")  # type: ignore[attr-defined]
    station.reader.remove()
    screen(p, "idle")

    # A voter: PIN by touch, a wrong one first.
    voter = station.next_voter()
    station.reader.insert(station.card(voter))
    screen(p, "pin")
    for digit in "0000" if voter.pin != "0000" else "1111":
        p.click(f'button[data-digit="{digit}"]')  # type: ignore[attr-defined]
    shot(p, artifacts, "04-pin")
    p.click("#pin-ok")  # type: ignore[attr-defined]
    p.wait_for_selector("#notice")  # type: ignore[attr-defined]
    shot(p, artifacts, "05-pin-wrong-tries-left")
    for digit in voter.pin:
        p.click(f'button[data-digit="{digit}"]')  # type: ignore[attr-defined]
    p.click("#pin-ok")  # type: ignore[attr-defined]
    screen(p, "ballot")

    # Majlis: up to 3; find candidates by code and by name; the limit disables the rest.
    p.fill("#search", "۱۱۰۴")  # type: ignore[attr-defined]
    p.click('[data-selection="1104"]')  # type: ignore[attr-defined]
    p.fill("#search", "")  # type: ignore[attr-defined]
    p.click('[data-selection="1101"]')  # type: ignore[attr-defined]
    p.fill("#search", "1107")  # type: ignore[attr-defined]
    p.click('[data-selection="1107"]')  # type: ignore[attr-defined]
    p.fill("#search", "")  # type: ignore[attr-defined]
    assert p.locator('[data-selection="1102"]').is_disabled()  # type: ignore[attr-defined]
    shot(p, artifacts, "06-ballot-majlis-limit-reached")
    p.click("#toggle-language")  # type: ignore[attr-defined]
    assert p.locator("html").get_attribute("dir") == "ltr"  # type: ignore[attr-defined]
    shot(p, artifacts, "07-ballot-english")
    p.click("#toggle-language")  # type: ignore[attr-defined]
    p.click("#next")  # type: ignore[attr-defined]
    # Experts: leave it blank, so the undervote must be confirmed.
    p.click("#next")  # type: ignore[attr-defined]
    p.wait_for_selector("#dialog:not([hidden])")  # type: ignore[attr-defined]
    shot(p, artifacts, "08-undervote-confirm")
    p.click("#dialog button.primary")  # type: ignore[attr-defined]
    screen(p, "review")
    shot(p, artifacts, "09-review")
    p.click("#confirm")  # type: ignore[attr-defined]
    screen(p, "tracking")
    shot(p, artifacts, "10-tracking-code")
    p.click("#cast")  # type: ignore[attr-defined]
    screen(p, "receipt")
    shot(p, artifacts, "11-receipt-screen")
    save_receipt(station, artifacts, "12-printed-receipt", 2)
    station.reader.remove()
    screen(p, "idle")

    # Accessibility options, and a refusal explained in both languages.
    stranger = next(person for person in station.people if not person.on_roll)
    station.reader.insert(station.card(stranger))
    screen(p, "pin")
    p.click("#toggle-contrast")  # type: ignore[attr-defined]
    p.click("#toggle-large")  # type: ignore[attr-defined]
    p.keyboard.type(stranger.pin)  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    screen(p, "refused")
    assert "not_on_roll" not in p.inner_text("main")  # type: ignore[attr-defined]
    shot(p, artifacts, "13-refused-high-contrast-large")
    station.reader.remove()
    screen(p, "idle")

    # Close: confirmed in a dialog, the closing tape printed, voters refused afterwards.
    station.reader.insert(station.card(station.official))
    screen(p, "pin")
    p.keyboard.type(station.official.pin)  # type: ignore[attr-defined]
    p.keyboard.press("Enter")  # type: ignore[attr-defined]
    screen(p, "officials")
    p.click("#close-polls")  # type: ignore[attr-defined]
    p.click("#dialog button.danger")  # type: ignore[attr-defined]
    p.wait_for_selector("#close-polls:disabled")  # type: ignore[attr-defined]
    shot(p, artifacts, "14-officials-closed")
    save_receipt(station, artifacts, "15-closing-tape", 3)
    p.click("#exit")  # type: ignore[attr-defined]
    station.reader.remove()
    screen(p, "idle")
    station.reader.insert(station.card(station.next_voter()))
    screen(p, "refused")
    shot(p, artifacts, "16-refused-after-close")
