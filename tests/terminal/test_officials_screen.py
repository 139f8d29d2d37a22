"""The officials' screen at 800×480, and the kiosk finding its terminal again by itself.

* The link to the server (online, waiting, last error) is on screen at all times;
  each action's result is in a box inside the window: green when done, red with the
  reason (the URL that did not answer, the printer's fault under a report that did
  not print, the server's refusal) when not; focus after an action is on the
  heading, never on the next action.
* A terminal that stops and starts again, or a page reloaded while it is down, shows
  the kiosk's own Persian/English "reconnecting" notice and comes back by itself.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import actions_out_of_reach, chromium_page, wait_screen
from station_harness import STATION_ID, TERMINAL_ID, StationHarness

from ballot_server.reports import reissue_closing_report
from ballot_server.setup import revoke_terminal
from evote import protocol
from evote.link import CuttableLink
from terminal.i18n import CATALOGUE
from terminal.kiosk_client import KioskClient

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 800, 480
SCREENS = (
    Path(__file__).resolve().parents[2]
    / "test-artifacts"
    / "terminal"
    / "screens"
    / "officials-800x480"
)


def inside_window(page: Any, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return bool(box) and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def officials_page(
    chromium: Any, station: StationHarness, tmp_path: Path, **overrides: object
) -> Iterator[Any]:
    """A running terminal's kiosk at 800×480 with the station's official signed in."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    running = station.start_terminal(tmp_path / "terminal", **overrides)
    kiosk = KioskClient(running.url)
    try:
        with chromium_page(chromium, WIDTH, HEIGHT) as page:
            page.goto(running.url)
            wait_screen(page, "idle")
            station.sign_in(kiosk, station.official)
            wait_screen(page, "officials")
            yield page
    finally:
        running.stop()


