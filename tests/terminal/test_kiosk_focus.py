"""Safe focus in the kiosk, by keyboard in headless Chromium at 800×480.

Where focus starts on each screen (never on Cancel, Challenge or Cast), Enter
on the tracking screen doing nothing, dialogs that trap focus, close on Escape
and vanish with the screen that opened them, arrow keys in the candidate grid,
and a PIN that is too short explained instead of ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kiosk_browser import chromium_page, wait_screen
from station_harness import StationHarness

from terminal.i18n import CATALOGUE
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

pytestmark = pytest.mark.browser

FOCUSED = "() => { const n = document.activeElement; return n.id || n.dataset.index || n.tagName; }"
IN_DIALOG = "() => document.getElementById('dialog').contains(document.activeElement)"


@pytest.fixture
def page(chromium: Any, kiosk: KioskClient, running: RunningTerminal) -> Iterator[Any]:
    with chromium_page(chromium, 800, 480) as browser_page:
        browser_page.goto(running.url)
        wait_screen(browser_page, "idle")
        yield browser_page


def signed_in(station: StationHarness, page: Any) -> None:
    voter = station.next_voter()
    station.reader.insert(station.card(voter))
    wait_screen(page, "pin")
    page.keyboard.type(voter.pin)
    page.keyboard.press("Enter")
    wait_screen(page, "ballot")


def to_undervote_dialog(page: Any) -> None:
    page.click("#next")
    page.click("#next")
    page.wait_for_selector("#dialog:not([hidden])")


def focused(page: Any) -> str:
    result: str = page.evaluate(FOCUSED)
    return result


def test_focus_starts_on_no_destructive_action_and_enter_does_not_spoil_the_ballot(
    station: StationHarness, page: Any
) -> None:
    signed_in(station, page)
    assert focused(page) == "H1"
    to_undervote_dialog(page)
    assert page.inner_text("#dialog :focus") == CATALOGUE["edit"][0]
    page.click("#dialog button.primary")
    wait_screen(page, "review")
    assert focused(page) == "H1"
    page.click("#confirm")
    wait_screen(page, "tracking")
    assert focused(page) == "H1"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.click("#challenge")
    wait_screen(page, "challenged")
    assert focused(page) == "vote-again"
    page.keyboard.press("Enter")
    wait_screen(page, "ballot")
    to_undervote_dialog(page)
    page.click("#dialog button.primary")
    wait_screen(page, "review")
    page.click("#confirm")
    wait_screen(page, "tracking")
    page.keyboard.press("Enter")
    # Had Enter challenged, this Cast would be refused and the screen would show it.
    page.click("#cast")
    wait_screen(page, "receipt")
    assert focused(page) == "finish"
    assert len(station.printer.receipts) >= 3


def test_escape_closes_a_dialog_and_tab_never_leaves_it(station: StationHarness, page: Any) -> None:
    signed_in(station, page)
    to_undervote_dialog(page)
    assert page.evaluate("() => document.getElementById('screen').inert")
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "() => document.getElementById('dialog').contains(document.activeElement)"
        )
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(IN_DIALOG)
    page.keyboard.press("Escape")
    assert page.locator("#dialog").is_hidden()
    assert not page.evaluate("() => document.getElementById('screen').inert")
    assert page.get_attribute("main", "data-screen") == "ballot"


def test_a_dialog_goes_away_with_the_screen_that_opened_it(
    station: StationHarness, page: Any
) -> None:
    signed_in(station, page)
    to_undervote_dialog(page)
    station.reader.remove()
    wait_screen(page, "cancelled")
    assert page.locator("#dialog").is_hidden()
    page.click("#finish")
    wait_screen(page, "idle")
    assert page.locator("#dialog").is_hidden()


def test_arrow_keys_move_through_the_candidates_the_way_they_look_and_turn_pages(
    station: StationHarness, page: Any
) -> None:
    signed_in(station, page)
    columns = page.evaluate(
        "() => getComputedStyle(document.querySelector('.candidates'))"
        ".gridTemplateColumns.split(' ').length"
    )
    per_page = page.locator(".candidate").count()
    assert columns == 2 and per_page < 10, "the sample ballot should need pages at 800×480"
    page.focus('[data-index="0"]')
    page.keyboard.press("ArrowLeft")  # right to left: the next candidate is to the left
    assert focused(page) == "1"
    page.keyboard.press("ArrowDown")
    assert focused(page) == str(1 + columns)
    page.keyboard.press("ArrowRight")
    assert focused(page) == str(columns)
    for _ in range(per_page - columns):
        page.keyboard.press("ArrowLeft")
    assert focused(page) == str(per_page)
    assert page.inner_text("#page-of").startswith("صفحه ۲")
    page.keyboard.press("ArrowUp")
    assert focused(page) == str(per_page - columns)
    assert page.inner_text("#page-of").startswith("صفحه ۱")
    page.click("#toggle-language")
    page.focus('[data-index="0"]')
    page.keyboard.press("ArrowRight")
    assert focused(page) == "1"


def test_a_pin_too_short_is_explained_not_ignored(station: StationHarness, page: Any) -> None:
    voter = station.next_voter()
    station.reader.insert(station.card(voter))
    wait_screen(page, "pin")
    page.click("#toggle-language")
    page.keyboard.type(voter.pin[:2])
    page.keyboard.press("Enter")
    assert page.inner_text("#pin-why") == CATALOGUE["invalid_pin"][1]
    assert page.get_attribute("main", "data-screen") == "pin"
    page.keyboard.type(voter.pin[2:])
    assert page.locator("#pin-why").count() == 0
    page.keyboard.press("Enter")
    wait_screen(page, "ballot")
