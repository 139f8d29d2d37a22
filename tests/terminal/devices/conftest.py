"""Fixtures: cards issued from a small roll, and each simulator on a real pty with its driver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto.signing import SigningKey
from firmware_sim.cards import RollRow, issue_cards
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from firmware_sim.scanner import ScannerSimulator
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.printer import SerialPrinter
from terminal.devices.scanner import SerialScanner

VOTER = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")
OFFICIAL = RollRow(
    "1234567891", "مریم احمدی", "Maryam Ahmadi", "1360-01-30", "official", "ST-0001", "87654321"
)


@pytest.fixture
def registry() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def card_files(registry: SigningKey, tmp_path: Path) -> dict[str, Path]:
    voter, official = issue_cards(registry, [VOTER, OFFICIAL], tmp_path / "cards")
    return {"voter": voter, "official": official}


@pytest.fixture
def reader_sim() -> Iterator[ReaderSimulator]:
    simulator = ReaderSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def reader(reader_sim: ReaderSimulator) -> Iterator[SerialCardReader]:
    driver = SerialCardReader(reader_sim.path, timeout_s=0.5)
    yield driver
    driver.close()


@pytest.fixture
def scanner_sim() -> Iterator[ScannerSimulator]:
    simulator = ScannerSimulator()
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def scanner(scanner_sim: ScannerSimulator) -> Iterator[SerialScanner]:
    driver = SerialScanner(scanner_sim.path)
    yield driver
    driver.close()


@pytest.fixture
def printer_sim(tmp_path: Path) -> Iterator[PrinterSimulator]:
    simulator = PrinterSimulator(tmp_path / "receipts")
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def printer(printer_sim: PrinterSimulator) -> Iterator[SerialPrinter]:
    driver = SerialPrinter(printer_sim.path)
    yield driver
    driver.close()
