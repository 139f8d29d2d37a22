"""Fixtures for terminal tests: a real station (server, devices on ptys) and a running terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from station_harness import StationHarness  # noqa: E402

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


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
