"""A client nobody here wrote: python-escpos's Serial printer prints to the simulator's pty."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from escpos.printer import Serial
from PIL import Image, ImageDraw
from pyzbar.pyzbar import decode

from firmware_sim.printer import PrinterSimulator


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[PrinterSimulator]:
    with PrinterSimulator(tmp_path) as printer:
        yield printer


def _wait_for_receipt(simulator: PrinterSimulator, client: Serial) -> None:
    client.device.flush()
    # DLE EOT is answered in order, so an answer means everything before it was handled.
    client.device.write(b"\x10\x04\x01")
    assert client.device.read(1) == b"\x12"


def test_python_escpos_text_image_and_native_qr_render_to_png(
    simulator: PrinterSimulator,
) -> None:
    client = Serial(devfile=simulator.path, baudrate=115200, timeout=2, dsrdtr=False)
    client.open()
    try:
        client.set(align="center", bold=True)
        client.text("EVOTE RECEIPT\n")
        logo = Image.new("1", (64, 32), 1)
        ImageDraw.Draw(logo).rectangle((4, 4, 59, 27), fill=0)
        client.image(logo)
        client.qr("K7Q2-9XHD-M4TR-0PLA", native=True, size=6)
        client.cut()
        _wait_for_receipt(simulator, client)
    finally:
        client.close()
    receipt = simulator.receipts[-1]
    assert "EVOTE RECEIPT" in receipt.text_lines
    assert receipt.qr_payloads == [b"K7Q2-9XHD-M4TR-0PLA"]
    assert receipt.png_path is not None
    decoded = decode(Image.open(receipt.png_path))
    assert [symbol.data for symbol in decoded] == [b"K7Q2-9XHD-M4TR-0PLA"]
    black_rows = [y for y in range(receipt.image.height) if receipt.image.crop(
        (0, y, receipt.image.width, y + 1)).getextrema()[0] == 0]  # fmt: skip
    assert black_rows, "the receipt image is blank"