def test_officials_see_the_link_and_every_results_reason_at_800x480(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    with officials_page(chromium, station, tmp_path) as page:
        assert inside_window(page, "#link-status")
        assert "#" not in page.inner_text("#link-status")
        page.click("#open-polls")
        page.wait_for_selector('#notice[data-ok="true"]')
        assert inside_window(page, "#notice") and inside_window(page, "#link-status")
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-opened-fa.png"))

        url = station.server_url
        station.stop_server()
        page.click("#pause-polls")
        page.wait_for_selector('#notice[data-ok="false"]')
        text = page.inner_text("#notice")
        assert f"{url}/api/v1/" in text and "connection refused" in text
        assert inside_window(page, "#notice") and inside_window(page, "#link-status")
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert not actions_out_of_reach(page)
        page.wait_for_selector("#link-error", timeout=20000)  # the idle status call's turn
        assert "connection_refused" in page.inner_text("#link-error")
        assert inside_window(page, "#link-status") and inside_window(page, "#notice")
        assert not actions_out_of_reach(page)  # the whole reason, above the content's edge
        page.screenshot(path=str(SCREENS / "officials-failed-fa.png"))
        page.click("#toggle-language")
        assert "The server did not answer" in page.inner_text("#notice")
        assert page.inner_text("#link-online") == "Not connected to the server"
        assert inside_window(page, "#notice")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-failed-en.png"))
        station.start_server()


def test_officials_see_why_a_report_did_not_print_and_why_the_server_refused_at_800x480(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    with officials_page(chromium, station, tmp_path) as page:
        station.printer.paper_out = True
        page.click("#open-polls")
        page.wait_for_selector('#notice[data-ok="false"]')
        assert "کاغذ چاپگر تمام شده است" in page.inner_text("#notice")
        assert "رأی شما" not in page.inner_text("#notice")  # not the voter's wording
        assert inside_window(page, "#notice") and inside_window(page, "#link-status")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-no-paper-fa.png"))
        station.printer.load_paper()

        state = station.app.extensions["evote"]
        revoke_terminal(state, TERMINAL_ID, "replaced")
        time.sleep(state.config.terminal_cache_s + 0.5)  # cached keys are read again
        page.click("#pause-polls")
        # The paper-out notice is still up (also data-ok=false): wait for the new one.
        page.wait_for_selector('#notice:has-text("این دستگاه توسط ستاد باطل شده است")')
        assert inside_window(page, "#notice") and inside_window(page, "#link-status")
        page.click("#toggle-language")
        assert "revoked by HQ" in page.inner_text("#notice")
        assert inside_window(page, "#notice")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-refused-en.png"))


def test_officials_countersign_again_a_closing_report_reissued_after_the_close_at_800x480(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    """The report is reissued after the close (as a late ballot or a void does): the
    screen says it lacks a countersignature and offers "countersign again", in reach."""
    with officials_page(chromium, station, tmp_path, uplink_idle_interval_s=0.3) as page:
        page.click("#open-polls")
        page.wait_for_selector('#notice[data-ok="true"]')
        page.click("#close-polls")
        page.click("#dialog button.danger")
        closed_and_countersigned = CATALOGUE["polls_closed_done"][0]
        page.locator('#notice[data-ok="true"]', has_text=closed_and_countersigned).wait_for()
        assert page.locator("#countersign-again").count() == 0
        reissue_closing_report(station.app.extensions["evote"], STATION_ID)
        page.wait_for_selector("#countersign-again", timeout=20000)
        assert "امضای کارت مسئول" in page.inner_text("#countersign-needed")
        assert inside_window(page, "#countersign-needed") and inside_window(page, "#link-status")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-countersign-needed-fa.png"))
        page.click("#toggle-language")
        assert "lacks an official's countersignature" in page.inner_text("#countersign-needed")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-countersign-needed-en.png"))
        page.click("#countersign-again")
        page.locator('#notice[data-ok="true"]', has_text="countersigned with your card").wait_for()
        assert page.locator("#countersign-again").count() == 0
        assert page.locator("#countersign-needed").count() == 0
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert not actions_out_of_reach(page)


def test_officials_see_a_close_whose_answer_was_lost_as_unknown_until_the_server_tells(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    """At 800×480: the close went out and its answer was lost, so the notice says the
    outcome is not known and the terminal is asking (never "nothing was done"); once a
    status answer comes, it shows the polls closed, not countersigned, with "countersign
    again" in reach."""
    link = CuttableLink("127.0.0.1", station.port, stall_s=5.0)
    overrides = {"server_url": link.url, "server_timeout_s": 2.0, "uplink_idle_interval_s": 0.3}
    try:
        with officials_page(chromium, station, tmp_path, **overrides) as page:
            page.click("#open-polls")
            page.wait_for_selector('#notice[data-ok="true"]')
            link.inject("drop_answer", path_contains=protocol.PATH_POLL_ACTION)
            for _ in range(1000):  # no status answer either, until the link is healed
                link.inject("reset", path_contains=protocol.PATH_TERMINAL_STATUS)
            page.click("#close-polls")
            page.click("#dialog button.danger")
            page.locator('#notice[data-ok="false"]', has_text="هنوز معلوم نیست").wait_for()
            assert "کاری انجام نشد" not in page.inner_text("#notice")
            assert inside_window(page, "#notice") and inside_window(page, "#link-status")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-unknown-fa.png"))
            page.click("#toggle-language")
            assert "not known yet whether the polls closed" in page.inner_text("#notice")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-unknown-en.png"))
            link.clear_faults()
            page.locator("#notice", has_text="answer to the close was lost").wait_for(timeout=20000)
            page.wait_for_selector("#countersign-again")
            assert inside_window(page, "#notice") and inside_window(page, "#countersign-needed")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-confirmed-en.png"))
    finally:
        link.close()


KEPT_JS = """async () => {
  for (const name of await caches.keys()) {
    if (await (await caches.open(name)).match("/")) return true;
  }
  return false;
}"""


def wait_for_page_kept(page: Any) -> None:
    """Until the kiosk's service worker holds the page (it asks for it once it is active)."""
    for _ in range(150):
        if page.evaluate(KEPT_JS):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the kiosk page was never kept for offline reloads")


class TerminalProcess:
    """``evote terminal run`` as its own process, so it can die as a real one does (kill -9)."""

    def __init__(self, station: StationHarness, root: Path, port: int) -> None:
        key = root / "terminal.key"
        if not key.exists():
            key.write_text(station.terminal_key.seed.hex() + "\n", encoding="ascii")
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from evote.cli.main import main; main()", "terminal", "run",
             "--reader", station.reader.path, "--printer", station.printer.path,
             "--server", station.server_url, "--data-dir", str(root / "terminal"),
             "--terminal-id", TERMINAL_ID, "--terminal-key", str(key), "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == self.url

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def test_the_kiosk_reconnects_by_itself_after_a_restart_and_after_a_reload_while_down(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    port = free_port()
    terminal = TerminalProcess(station, tmp_path, port)
    try:
        with chromium_page(chromium, WIDTH, HEIGHT) as page:
            page.goto(terminal.url)
            wait_screen(page, "idle")
            wait_for_page_kept(page)
            terminal.kill()
            page.wait_for_selector("#connection:not([hidden])", timeout=15000)
            assert "دوباره وصل" in page.inner_text("#connection")
            page.reload()
            page.wait_for_selector("#connection:not([hidden])", timeout=15000)
            assert "reconnecting" in page.inner_text("#connection")
            terminal = TerminalProcess(station, tmp_path, port)
            page.wait_for_selector("#connection", state="hidden", timeout=15000)
            wait_screen(page, "idle")
            station.reader.insert(station.card(station.official))
            wait_screen(page, "pin")
    finally:
        terminal.kill()
