"""A booth whose link is cut keeps voting: an official switches it to offline mode,
voters check in against the roll snapshot and cast provisional ballots, and when the
link returns the terminal leaves offline mode, delivers them, and the registry counts them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from station_harness import STATION_ID, StationHarness
from test_link_faults import closing_report

from ballot_server.reconciliation import reconcile
from ballot_server.setup import register_terminal
from ballot_server.snapshot import station_snapshot
from crypto.signing import SigningKey
from evote.resolution import read_resolution
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from tally.verify_station_balance import COUNTS as STATION_BALANCE
from terminal import printing
from terminal.desk_runner import start_desk
from terminal.devices.receipt import TextLine
from terminal.i18n import text
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

CHOICES = {"majlis": ["1102"], "experts": ["2205"]}


def wait_until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.fixture
def offline_terminal(station: StationHarness, tmp_path: Path) -> Iterator[RunningTerminal]:
    data, _ = station_snapshot(station.app.extensions["evote"], STATION_ID)
    snapshot = tmp_path / "S-101.snapshot"
    snapshot.write_bytes(data)
    terminal = station.start_terminal(
        tmp_path / "terminal", roll_snapshot_path=snapshot, offline_after_s=1
    )
    terminal.booth.uplink.idle_interval_s = 0.2  # type: ignore[union-attr]
    yield terminal
    terminal.stop()


def officials_post(station: StationHarness, kiosk: KioskClient, path: str) -> dict[str, object]:
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    view = kiosk.post(path)
    station.reader.remove()
    kiosk.wait_for("idle")
    return view


def vote(station: StationHarness, kiosk: KioskClient) -> dict[str, object]:
    voter = station.next_voter()
    station.sign_in(kiosk, voter)
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    view = kiosk.post("cast")
    station.reader.remove()
    kiosk.wait_for("idle")
    return view


def test_a_booth_cut_off_votes_provisionally_and_its_ballots_count_after_the_link_returns(
    station: StationHarness, offline_terminal: RunningTerminal
) -> None:
    booth = offline_terminal.booth
    kiosk = KioskClient(offline_terminal.url)
    station.open_polls(kiosk)
    online = vote(station, kiosk)
    assert online["printed"]["provisional"] is False  # type: ignore[index]
    refused = officials_post(station, kiosk, "offline/enter")
    assert refused["notice"]["code"] == "link_not_down_long_enough"  # type: ignore[index]
    assert not booth.offline_mode

    station.stop_server()
    wait_until(lambda: booth.uplink is not None and not booth.uplink.online)
    wait_until(lambda: time.time() - (booth.uplink.down_since or time.time()) > 1)  # type: ignore[union-attr]
    entered = officials_post(station, kiosk, "offline/enter")
    assert entered["notice"]["code"] == "offline_entered"  # type: ignore[index]
    assert kiosk.state()["offline_mode"] is True
    cast = [vote(station, kiosk) for _ in range(3)]
    assert all(view["printed"]["provisional"] for view in cast)  # type: ignore[index]
    assert booth.journal.counts().waiting == 3

    again = station.eligible_voters()[station._next_voter - 1]
    station.sign_in(kiosk, again)
    assert kiosk.wait_for("refused")["notice"]["code"] == "already_voted"
    station.reader.remove()
    kiosk.wait_for("idle")

    station.start_server()
    wait_until(lambda: booth.journal.counts().waiting == 0 and not booth.offline_mode)
    state = station.app.extensions["evote"]
    decisions = read_resolution(
        reconcile(state), station.keys.registry_public, state.inquiry_manifest().election_id
    )
    assert [decision.counted for decision in decisions] == [True, True, True]


def test_a_receipt_printed_offline_says_provisional_in_both_languages(
    station: StationHarness,
) -> None:
    place = station.manifest.station(STATION_ID)

    def lines(provisional: bool) -> list[str]:
        document = printing.cast_receipt(
            place, "T-101-1", 1, "ab" * 32, "http://track/ab", provisional=provisional
        )
        return [item.text for item in document.items if isinstance(item, TextLine)]

    marks = {text("provisional_receipt", "fa"), text("provisional_receipt", "en")}
    assert marks <= set(lines(True))
    assert not marks & set(lines(False))


@contextmanager
def register_holder(
    station: StationHarness, tmp_path: Path, holder: str, snapshot: Path, desk_key: SigningKey
) -> Iterator[tuple[str, RunningTerminal | None]]:
    """The station register's URL and, when a booth holds it, that (first) booth."""
    options: dict[str, object] = {
        "roll_snapshot_path": snapshot,
        "station_register_listen": "127.0.0.1:0",
    }
    if holder == "booth":
        first = station.start_terminal(tmp_path / "first", offline_after_s=1, **options)
        assert first.register_server is not None
        yield f"http://127.0.0.1:{first.register_server.server_port}", first
        first.stop()
        return
    with ReaderSimulator() as reader, PrinterSimulator(tmp_path / "passes") as printer:
        config = station.terminal_config(
            tmp_path / "desk",
            reader_url=reader.path,
            printer_url=printer.path,
            scanner_url=None,
            terminal_id="T-101-DESK",
            signing_key=desk_key,
            **options,
        )
        desk = start_desk(config)
        assert desk.register_server is not None
        yield f"http://127.0.0.1:{desk.register_server.server_port}", None
        desk.stop()


