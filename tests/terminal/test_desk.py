"""The check-in desk: voter's card + PIN at the desk, a printed QR pass, the pass at a booth.

Real parts throughout: the desk and the booth are separate terminals with their
own simulated readers and printers on ptys, the pass travels only as the QR on
the desk's printed image (read back with zbar, as the booth's scanner would).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from station_harness import STATION_ID, StationHarness, printed_qr_codes

from ballot_server.setup import register_terminal
from crypto.canonical import parse_json
from crypto.signing import SigningKey
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from terminal.desk_runner import RunningDesk, start_desk
from terminal.kiosk_client import KioskClient, KioskRefused
from terminal.runner import RunningTerminal

DESK_ID = "T-101-DESK"


@pytest.fixture
def desk(
    station: StationHarness, tmp_path: Path
) -> Iterator[tuple[RunningDesk, ReaderSimulator, PrinterSimulator]]:
    key = SigningKey.generate()
    register_terminal(station.app.extensions["evote"], DESK_ID, STATION_ID, key.public_key)
    reader = ReaderSimulator()
    printer = PrinterSimulator(tmp_path / "passes")
    reader.start()
    printer.start()
    config = station.terminal_config(
        tmp_path / "desk",
        reader_url=reader.path,
        printer_url=printer.path,
        scanner_url=None,
        terminal_id=DESK_ID,
        signing_key=key,
    )
    running = start_desk(config)
    yield running, reader, printer
    running.stop()
    reader.stop()
    printer.stop()


def test_a_pass_from_the_desk_lets_the_voter_vote_at_a_booth_once(
    station: StationHarness,
    kiosk: KioskClient,
    running: RunningTerminal,
    desk: tuple[RunningDesk, ReaderSimulator, PrinterSimulator],
) -> None:
    running_desk, desk_reader, desk_printer = desk
    at_desk = KioskClient(running_desk.url)
    voter = station.next_voter()
    desk_reader.insert(station.card(voter))
    view = at_desk.wait_for("pin")
    assert view["holder_name"]["en"] == voter.name_en
    at_desk.enter_pin(voter.pin)
    view = at_desk.wait_for("issued", "refused")
    assert view["state"] == "issued", view["notice"]
    assert view["notice"]["code"] == "pass_printed" and view["pass"]["pass_id"]
    desk_reader.remove()
    assert at_desk.wait_for("idle")["passes_issued"] == 1

    (payload,) = printed_qr_codes(desk_printer.receipts[-1])
    assert parse_json(payload)["payload"]["pass_id"] == view["pass"]["pass_id"]
    station.scanner.scan(payload.decode("utf-8"))
    tracking = kiosk.vote({"majlis": ["1101"], "experts": ["2201"]})
    assert len(tracking) == 64
    kiosk.post("dismiss")
    kiosk.wait_for("idle")

    station.scanner.scan(payload.decode("utf-8") + " ")  # the same pass again (not a repeat read)
    refused = kiosk.wait_for("refused")
    assert refused["notice"]["code"] == "pass_used"


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
