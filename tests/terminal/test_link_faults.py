"""A terminal behind a misbehaving link: no ballot lost, no voter stuck, no crash on start.

The terminal talks to the real server through ``evote.link.CuttableLink``,
which cuts answers short, drops them after the server acted, resets or stalls
connections, exactly as a proxy in front of a dying worker does.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from station_harness import STATION_ID, TERMINAL_ID, StationHarness
from test_outage import CHOICES, board_codes, to_tracking, wait_until

from evote import protocol
from evote.link import FAULT_KINDS, CuttableLink
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal


@pytest.fixture
def link(station: StationHarness) -> Iterator[CuttableLink]:
    forwarder = CuttableLink("127.0.0.1", station.port, stall_s=5.0)
    yield forwarder
    forwarder.close()


@pytest.fixture
def linked(
    station: StationHarness, link: CuttableLink, tmp_path: Path
) -> Iterator[tuple[RunningTerminal, KioskClient]]:
    running = station.start_terminal(
        tmp_path / "terminal", server_url=link.url, server_timeout_s=1.0
    )
    kiosk = KioskClient(running.url)
    station.open_polls(kiosk)
    yield running, kiosk
    running.stop()


def link_status(running: RunningTerminal) -> dict[str, object]:
    with urllib.request.urlopen(f"{running.url}/api/status", timeout=5) as reply:
        answer: dict[str, object] = json.loads(reply.read())
    return answer


@pytest.mark.parametrize("fault", FAULT_KINDS)
def test_a_cast_whose_delivery_meets_a_fault_reaches_the_board_exactly_once(
    station: StationHarness,
    link: CuttableLink,
    linked: tuple[RunningTerminal, KioskClient],
    fault: str,
) -> None:
    running, kiosk = linked
    code = to_tracking(station, kiosk)
    link.inject(fault, path_contains=protocol.PATH_CAST)
    link.inject(fault, path_contains=protocol.PATH_CAST)
    assert kiosk.post("cast")["state"] == "receipt"
    wait_until(lambda: link.pending_faults() == 0)
    wait_until(lambda: running.booth.journal.counts().waiting == 0, timeout_s=30)
    assert link.applied[fault] == 2
    assert board_codes(station) == [(1, code)]
    status = link_status(running)
    assert status["online"] is True and status["waiting"] == 0
    assert status["last_error"] is not None
    assert running.booth.journal.counts().rejected == 0


def test_status_shows_the_backlog_while_answers_are_cut_short(
    station: StationHarness, link: CuttableLink, linked: tuple[RunningTerminal, KioskClient]
) -> None:
    running, kiosk = linked
    code = to_tracking(station, kiosk)
    for _ in range(200):
        link.inject("cut_short", path_contains=protocol.PATH_CAST)
    assert kiosk.post("cast")["state"] == "receipt"
    wait_until(lambda: link.applied["cut_short"] >= 2)
    status = link_status(running)
    assert status["online"] is False
    assert status["waiting"] == 1
    assert isinstance(status["oldest_waiting_age_s"], int)
    assert status["last_error"] == "incomplete_answer"
    station.reader.remove()
    station.sign_in(kiosk, station.official)
    officials = kiosk.wait_for("officials")["officials"]
    assert (officials["waiting"], officials["last_error"]) == (1, "incomplete_answer")
    kiosk.post("dismiss")
    station.reader.remove()
    link.clear_faults()
    wait_until(lambda: running.booth.journal.counts().waiting == 0, timeout_s=30)
    assert board_codes(station) == [(1, code)]
    assert link_status(running)["online"] is True


@pytest.mark.parametrize("fault", ["cut_short", "drop_answer", "reset"])
def test_a_voter_whose_check_in_answer_is_lost_is_not_left_on_the_inquiry_screen(
    station: StationHarness,
    link: CuttableLink,
    linked: tuple[RunningTerminal, KioskClient],
    fault: str,
) -> None:
    running, kiosk = linked
    link.inject(fault, path_contains=protocol.PATH_CHECK_IN)
    station.sign_in(kiosk, station.next_voter())
    view = kiosk.wait_for("refused", "ballot")
    assert view["state"] == "refused"
    assert view["notice"]["code"] == "server_unreachable"
    station.reader.remove()
    assert kiosk.wait_for("idle")["state"] == "idle"
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.vote(CHOICES)
    station.reader.remove()
    wait_until(lambda: running.booth.journal.counts().waiting == 0)


def test_a_terminal_restarted_while_answers_are_cut_short_starts_from_its_cached_election(
    station: StationHarness, link: CuttableLink, tmp_path: Path
) -> None:
    data_dir = tmp_path / "terminal"
    first = station.start_terminal(data_dir, server_url=link.url, server_timeout_s=1.0)
    first.stop()
    for _ in range(50):
        link.inject("cut_short")
    second = station.start_terminal(data_dir, server_url=link.url, server_timeout_s=1.0)
    try:
        assert link.applied["cut_short"] >= 1
        assert KioskClient(second.url).wait_for("idle")["state"] == "idle"
        assert second.booth.election.election_id == first.booth.election.election_id
    finally:
        second.stop()


def closing_report(station: StationHarness) -> dict[str, Any]:
    from ballot_server.models import PollReport

    with Session(station.app.extensions["evote"].engine) as session:
        stored = session.get(PollReport, (STATION_ID, "closing"))
        assert stored is not None
        report: dict[str, Any] = json.loads(stored.envelope)["payload"]
    return report


def test_closing_over_a_waiting_ballot_needs_the_override_and_the_report_names_it(
    station: StationHarness, link: CuttableLink, linked: tuple[RunningTerminal, KioskClient]
) -> None:
    running, kiosk = linked
    code = to_tracking(station, kiosk)
    for _ in range(1000):  # the request never reaches the server
        link.inject("reset", path_contains=protocol.PATH_CAST)
    assert kiosk.post("cast")["state"] == "receipt"
    cast_at = time.time()
    wait_until(lambda: link.applied["reset"] >= 1)
    station.reader.remove()
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    view = kiosk.post("officials/close")
    assert view["notice"]["code"] == "backlog_waiting" and view["polls_state"] == "open"
    wait_until(lambda: time.time() > cast_at + 1.5)  # the close must come after the ballot
    view = kiosk.post("officials/close", {"override_backlog": True})
    assert view["polls_state"] == "closed"
    report = closing_report(station)
    assert report["reconciled"] is False
    assert report["missing_sequences"] == [
        {"terminal_id": TERMINAL_ID, "first": 1, "last": 1, "count": 1}
    ]
    link.clear_faults()
    wait_until(lambda: running.booth.journal.counts().waiting == 0, timeout_s=30)
    assert board_codes(station) == [(1, code)]
    report = closing_report(station)
    assert report["reconciled"] is True and report["missing_sequences"] == []
