"""The officials' screen at 800×480, and the kiosk finding its terminal again by itself.

* The link to the server (online, waiting, last error) is on screen at all times;
  each action's result is in a box inside the window: green when done, red with the
  reason (the URL that did not answer, the printer's fault under a report that did
  not print, the server's refusal) when not; focus after an action is on the
  heading, never on the next action.
* In the worst case (every part of the link line shown, the longest link error and
  result the terminal reports, the countersign line and all seven actions) the link
  line, the result and the actions stay in sight, in Persian and English.
* A terminal that stops and starts again, or a page reloaded while it is down, shows
  the kiosk's own Persian/English "reconnecting" notice and comes back by itself.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kiosk_browser import actions_out_of_reach, chromium_page, wait_screen
from station_harness import STATION_ID, TERMINAL_ID, StationHarness

from ballot_server.reports import reissue_closing_report
from ballot_server.setup import revoke_terminal
from evote import protocol
from evote.client import ServerUnreachable
from evote.link import CuttableLink
from terminal.i18n import CATALOGUE
from terminal.kiosk_client import KioskClient
from terminal.notices import Notice

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 800, 480
SCREENS = (
    Path(__file__).resolve().parents[2]
    / "test-artifacts"
    / "terminal"
    / "screens"
    / "officials-800x480"
)


IN_SIGHT_JS = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return false;
  const box = node.getBoundingClientRect();
  const content = node.closest("#content");
  const frame = content ? content.getBoundingClientRect() : { top: 0, bottom: innerHeight };
  return box.height > 0 && box.left >= 0 && box.right <= innerWidth
    && box.top >= Math.max(0, frame.top) - 1
    && box.bottom <= Math.min(innerHeight, frame.bottom) + 1;
}"""


def in_sight(page: Any, selector: str) -> bool:
    """The element is whole inside the window and not hidden under its scrolling box's
    edge (the content's, above the action bar). Found and measured in one step in the
    page: the kiosk draws the screen anew on every view change (the link going down, a
    count), and an element found first and measured after (``Locator.bounding_box``)
    may have been replaced in between, which measures as no box at all."""
    return bool(page.evaluate(IN_SIGHT_JS, selector))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ViewRewrite = Callable[[dict[str, Any]], dict[str, Any]]


