"""A station offline survives what goes wrong: a terminal killed with SIGKILL restarts
offline from its journal and register (nothing lost, nobody votes twice), and a sync cut
off halfway resumes and posts every provisional ballot exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import request
from station_harness import STATION_ID, TERMINAL_ID, StationHarness
from test_offline_booth import officials_post, vote, wait_until
from test_outage import board_codes

from ballot_server.reconciliation import reconcile
from ballot_server.snapshot import station_snapshot
from evote import protocol
from evote.link import CuttableLink
from evote.resolution import read_resolution
from evote.sample import Person
from terminal.kiosk_client import KioskClient

EVOTE = Path(sys.executable).parent / "evote"


def snapshot_file(station: StationHarness, tmp_path: Path) -> Path:
    data, _ = station_snapshot(station.app.extensions["evote"], STATION_ID)
    path = tmp_path / "S-101.snapshot"
    path.write_bytes(data)
    return path


def counted(station: StationHarness) -> list[bool]:
    state = station.app.extensions["evote"]
    decisions = read_resolution(
        reconcile(state), station.keys.registry_public, state.inquiry_manifest().election_id
    )
    return [decision.counted for decision in decisions]


def enter_offline(station: StationHarness, kiosk: KioskClient) -> None:
    """An official asks until the terminal has seen the link down long enough."""
    deadline = time.monotonic() + 30
    while True:
        view = officials_post(station, kiosk, "offline/enter")
        if view["notice"]["code"] == "offline_entered":  # type: ignore[index]
            return
        assert view["notice"]["code"] == "link_not_down_long_enough", view["notice"]  # type: ignore[index]
        assert time.monotonic() < deadline, "the terminal never saw its link down"
        time.sleep(0.5)


def refused(station: StationHarness, kiosk: KioskClient, voter: Person) -> str:
    station.sign_in(kiosk, voter)
    code = str(kiosk.wait_for("refused")["notice"]["code"])
    station.reader.remove()
    kiosk.wait_for("idle")
    return code


class TerminalProcess:
    """``evote terminal run`` as its own process, on the station's devices."""

    def __init__(self, station: StationHarness, tmp_path: Path, snapshot: Path) -> None:
        key_file = tmp_path / "terminal.key"
        key_file.write_text(station.terminal_key.seed.hex() + "\n")
        self.command = [
            str(EVOTE),
            "terminal",
            "run",
            f"--reader={station.reader.path}",
            f"--printer={station.printer.path}",
            f"--server={station.server_url}",
            f"--data-dir={tmp_path / 'terminal'}",
            f"--terminal-id={TERMINAL_ID}",
            f"--terminal-key={key_file}",
            "--port=0",
            "--server-timeout=2",
            "--max-retry-interval=1",
            f"--roll-snapshot={snapshot}",
            "--offline-after=1",
        ]
        self.log = (tmp_path / "terminal.log").open("a")
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> KioskClient:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        return KioskClient(url)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture
def terminal_process(station: StationHarness, tmp_path: Path) -> Iterator[TerminalProcess]:
    process = TerminalProcess(station, tmp_path, snapshot_file(station, tmp_path))
    yield process
    process.close()


def test_a_terminal_killed_while_offline_restarts_offline_losing_nothing_and_admitting_no_one_twice(
    station: StationHarness, terminal_process: TerminalProcess
) -> None:
    kiosk = terminal_process.start()
    station.open_polls(kiosk)
    station.stop_server()
    enter_offline(station, kiosk)
    first = station.eligible_voters()[station._next_voter]
    assert vote(station, kiosk)["printed"]["provisional"]  # type: ignore[index]
    second = station.next_voter()
    station.sign_in(kiosk, second)
    kiosk.wait_for("ballot")  # checked in offline, choosing, when the power goes
    terminal_process.kill()
    station.reader.remove()

    kiosk = terminal_process.start()
    assert kiosk.wait_for("idle")["offline_mode"] is True
    assert refused(station, kiosk, first) == "already_voted"
    assert refused(station, kiosk, second) == "already_voted"  # docs/offline.md, limits
    assert vote(station, kiosk)["printed"]["provisional"]  # type: ignore[index]

    station.start_server()
    wait_until(lambda: len(board_codes(station)) == 2, timeout_s=60)
    time.sleep(1.0)  # nothing more arrives: the killed session cast nothing
    assert [sequence for sequence, _ in board_codes(station)] == [1, 2]
    assert counted(station) == [True, True]


def test_a_sync_cut_halfway_resumes_and_posts_every_provisional_ballot_exactly_once(
    station: StationHarness, tmp_path: Path
) -> None:
    link = CuttableLink("127.0.0.1", station.port)
    casts: list[str] = []

    @station.app.before_request
    def cut_the_link_during_the_third_delivery() -> None:
        if request.path == protocol.PATH_CAST:
            casts.append(request.path)
            if len(casts) == 3:  # the server still posts it; its answer never arrives
                request.get_data()  # the whole body first: the link may still be carrying it
                link.cut()

    terminal = station.start_terminal(
        tmp_path / "terminal",
        server_url=link.url,
        server_timeout_s=2.0,
        roll_snapshot_path=snapshot_file(station, tmp_path),
        offline_after_s=1,
        uplink_idle_interval_s=0.2,
    )
    try:
        booth = terminal.booth
        kiosk = KioskClient(terminal.url)
        station.open_polls(kiosk)
        link.cut()
        enter_offline(station, kiosk)
        for _ in range(4):
            vote(station, kiosk)
        assert booth.journal.counts().waiting == 4
        casts.clear()
        link.heal()
        wait_until(lambda: len(casts) >= 3 and not link.is_up)
        time.sleep(1.0)
        assert len(board_codes(station)) == 3  # the sync stopped halfway
        assert booth.journal.counts().waiting == 2  # the third in doubt, the fourth unsent
        link.heal()
        wait_until(lambda: booth.journal.counts().waiting == 0, timeout_s=30)
        posted = board_codes(station)
        assert [sequence for sequence, _ in posted] == [1, 2, 3, 4]
        assert len({code for _, code in posted}) == 4
        assert counted(station) == [True] * 4
    finally:
        terminal.stop()
        link.close()
