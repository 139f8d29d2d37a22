"""The check-in desk: voter's card + PIN at the desk, a printed QR pass, the pass at a booth.

Real parts throughout: the desk and the booth are separate terminals with their
own simulated readers and printers on ptys, the pass travels only as the QR on
the desk's printed image (read back with zbar, as the booth's scanner would).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from station_harness import DESK_ID, STATION_ID, StationHarness, printed_qr_codes
from test_outage import wait_until

from ballot_server.record import station_export
from crypto.canonical import parse_json
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from terminal.desk_runner import RunningDesk, heartbeat
from terminal.kiosk_client import KioskClient, KioskRefused
from terminal.runner import RunningTerminal


def pass_from_desk(
    station: StationHarness, desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator]
) -> bytes:
    """A fresh voter checks in at the desk; the QR pass it printed, as the scanner reads it."""
    running_desk, desk_reader, desk_printer = desk
    at_desk = KioskClient(running_desk.url)
    voter = station.next_voter()
    issued_before = at_desk.state()["passes_issued"]
    desk_reader.insert(station.card(voter))
    view = at_desk.wait_for("pin")
    assert view["holder_name"]["en"] == voter.name_en
    at_desk.enter_pin(voter.pin)
    view = at_desk.wait_for("issued", "refused")
    assert view["state"] == "issued", view["notice"]
    assert view["notice"]["code"] == "pass_printed" and view["pass"]["pass_id"]
    desk_reader.remove()
    assert at_desk.wait_for("idle")["passes_issued"] == issued_before + 1
    (payload,) = printed_qr_codes(desk_printer.receipts[-1])
    assert parse_json(payload)["payload"]["pass_id"] == view["pass"]["pass_id"]
    return payload


def test_a_pass_from_the_desk_lets_the_voter_vote_at_a_booth_once(
    station: StationHarness,
    kiosk: KioskClient,
    running: RunningTerminal,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    payload = pass_from_desk(station, desk)
    station.scanner.scan(payload.decode("utf-8"))
    tracking = kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
    assert len(tracking) == 64
    kiosk.post("dismiss")
    kiosk.wait_for("idle")

    station.scanner.scan(payload.decode("utf-8") + " ")  # the same pass again (not a repeat read)
    refused = kiosk.wait_for("refused")
    assert refused["notice"]["code"] == "pass_used"

    row = station.hq_station_when(lambda row: row["ballots_cast"] == 1)
    assert row["passes"] == {"issued": 1, "redeemed": 1}
    assert row["refusals"] == {"pass_used": 1}
    (seen,) = [t for t in row["terminals"] if t["role"] == "desk"]
    assert seen["terminal_id"] == DESK_ID and seen["last_seen"] is not None
    assert seen["waiting"] == 0


def test_a_pass_whose_booth_session_was_cancelled_is_scanned_again_and_votes_once(
    station: StationHarness,
    kiosk: KioskClient,
    running: RunningTerminal,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    """A failure that is not the voter's (here Cancel, confirmed) ends the pass's booth
    session: the booth voids the authorization and releases the pass, which the voter
    scans again and votes with, once."""
    payload = pass_from_desk(station, desk).decode("utf-8")
    station.scanner.scan(payload)
    kiosk.wait_for("ballot")
    assert kiosk.post("cancel")["notice"]["code"] == "cancelled"
    kiosk.post("dismiss")
    kiosk.wait_for("idle")
    wait_until(lambda: not running.booth.journal.pending_releases())
    station.scanner.scan(payload + " ")
    kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
    kiosk.post("dismiss")
    kiosk.wait_for("idle")
    station.scanner.scan(payload + "  ")
    assert kiosk.wait_for("refused")["notice"]["code"] == "pass_used"
    kiosk.post("dismiss")
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    kiosk.post("officials/close")
    state = station.app.extensions["evote"]
    report = station_export(state, STATION_ID)["reports"]["closing"]["payload"]
    assert report["authorizations_issued"] == 2 and report["ballots_cast"] == 1
    assert report["authorizations_voided"] == 1 and report["authorizations_released"] == 1
    assert report["authorizations_unused"] == 0 and report["reconciled"] is True


def test_the_desk_keeps_telling_hq_it_is_there(
    station: StationHarness,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    """The running desk's heartbeat is every 10 s; here one beats every 0.2 s."""
    running_desk, _, _ = desk
    first = _desk_seen(station.hq_station_when(lambda row: _desk_seen(row) is not None))
    stop = threading.Event()
    beating = threading.Thread(
        target=heartbeat, args=(running_desk.desk.client, running_desk.journal, stop, 0.2)
    )
    beating.start()
    try:
        station.hq_station_when(lambda row: (_desk_seen(row) or 0) > (first or 0))
    finally:
        stop.set()
        beating.join()


def _desk_seen(row: dict[str, Any]) -> int | None:
    desks = [t for t in row["terminals"] if t["role"] == "desk"]
    return desks[0]["last_seen"] if desks else None


def test_the_desk_refuses_a_voter_who_already_voted_and_prints_nothing(
    station: StationHarness,
    kiosk: KioskClient,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    running_desk, desk_reader, desk_printer = desk
    voter = station.next_voter()
    station.sign_in(kiosk, voter)
    kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
    station.reader.remove()
    at_desk = KioskClient(running_desk.url)
    desk_reader.insert(station.card(voter))
    at_desk.wait_for("pin")
    at_desk.enter_pin(voter.pin)
    view = at_desk.wait_for("issued", "refused")
    assert view["state"] == "refused" and view["notice"]["code"] == "already_voted"
    assert desk_printer.receipts == []
    assert station.hq_station()["refusals"] == {"already_voted": 1}
    desk_reader.remove()
    assert at_desk.wait_for("idle")["passes_issued"] == 0


def test_the_desk_refuses_while_the_polls_are_not_open(
    station: StationHarness,
    running: RunningTerminal,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    running_desk, desk_reader, desk_printer = desk
    at_desk = KioskClient(running_desk.url)
    voter = station.next_voter()
    desk_reader.insert(station.card(voter))
    at_desk.wait_for("pin")
    at_desk.enter_pin(voter.pin)
    view = at_desk.wait_for("issued", "refused")
    assert view["state"] == "refused"
    assert view["notice"]["code"] == "polls_not_open"
    assert desk_printer.receipts == []


def test_a_wrong_pin_at_the_desk_shows_the_tries_left_and_an_official_card_is_refused(
    station: StationHarness,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    running_desk, desk_reader, _ = desk
    at_desk = KioskClient(running_desk.url)
    voter = station.next_voter()
    desk_reader.insert(station.card(voter))
    at_desk.wait_for("pin")
    wrong = "0000" if voter.pin != "0000" else "1111"
    assert at_desk.enter_pin(wrong)["tries_left"] == 2
    with pytest.raises(KioskRefused) as refused:
        at_desk.enter_pin("12")
    assert refused.value.code == "invalid_pin"
    desk_reader.remove()
    at_desk.wait_for("idle")
    desk_reader.insert(station.card(station.official))
    view = at_desk.wait_for("refused")
    assert view["notice"]["code"] == "not_a_voter_card"
