"""Fixtures for terminal tests: a real station (server, devices on ptys) and a running terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kiosk_browser import launched_chromium  # noqa: E402
from station_harness import DESK_ID, STATION_ID, StationHarness  # noqa: E402

from ballot_server.setup import register_terminal  # noqa: E402
from crypto.signing import SigningKey  # noqa: E402
from firmware_sim.printer import PrinterSimulator  # noqa: E402
from firmware_sim.reader import ReaderSimulator  # noqa: E402
from terminal.desk_runner import RunningDesk, start_desk  # noqa: E402
from terminal.kiosk_client import KioskClient  # noqa: E402
from terminal.runner import RunningTerminal  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "terminal"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[StationHarness]:
    harness = StationHarness(tmp_path)
    yield harness
    harness.close()


@pytest.fixture
def running(station: StationHarness, tmp_path: Path) -> Iterator[RunningTerminal]:
    terminal = station.start_terminal(tmp_path / "terminal")
    yield terminal
    terminal.stop()


@pytest.fixture
def kiosk(station: StationHarness, running: RunningTerminal) -> KioskClient:
    """A kiosk on a terminal whose polls an official has opened."""
    client = KioskClient(running.url)
    station.open_polls(client)
    return client


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (``kiosk_browser.chromium_page``)."""
    yield from launched_chromium()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def desk(
    station: StationHarness, tmp_path: Path
) -> Iterator[tuple[RunningDesk, ReaderSimulator, PrinterSimulator]]:
    """The station's check-in desk: its own key, simulated reader and printer, running."""
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