@pytest.mark.parametrize("holder", ["booth", "desk"])
def test_two_booths_of_a_station_cut_off_share_one_register_so_a_voter_casts_once(
    station: StationHarness, tmp_path: Path, holder: str
) -> None:
    state = station.app.extensions["evote"]
    second_key, desk_key = SigningKey.generate(), SigningKey.generate()
    register_terminal(state, "T-101-2", STATION_ID, second_key.public_key)
    register_terminal(state, "T-101-DESK", STATION_ID, desk_key.public_key)
    data, _ = station_snapshot(state, STATION_ID)
    snapshot = tmp_path / "S-101.snapshot"
    snapshot.write_bytes(data)
    with (
        register_holder(station, tmp_path, holder, snapshot, desk_key) as (register_url, held),
        ReaderSimulator() as reader,
        PrinterSimulator(tmp_path / "printed-2") as printer,
    ):
        first = held or station.start_terminal(
            tmp_path / "first",
            roll_snapshot_path=snapshot,
            offline_after_s=1,
            station_register_url=register_url,
        )
        second = station.start_terminal(
            tmp_path / "second",
            reader_url=reader.path,
            printer_url=printer.path,
            scanner_url=None,
            terminal_id="T-101-2",
            signing_key=second_key,
            roll_snapshot_path=snapshot,
            offline_after_s=1,
            station_register_url=register_url,
        )
        try:
            kiosks = (KioskClient(first.url), KioskClient(second.url))
            station.open_polls(kiosks[0])
            wait_until(lambda: kiosks[1].state()["polls_state"] == "open")
            station.stop_server()
            booths = (first.booth, second.booth)
            for booth in booths:
                booth.uplink.idle_interval_s = 0.2  # type: ignore[union-attr]
            wait_until(lambda: all(b.uplink is not None and not b.uplink.online for b in booths))
            time.sleep(1.1)
            officials_post(station, kiosks[0], "offline/enter")
            reader.insert(station.card(station.official))
            kiosks[1].wait_for("pin")
            kiosks[1].enter_pin(station.official.pin)
            kiosks[1].wait_for("officials")
            assert kiosks[1].post("offline/enter")["notice"]["code"] == "offline_entered"  # type: ignore[index]
            reader.remove()
            kiosks[1].wait_for("idle")

            voter = station.eligible_voters()[station._next_voter]
            assert vote(station, kiosks[0])["printed"]["provisional"]  # type: ignore[index]
            reader.insert(station.card(voter))  # the same voter walks to the second booth
            kiosks[1].wait_for("pin")
            kiosks[1].enter_pin(voter.pin)
            assert kiosks[1].wait_for("refused")["notice"]["code"] == "already_voted"
            reader.remove()
            kiosks[1].wait_for("idle")
            other = station.next_voter()
            reader.insert(station.card(other))
            kiosks[1].wait_for("pin")
            kiosks[1].enter_pin(other.pin)
            kiosks[1].wait_for("ballot")
            kiosks[1].review(CHOICES)
            kiosks[1].post("confirm")
            kiosks[1].wait_for("tracking")
            assert kiosks[1].post("cast")["printed"]["provisional"]  # type: ignore[index]
            reader.remove()
            station.sign_in(kiosks[0], other)  # and back at the first booth: refused too
            assert kiosks[0].wait_for("refused")["notice"]["code"] == "already_voted"
            station.reader.remove()

            station.start_server()
            wait_until(
                lambda: all(b.journal.counts().waiting == 0 and not b.offline_mode for b in booths)
            )
            decisions = read_resolution(
                reconcile(state), station.keys.registry_public, state.inquiry_manifest().election_id
            )
            assert [decision.counted for decision in decisions] == [True, True]
            wait_until(lambda: all(b.journal_declaration().offline_check_ins == 1 for b in booths))
            time.sleep(0.5)  # both have declared on their idle status request by now
            closed = officials_post(station, kiosks[0], "officials/close")
            assert closed["notice"]["code"] == "polls_closed_done", closed["notice"]  # type: ignore[index]
            report = closing_report(station)
            balance = {name: report[name] for name in STATION_BALANCE}
            assert balance == {
                "authorizations_issued": 0,
                "offline_check_ins": 2,
                "ballots_cast": 2,
                "provisional_cast": 2,
                "authorizations_released": 0,
                "authorizations_unused": 0,
                "provisional_unused": 0,
            }
            assert report["reconciled"] is True
        finally:
            second.stop()
            if held is None:
                first.stop()
