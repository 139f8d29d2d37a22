"""No voter locked out by a failure that is not theirs, through the real terminal.

Each of the five causes — Cancel (confirmed), card pulled, idle timeout, lost
check-in answer, terminal stopped before casting — ends the session without a
ballot; the terminal voids the authorization and releases the check-in, and the
voter then votes, once: the board holds one ballot, a further check-in is
refused ``already_voted``, and the station's closing report reconciles.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from station_harness import StationHarness
from test_outage import CHOICES, board_codes, wait_until

from ballot_server.registry_models import CheckIn
from evote import protocol
from evote.link import CuttableLink
from evote.sample import Person
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal


def released(station: StationHarness, voter: Person) -> bool:
    """Whether the registry shows the voter's check-in released (free to check in again)."""
    engine = station.app.extensions["evote"].registry_engine
    with Session(engine) as session:
        row = session.execute(
            select(CheckIn.released).where(CheckIn.national_code == voter.national_code)
        ).first()
    return row is not None and bool(row[0])


def vote(station: StationHarness, kiosk: KioskClient, voter: Person) -> str:
    """The whole flow to a printed receipt; the tracking code."""
    station.sign_in(kiosk, voter)
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    kiosk.post("cast")
    code = str(kiosk.wait_for("receipt")["tracking"]["code"])
    station.reader.remove()
    kiosk.wait_for("idle")
    return code


def votes_once_after(station: StationHarness, kiosk: KioskClient, voter: Person) -> None:
    """Released, the voter votes; the board holds that one ballot; no third check-in."""
    wait_until(lambda: released(station, voter))
    code = vote(station, kiosk, voter)
    wait_until(lambda: [c for _, c in board_codes(station)] == [code])
    station.sign_in(kiosk, voter)
    assert kiosk.wait_for("refused")["notice"]["code"] == "already_voted"
    station.reader.remove()
    kiosk.wait_for("idle")


def to_ballot(station: StationHarness, kiosk: KioskClient, voter: Person) -> None:
    station.sign_in(kiosk, voter)
    kiosk.wait_for("ballot")


def test_cancel_then_vote(station: StationHarness, kiosk: KioskClient) -> None:
    voter = station.next_voter()
    to_ballot(station, kiosk, voter)
    assert kiosk.post("cancel")["notice"]["code"] == "cancelled"
    station.reader.remove()
    kiosk.wait_for("idle")
    votes_once_after(station, kiosk, voter)


def test_card_pulled_then_vote(station: StationHarness, kiosk: KioskClient) -> None:
    voter = station.next_voter()
    to_ballot(station, kiosk, voter)
    kiosk.review(CHOICES)
    station.reader.remove()
    kiosk.wait_for("cancelled")
    kiosk.post("dismiss")
    votes_once_after(station, kiosk, voter)


@pytest.fixture
def impatient(station: StationHarness, tmp_path: Path) -> Iterator[RunningTerminal]:
    """A terminal that cancels a session idle for 4 s (the kiosk counts the last 30 down)."""
    terminal = station.start_terminal(tmp_path / "impatient", session_timeout_s=4.0)
    yield terminal
    terminal.stop()


def test_idle_timeout_after_a_countdown_then_vote(
    station: StationHarness, impatient: RunningTerminal, tmp_path: Path
) -> None:
    kiosk = KioskClient(impatient.url)
    station.open_polls(kiosk)
    voter = station.next_voter()
    station.sign_in(kiosk, voter)
    ballot = kiosk.wait_for("ballot")
    assert 0 < ballot["seconds_left"] <= 4.0  # what the kiosk counts down from
    view = kiosk.wait_for("cancelled", timeout_s=15)
    assert view["notice"]["code"] == "timeout" and view["seconds_left"] is None
    station.reader.remove()
    kiosk.wait_for("idle")
    wait_until(lambda: released(station, voter))
    impatient.stop()
    patient = station.start_terminal(tmp_path / "impatient")
    try:
        votes_once_after(station, KioskClient(patient.url), voter)
    finally:
        patient.stop()


def test_lost_check_in_answer_then_vote(station: StationHarness, tmp_path: Path) -> None:
    link = CuttableLink("127.0.0.1", station.port, stall_s=5.0)
    running = station.start_terminal(
        tmp_path / "terminal", server_url=link.url, server_timeout_s=1.0
    )
    try:
        kiosk = KioskClient(running.url)
        station.open_polls(kiosk)
        voter = station.next_voter()
        link.inject("drop_answer", path_contains=protocol.PATH_CHECK_IN)
        station.sign_in(kiosk, voter)
        assert kiosk.wait_for("refused")["notice"]["code"] == "server_unreachable"
        station.reader.remove()
        kiosk.wait_for("idle")
        votes_once_after(station, kiosk, voter)
    finally:
        running.stop()
        link.close()


def test_terminal_stopped_before_casting_then_vote(station: StationHarness, tmp_path: Path) -> None:
    running = station.start_terminal(tmp_path / "terminal")
    kiosk = KioskClient(running.url)
    station.open_polls(kiosk)
    voter = station.next_voter()
    to_ballot(station, kiosk, voter)
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    running.stop()  # as a crash: the session's release is in the journal, not given up
    station.reader.remove()
    restarted = station.start_terminal(tmp_path / "terminal")
    try:
        votes_once_after(station, KioskClient(restarted.url), voter)
    finally:
        restarted.stop()


def test_the_station_reconciles_after_every_cause(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    voters = [station.next_voter() for _ in range(2)]
    to_ballot(station, kiosk, voters[0])
    kiosk.post("cancel")
    station.reader.remove()
    kiosk.wait_for("idle")
    votes_once_after(station, kiosk, voters[0])
    vote(station, kiosk, voters[1])
    wait_until(lambda: len(board_codes(station)) == 2)
    wait_until(lambda: not running.booth.journal.pending_releases())
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    kiosk.post("officials/close")
    state = station.app.extensions["evote"]
    from ballot_server.record import station_export

    report = station_export(state, "S-101")["reports"]["closing"]["payload"]
    assert report["authorizations_issued"] == 3 and report["ballots_cast"] == 2
    assert report["authorizations_voided"] == 1 and report["authorizations_released"] == 1
    assert report["authorizations_unused"] == 0 and report["reconciled"] is True
