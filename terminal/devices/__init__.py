"""Booth devices behind small interfaces, with pyserial drivers for any ``serial_for_url`` path.

``CardReader``/``SerialCardReader``, ``Scanner``/``SerialScanner``, ``Printer``/``SerialPrinter``;
errors in ``terminal.devices.errors``; receipts composed in ``terminal.devices.receipt``.
"""

from terminal.devices.card_reader import CardReader, SerialCardReader
from terminal.devices.holder import CardHolder
from terminal.devices.printer import Printer, PrinterStatus, SerialPrinter
from terminal.devices.receipt import QrBlock, ReceiptDocument, Rule, TextLine, render_receipt
from terminal.devices.scanner import Scanner, SerialScanner

__all__ = [
    "CardHolder",
    "CardReader",
    "Printer",
    "PrinterStatus",
    "QrBlock",
    "ReceiptDocument",
    "Rule",
    "Scanner",
    "SerialCardReader",
    "SerialPrinter",
    "SerialScanner",
    "TextLine",
    "render_receipt",
]
