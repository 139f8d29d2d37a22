"""A missing countersignature is repaired at the terminal (issue 12).

Each way the officials' countersignature of the closing report goes missing on
an honest station — the close's answer lost on the network, the countersign
request failing, the report reissued after the close by a ballot delivered late
from a journal — leaves a record that fails ``evote verify`` (the insider
guarantee: no station's count rests on the server's word alone). The server's
status says so, the officials' screen offers "countersign again", and after it
the record verifies. A close whose answer was lost is shown as "outcome
unknown" until the server's status says whether the polls closed. Real server,
terminal, devices on ptys, a faulty link, the key ceremony's trustees tallying
the exported record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from station_harness import STATION_ID, StationHarness, key_ceremony
from test_outage import to_tracking, wait_until

from evote import protocol
from evote.link import CuttableLink
from tally.ceremony import CeremonyResult
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> CeremonyResult:
    return key_ceremony(tmp_path_factory.mktemp("ceremony"))


@pytest.fixture
def station(tmp_path: Path, ceremony: CeremonyResult) -> Iterator[StationHarness]:
    harness = StationHarness(tmp_path, ceremony=ceremony)
    yield harness
    harness.close()


@pytest.fixture
def link(station: StationHarness) -> Iterator[CuttableLink]:
    forwarder = CuttableLink("127.0.0.1", station.port, stall_s=5.0)
    yield forwarder
    forwarder.close()


@pytest.fixture
def booth(
    station: StationHarness, link: CuttableLink, tmp_path: Path
) -> Iterator[tuple[RunningTerminal, KioskClient]]:
    """A booth behind the faulty link, polls open, one ballot cast."""
    running = station.start_terminal(
        tmp_path / "terminal",
        server_url=link.url,
        server_timeout_s=2.0,
        uplink_idle_interval_s=0.3,
    )
    kiosk = KioskClient(running.url)
    station.open_polls(kiosk)
    to_tracking(station, kiosk)
    assert kiosk.post("cast")["state"] == "receipt"
    station.reader.remove()
    kiosk.wait_for("idle")
    yield running, kiosk
    running.stop()


def officials_screen(station: StationHarness, kiosk: KioskClient) -> None:
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")


def officials_when(kiosk: KioskClient, **wanted: Any) -> dict[str, Any]:
    """The officials' view once the booth's status requests show ``wanted``."""
    view: dict[str, Any] = {}

    def shown() -> bool:
        nonlocal view
        view = kiosk.state()
        figures = {"polls_state": view["polls_state"], **(view["officials"] or {})}
        return all(figures.get(name) == value for name, value in wanted.items())

    wait_until(shown, timeout_s=30)
    return view


def fails_until_countersigned_again(
    station: StationHarness, kiosk: KioskClient, tmp_path: Path
) -> None:
    """The record fails verify, naming the missing countersignature; the officials'
    screen shows it and countersigns again; then the record verifies."""
    failure = station.tally_and_verify(tmp_path / "record-before")
    assert failure is not None
    assert (failure.location, failure.code) == (
        f"reports/{STATION_ID}-closing.json:countersigned",
        "not_countersigned",
    )
    officials_when(kiosk, polls_state="closed", countersign_needed=True)
    view = kiosk.post("officials/countersign")
    assert view["notice"]["code"] == "countersigned_done" and view["notice"]["ok"]
    assert view["officials"]["countersign_needed"] is False
    assert station.tally_and_verify(tmp_path / "record-after") is None


def test_a_close_whose_answer_was_lost_is_countersigned_again(
    station: StationHarness,
    link: CuttableLink,
    booth: tuple[RunningTerminal, KioskClient],
    tmp_path: Path,
) -> None:
    _, kiosk = booth
    officials_screen(station, kiosk)
    link.inject("drop_answer", path_contains=protocol.PATH_POLL_ACTION)
    for _ in range(1000):  # the status requests too, until the test lets them through
        link.inject("reset", path_contains=protocol.PATH_TERMINAL_STATUS)
    view = kiosk.post("officials/close")
    assert link.applied["drop_answer"] == 1
    # The close may or may not have reached the server: the notice says so, never
    # "nothing was done", and stays until the server's status tells.
    notice = view["notice"]
    assert (notice["code"], notice["ok"]) == ("close_outcome_unknown", False)
    assert "not known yet whether the polls closed" in notice["en"]
    assert "هنوز معلوم نیست" in notice["fa"]
    wait_until(lambda: link.applied["reset"] >= 2, timeout_s=30)
    assert kiosk.state()["notice"]["code"] == "close_outcome_unknown"
    link.clear_faults()
    officials_when(kiosk, polls_state="closed", countersign_needed=True)
    wait_until(lambda: kiosk.state()["notice"]["code"] == "closed_not_countersigned", 30)
    notice = kiosk.state()["notice"]
    assert "answer to the close was lost" in notice["en"] and "Countersign again" in notice["en"]
    fails_until_countersigned_again(station, kiosk, tmp_path)


def test_a_close_that_never_reached_the_server_is_shown_as_not_done(
    station: StationHarness,
    link: CuttableLink,
    booth: tuple[RunningTerminal, KioskClient],
) -> None:
    _, kiosk = booth
    officials_screen(station, kiosk)
    link.inject("reset", path_contains=protocol.PATH_POLL_ACTION)
    for _ in range(1000):
        link.inject("reset", path_contains=protocol.PATH_TERMINAL_STATUS)
    view = kiosk.post("officials/close")
    assert view["notice"]["code"] == "close_outcome_unknown"
    link.clear_faults()
    wait_until(lambda: kiosk.state()["notice"]["code"] == "close_not_done", 30)
    view = kiosk.state()
    assert view["polls_state"] == "open" and not view["notice"]["ok"]
    assert "the polls are open: the close did not take effect" in view["notice"]["en"]
    assert station.hq_station()["poll_state"] == "open"


def test_a_countersign_request_that_failed_is_countersigned_again(
    station: StationHarness,
    link: CuttableLink,
    booth: tuple[RunningTerminal, KioskClient],
    tmp_path: Path,
) -> None:
    _, kiosk = booth
    officials_screen(station, kiosk)
    link.inject("reset", path_contains=protocol.PATH_POLL_ACTION, skip=1)
    view = kiosk.post("officials/close")
    assert view["polls_state"] == "closed"
    assert view["notice"]["code"] == "closed_not_countersigned"
    assert view["officials"]["countersign_needed"] is True
    assert link.applied["reset"] == 1
    fails_until_countersigned_again(station, kiosk, tmp_path)


def test_a_report_reissued_by_a_late_ballot_is_countersigned_again(
    station: StationHarness,
    link: CuttableLink,
    booth: tuple[RunningTerminal, KioskClient],
    tmp_path: Path,
) -> None:
    running, kiosk = booth
    to_tracking(station, kiosk)
    for _ in range(1000):
        link.inject("reset", path_contains=protocol.PATH_CAST)
    assert kiosk.post("cast")["state"] == "receipt"
    station.reader.remove()
    kiosk.wait_for("idle")
    (waiting,) = running.booth.journal.undelivered()
    # The close lands in the very second the booth signed the waiting ballot in:
    # its authorization predates the close, so it counts as a late ballot.
    officials_screen(station, kiosk)
    station.pinned_now = json.loads(waiting.submission)["payload"]["timestamp"]
    view = kiosk.post("officials/close", {"override_backlog": True})
    station.pinned_now = None
    assert view["notice"]["code"] == "polls_closed_done"
    assert view["officials"]["countersign_needed"] is False
    assert station.hq_station()["poll_state"] == "closed"
    link.clear_faults()
    wait_until(lambda: running.booth.journal.counts().waiting == 0, timeout_s=30)
    fails_until_countersigned_again(station, kiosk, tmp_path)
