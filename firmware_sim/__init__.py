"""Simulated serial devices on ptys: CCID card reader + national ID cards, QR scanner, printer.

Each simulator speaks the bytes of the real device (docs/protocols.md) on the master
side of a pty; drivers, pcscd or python-escpos open the slave path it returns.
"""

from firmware_sim.card import SimulatedCard
from firmware_sim.cards import RollRow, issue_card, issue_cards
from firmware_sim.printer import PrintedReceipt, PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from firmware_sim.scanner import ScannerSimulator

__all__ = [
    "PrintedReceipt",
    "PrinterSimulator",
    "ReaderSimulator",
    "RollRow",
    "ScannerSimulator",
    "SimulatedCard",
    "issue_card",
    "issue_cards",
]