@contextmanager
def officials_page(
    chromium: Any,
    station: StationHarness,
    tmp_path: Path,
    rewrite_view: ViewRewrite | None = None,
    **overrides: object,
) -> Iterator[Any]:
    """A running terminal's kiosk at 800×480 with the station's official signed in.
    ``rewrite_view`` changes every officials' view on its way to the page."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    running = station.start_terminal(tmp_path / "terminal", **overrides)
    kiosk = KioskClient(running.url)

    def rewrite(route: Any) -> None:
        assert rewrite_view is not None
        response = route.fetch()
        view = response.json()
        if view.get("state") == "officials":
            view = rewrite_view(view)
        route.fulfill(response=response, body=json.dumps(view))

    try:
        with chromium_page(chromium, WIDTH, HEIGHT) as page:
            if rewrite_view is not None:
                page.route("**/api/state?*", rewrite)
            try:
                page.goto(running.url)
                wait_screen(page, "idle")
                station.sign_in(kiosk, station.official)
                wait_screen(page, "officials")
                yield page
            finally:
                page.unroute_all(behavior="ignoreErrors")  # the long poll still waiting
    finally:
        running.stop()


def test_officials_see_the_link_and_every_results_reason_at_800x480(
    chromium: Any, station: StationHarness, tmp_path: Path
) -> None:
    with officials_page(chromium, station, tmp_path) as page:
        assert in_sight(page, "#link-status")
        assert "#" not in page.inner_text("#link-status")
        page.click("#open-polls")
        page.wait_for_selector('#notice[data-ok="true"]')
        assert in_sight(page, "#notice") and in_sight(page, "#link-status")
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-opened-fa.png"))

        url = station.server_url
        station.stop_server()
        page.click("#pause-polls")
        page.wait_for_selector('#notice[data-ok="false"]')
        text = page.inner_text("#notice")
        assert f"{url}/api/v1/" in text and "connection refused" in text
        assert in_sight(page, "#notice") and in_sight(page, "#link-status")
        assert page.evaluate("document.activeElement.tagName") == "H1"
        assert not actions_out_of_reach(page)
        page.wait_for_selector("#link-error", timeout=20000)  # the idle status call's turn
        assert "connection_refused" in page.inner_text("#link-error")
        assert in_sight(page, "#link-status") and in_sight(page, "#notice")
        assert not actions_out_of_reach(page)  # the whole reason, above the content's edge
        page.screenshot(path=str(SCREENS / "officials-failed-fa.png"))
        page.click("#toggle-language")
        assert "The server did not answer" in page.inner_text("#notice")
        assert page.inner_text("#link-online") == "Not connected to the server"
        assert in_sight(page, "#notice")
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
        assert in_sight(page, "#notice") and in_sight(page, "#link-status")
        assert not actions_out_of_reach(page)
        page.screenshot(path=str(SCREENS / "officials-no-paper-fa.png"))
        station.printer.load_paper()

        state = station.app.extensions["evote"]
        revoke_terminal(state, TERMINAL_ID, "replaced")
        time.sleep(state.config.terminal_cache_s + 0.5)  # cached keys are read again
        page.click("#pause-polls")
        # The paper-out notice is still up (also data-ok=false): wait for the new one.
        page.wait_for_selector('#notice:has-text("این دستگاه توسط ستاد باطل شده است")')
        assert in_sight(page, "#notice") and in_sight(page, "#link-status")
        page.click("#toggle-language")
        assert "revoked by HQ" in page.inner_text("#notice")
        assert in_sight(page, "#notice")
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
        assert in_sight(page, "#countersign-needed") and in_sight(page, "#link-status")
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
            assert in_sight(page, "#notice") and in_sight(page, "#link-status")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-unknown-fa.png"))
            page.click("#toggle-language")
            assert "not known yet whether the polls closed" in page.inner_text("#notice")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-unknown-en.png"))
            link.clear_faults()
            page.locator("#notice", has_text="answer to the close was lost").wait_for(timeout=20000)
            page.wait_for_selector("#countersign-again")
            assert in_sight(page, "#notice") and in_sight(page, "#countersign-needed")
            assert not actions_out_of_reach(page)
            page.screenshot(path=str(SCREENS / "officials-close-confirmed-en.png"))
    finally:
        link.close()


# The longest link error and result the terminal shows. Link error: the supervisor's
# form, which names an exception's type, here a long one (a refusal code is at most 28
# characters, an unreachable kind 17). Result: a close whose answer was lost behind a
# proxy's error, at a server URL of production length.
LONGEST_LINK_ERROR = f"uplink_error: {ConnectionAbortedError.__name__}"
LONGEST_REASON = str(
    ServerUnreachable(
        "not_the_server",
        "HTTP 407 without a refusal body",
        "https://ballot-server.example.org:8443" + protocol.PATH_POLL_ACTION,
    )
)


def worst_case(online: bool) -> ViewRewrite:
    """Everything the officials' screen can hold at once, each at its longest: the link
    line with its four parts (five-digit counts), the longest result, the countersign
    line, and seven actions (Countersign again and Enter offline mode with the four poll
    actions and Exit). Polls closed while the notice still says the close's outcome is
    unknown: a status answer already on its way when the close went out says closed."""
    notice = Notice.of("close_outcome_unknown", reason=LONGEST_REASON).to_json()

    def rewrite(view: dict[str, Any]) -> dict[str, Any]:
        view["polls_state"] = "closed"
        view["notice"] = notice
        view["officials"].update(
            polls_state="closed",
            online=online,
            waiting=12345,
            oldest_waiting_age_s=86399,
            last_error=LONGEST_LINK_ERROR,
            countersign_needed=True,
            offline_available=True,
        )
        return view

    return rewrite


@pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
def test_officials_see_the_link_the_whole_result_and_every_action_in_the_worst_case_at_800x480(
    chromium: Any, station: StationHarness, tmp_path: Path, online: bool
) -> None:
    """The link line stays short (its last error cut with an ellipsis, whole for a
    screen reader and in its title), so the whole result, the countersign line and all
    seven actions stay in sight under it, in Persian and English."""
    with officials_page(chromium, station, tmp_path, rewrite_view=worst_case(online)) as page:
        page.wait_for_selector("#countersign-again")
        link = "online" if online else "offline"
        for language in ("fa", "en"):
            if language == "en":
                page.click("#toggle-language")
                page.wait_for_selector("html[lang=en]")
            page.screenshot(path=str(SCREENS / f"officials-worst-case-{link}-{language}.png"))
            for part in ("#link-online", "#link-waiting", "#link-oldest", "#link-error"):
                assert in_sight(page, part), f"{language}: {part} is out of sight"
            for part in ("#notice", "#countersign-needed"):
                assert in_sight(page, part), f"{language}: {part} is out of sight"
            assert LONGEST_LINK_ERROR in page.inner_text("#link-error")
            assert LONGEST_LINK_ERROR in (page.get_attribute("#link-error", "title") or "")
            assert not actions_out_of_reach(page), language


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
