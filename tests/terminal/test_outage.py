"""Nothing journaled is lost: a network cut and a kill -9 still deliver every ballot once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from station_harness import STATION_ID, TERMINAL_ID, StationHarness

from evote.client import BallotServerClient
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

CHOICES = {"majlis": ["1102"], "experts": ["2205"]}
REPOSITORY = Path(__file__).resolve().parents[2]


def board_codes(station: StationHarness) -> list[tuple[int, str]]:
    """(sequence, tracking code) of every entry in the station's shard, in order."""
    page = f"/api/v1/board?station={STATION_ID}&start=0&limit=1000"
    with urllib.request.urlopen(f"{station.server_url}{page}") as reply:
        entries = json.loads(reply.read())["entries"]
    bodies = [entry["payload"]["payload"]["body"] for entry in entries]
    return [(body["sequence"], body["tracking_code"]) for body in bodies]


def wait_until(condition: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def to_tracking(station: StationHarness, kiosk: KioskClient) -> str:
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    return str(kiosk.wait_for("tracking")["tracking"]["code"])


def test_a_ballot_cast_during_a_network_cut_is_printed_then_delivered(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    code = to_tracking(station, kiosk)
    station.stop_server()
    printed = len(station.printer.receipts)
    view = kiosk.post("cast")
    assert view["state"] == "receipt" and view["printed"]["tracking_code"] == code
    assert len(station.printer.receipts) == printed + 1
    assert running.booth.journal.counts().waiting == 1
    station.reader.remove()
    station.sign_in(kiosk, station.official)
    officials = kiosk.wait_for("officials")["officials"]
    assert officials["waiting"] == 1
    kiosk.post("dismiss")
    station.reader.remove()
    station.start_server()
    wait_until(lambda: running.booth.journal.counts().waiting == 0)
    assert board_codes(station) == [(1, code)]


def _spawn(
    station: StationHarness, data_dir: Path, key_file: Path
) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-c",
        "from terminal.cli import terminal; terminal()",
        "run",
        f"--reader={station.reader.path}",
        f"--printer={station.printer.path}",
        f"--server={station.server_url}",
        f"--data-dir={data_dir}",
        f"--terminal-id={TERMINAL_ID}",
        f"--terminal-key={key_file}",
        "--port=0",
    ]
    process = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def test_kill_9_between_journal_and_delivery_delivers_exactly_once(
    station: StationHarness, tmp_path: Path
) -> None:
    key_file = tmp_path / "terminal.key"
    key_file.write_text(station.terminal_key.seed.hex())
    data_dir = tmp_path / "terminal"
    process, url = _spawn(station, data_dir, key_file)
    try:
        kiosk = KioskClient(url)
        station.open_polls(kiosk)
        code = to_tracking(station, kiosk)
        station.stop_server()
        assert kiosk.post("cast")["state"] == "receipt"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    station.reader.remove()
    station.start_server()
    process, url = _spawn(station, data_dir, key_file)
    try:
        client = BallotServerClient(station.server_url, TERMINAL_ID, station.terminal_key)
        wait_until(lambda: client.lookup(code)["found"])
        kiosk = KioskClient(url)
        kiosk.wait_for("idle")
        second = to_tracking(station, kiosk)
        assert kiosk.post("cast")["state"] == "receipt"
        wait_until(lambda: client.lookup(second)["found"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert board_codes(station) == [(1, code), (2, second)]
