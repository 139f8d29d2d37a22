"""The offline banner on the booth's 800×480 screen: on every screen of a whole provisional
vote, in Persian and English, with and without large text, without pushing any action
out of reach.

Screenshots land in ``test-artifacts/terminal/screens/offline-800x480-<language>[-large]/``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import chromium_page, wait_screen
from station_harness import StationHarness
from test_kiosk_small_screen import ScreenWalk, walk_a_vote
from test_offline_booth import officials_post, wait_until
from test_offline_booth import offline_terminal as offline_terminal  # noqa: F401  (fixture)

from terminal.i18n import text
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

pytestmark = pytest.mark.browser


class OfflineWalk(ScreenWalk):
    """Every screen checked as on any booth, and the banner shown in the page's language."""

    def check(self, label: str) -> None:
        super().check(label)
        banner = self.page.locator("#offline-banner")
        assert banner.is_visible(), f"{label}: no offline banner"
        language = self.page.evaluate("document.documentElement.lang")
        assert banner.inner_text() == text("offline_banner", language), label
        box = banner.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 480, label


@pytest.mark.parametrize(
    ("english", "large"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["fa", "en", "fa-large", "en-large"],
)
def test_the_offline_banner_is_on_every_screen_of_a_provisional_vote_at_800x480(
    chromium: Any,
    station: StationHarness,
    offline_terminal: RunningTerminal,  # noqa: F811
    artifacts: Path,
    english: bool,
    large: bool,
) -> None:
    booth = offline_terminal.booth
    kiosk = KioskClient(offline_terminal.url)
    station.open_polls(kiosk)
    station.stop_server()
    wait_until(lambda: booth.uplink is not None and booth.uplink.down_since is not None)
    wait_until(lambda: time.time() - (booth.uplink.down_since or time.time()) > 1)  # type: ignore[union-attr]
    assert officials_post(station, kiosk, "offline/enter")["notice"]["code"] == "offline_entered"  # type: ignore[index]
    language = "en" if english else "fa"
    folder = artifacts / "screens" / f"offline-800x480-{language}{'-large' if large else ''}"
    with chromium_page(chromium, 800, 480) as page:
        page.goto(offline_terminal.url)
        wait_screen(page, "idle")
        walk = OfflineWalk(page, folder)
        if english:
            page.click("#toggle-language")
        walk.check("idle-before")
        if english:
            page.click("#toggle-language")  # walk_a_vote switches it on the PIN screen
        walk_a_vote(station, walk, english=english, large=large, challenge=False)
    assert booth.journal.counts().waiting == 1
