"""Device benchmark: a card session over the simulated 115200-baud line, and one receipt.

``card_session_ms``: power on, read the holder file, VERIFY PIN, INTERNAL
AUTHENTICATE over 32 bytes (median of several sessions; the reader simulator
paces its output at 115200 baud). ``receipt_ms``: compose a Persian receipt
with a QR code, rasterise, send it, confirm status, until the simulator has
rendered it to PNG (median). Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from sizes import marked, size

from crypto.signing import SigningKey
from evote.digits import persian_digits
from firmware_sim.cards import RollRow, issue_cards
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.printer import SerialPrinter
from terminal.devices.receipt import QrBlock, ReceiptDocument, Rule, TextLine

ROUNDS = size(5, 1)
VOTER = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")


def card_session_ms(card_file: Path) -> float:
    timings = []
    with ReaderSimulator() as simulator, SerialCardReader(simulator.path) as reader:
        simulator.insert(card_file)
        reader.wait_for_event(2.0)
        for _ in range(ROUNDS):
            started = time.perf_counter()
            reader.power_on()
            holder = reader.read_holder()
            reader.verify_pin("1234")
            challenge = os.urandom(32)
            holder.card_public_key.verify_bytes(challenge, reader.authenticate(challenge))
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def receipt_ms(output_dir: Path) -> float:
    timings = []
    with PrinterSimulator(output_dir) as simulator:
        printer = SerialPrinter(simulator.path)
        try:
            for index in range(ROUNDS):
                tracking_code = f"K7Q2-9XHD-M4TR-{index:04d}"
                document = ReceiptDocument(
                    f"bench-{index}",
                    (
                        TextLine("رسید رأی", align="center", bold=True, size=30),
                        TextLine("شعبه " + persian_digits("0042")),
                        Rule(),
                        TextLine(tracking_code, align="center", bold=True),
                        QrBlock(tracking_code),
                    ),
                )
                started = time.perf_counter()
                printer.print_receipt(document)
                while len(simulator.receipts) <= index:
                    time.sleep(0.001)
                timings.append((time.perf_counter() - started) * 1000)
        finally:
            printer.close()
    return statistics.median(timings)


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (card_file,) = issue_cards(SigningKey.generate(), [VOTER], root / "cards")
        result: dict[str, object] = {
            "bench": "devices",
            "card_session_ms": round(card_session_ms(card_file), 1),
            "receipt_ms": round(receipt_ms(root / "receipts"), 1),
        }
    print(json.dumps(marked(result)))
    return result


if __name__ == "__main__":
    main()
