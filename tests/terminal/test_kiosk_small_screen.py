"""Whole votes on the booth's 7-inch 800×480 screen (and 1024×600, 1280×800), by touch.

On every screen, in Persian and English, with and without large text, each
action the voter can take is inside the window — asserted from bounding boxes,
not from full-page screenshots — and every candidate is reachable by paging.
Window-sized screenshots of every screen land in
``test-artifacts/terminal/screens/<size>-<language>[-large]/`` for a person to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import actions_out_of_reach, chromium_page, wait_screen
from station_harness import StationHarness

from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

pytestmark = pytest.mark.browser


class ScreenWalk:
    """One voter's walk through the kiosk in one display setting, checking every screen."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def check(self, label: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{label}.png"))
        problems = actions_out_of_reach(self.page)
        assert not problems, f"{self.folder.name} {label}: {problems}"

    def setting(self, english: bool, large: bool) -> None:
        if english:
            self.page.click("#toggle-language")
        if large:
            self.page.click("#toggle-large")

    def all_candidates(self) -> list[str]:
        """Page through the current contest; every candidate seen, each checked on screen."""
        seen: list[str] = []
        while True:
            seen += self.page.eval_on_selector_all(
                ".candidate", "nodes => nodes.map(n => n.dataset.selection)"
            )
            if self.page.locator("#page-next").count() == 0:
                return seen
            if self.page.locator("#page-next").is_disabled():
                self.page.click("#page-previous")
                while not self.page.locator("#page-previous").is_disabled():
                    self.page.click("#page-previous")
                return seen
            self.page.click("#page-next")
            self.check("ballot-next-page")


def walk_a_vote(
    station: StationHarness, walk: ScreenWalk, english: bool, large: bool, challenge: bool
) -> None:
    page = walk.page
    voter = station.next_voter()
    station.reader.insert(station.card(voter))
    wait_screen(page, "pin")
    walk.setting(english, large)
    walk.check("pin")
    page.click('button[data-digit="1"]')
    page.click("#pin-ok")
    page.wait_for_selector("#pin-why")
    walk.check("pin-too-short")
    page.click("#pin-clear")
    for digit in voter.pin:
        page.click(f'button[data-digit="{digit}"]')
    page.click("#pin-ok")
    wait_screen(page, "ballot")
    walk.check("ballot-majlis")
    contest_sizes = {c.contest_id: len(c.candidates) for c in station.manifest.contests}
    majlis = walk.all_candidates()
    assert sorted(majlis) == sorted(set(majlis))
    assert len(majlis) == contest_sizes["majlis"]
    for selection in majlis[:3]:
        while page.locator(f'[data-selection="{selection}"]').count() == 0:
            page.click("#page-next")
        page.click(f'[data-selection="{selection}"]')
    walk.check("ballot-majlis-limit-reached")
    page.click("#next")
    experts = walk.all_candidates()
    assert len(experts) == contest_sizes["experts"]
    walk.check("ballot-experts")
    page.click("#next")
    page.wait_for_selector("#dialog:not([hidden])")
    walk.check("undervote-dialog")
    page.click("#dialog button.primary")
    wait_screen(page, "review")
    walk.check("review")
    page.click("#confirm")
    wait_screen(page, "tracking")
    walk.check("tracking")
    if challenge:
        page.click("#challenge")
        wait_screen(page, "challenged")
        walk.check("challenged")
        page.click("#vote-again")
        wait_screen(page, "ballot")
        page.click("#next")
        page.click("#next")
        page.click("#dialog button.primary")
        wait_screen(page, "review")
        page.click("#confirm")
        wait_screen(page, "tracking")
    page.click("#cast")
    wait_screen(page, "receipt")
    walk.check("receipt")
    page.click("#finish")
    station.reader.remove()
    wait_screen(page, "idle")
    walk.check("idle")


SETTINGS = [
    (800, 480, False, False),
    (800, 480, True, False),
    (800, 480, False, True),
    (800, 480, True, True),
    (1024, 600, False, True),
    (1280, 800, True, False),
]


def folder_name(width: int, height: int, english: bool, large: bool) -> str:
    return f"{width}x{height}-{'en' if english else 'fa'}{'-large' if large else ''}"


def test_every_action_is_on_screen_at_800x480_in_both_languages_and_large_text(
    chromium: Any,
    station: StationHarness,
    running: RunningTerminal,
    artifacts: Path,
) -> None:
    station.open_polls(KioskClient(running.url))
    with chromium_page(chromium, 800, 480) as page:
        page.goto(running.url)
        wait_screen(page, "idle")
        for index, (width, height, english, large) in enumerate(SETTINGS):
            page.set_viewport_size({"width": width, "height": height})
            walk = ScreenWalk(
                page, artifacts / "screens" / folder_name(width, height, english, large)
            )
            walk.check("idle")
            walk_a_vote(station, walk, english, large, challenge=index == 3)


def test_officials_and_refusals_fit_800x480(
    chromium: Any,
    station: StationHarness,
    running: RunningTerminal,
    artifacts: Path,
) -> None:
    stranger = next(person for person in station.people if not person.on_roll)
    with chromium_page(chromium, 800, 480) as page:
        page.goto(running.url)
        for english, large in [(False, False), (True, True)]:
            walk = ScreenWalk(
                page, artifacts / "screens" / f"officials-{folder_name(800, 480, english, large)}"
            )
            wait_screen(page, "idle")
            walk.check("idle-polls-not-open")
            station.reader.insert(station.card(station.official))
            wait_screen(page, "pin")
            walk.setting(english, large)
            page.keyboard.type(station.official.pin)
            page.keyboard.press("Enter")
            wait_screen(page, "officials")
            walk.check("officials")
            if not english:
                page.click("#open-polls")
                page.wait_for_selector("#open-polls:disabled")
                walk.check("officials-opened")
            page.click("#close-polls")
            page.wait_for_selector("#dialog:not([hidden])")
            walk.check("close-confirm")
            page.keyboard.press("Escape")
            page.click("#exit")
            station.reader.remove()
            wait_screen(page, "idle")
            station.reader.insert(station.card(stranger))
            wait_screen(page, "pin")
            walk.setting(english, large)
            page.keyboard.type(stranger.pin)
            page.keyboard.press("Enter")
            wait_screen(page, "refused")
            walk.check("refused")
            station.reader.remove()
