"""The ESC/POS driver and receipt composer against the simulated printer over a real pty."""

from __future__ import annotations

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from evote.digits import persian_digits
from firmware_sim.printer import PrinterSimulator
from terminal.devices.errors import CoverOpen, PaperOut, PrinterOffline
from terminal.devices.printer import SerialPrinter
from terminal.devices.receipt import (
    QrBlock,
    ReceiptDocument,
    Rule,
    TextLine,
    render_receipt,
)

TRACKING_CODE = "K7Q2-9XHD-M4TR-0PLA"


def _receipt(job_id: str = "receipt-1") -> ReceiptDocument:
    return ReceiptDocument(
        job_id,
        (
            TextLine("رسید رأی", align="center", bold=True, size=30),
            TextLine("شعبه " + persian_digits("0042")),
            Rule(),
            TextLine("کد رهگیری / Tracking code", align="center"),
            TextLine(TRACKING_CODE, align="center", bold=True),
            QrBlock(TRACKING_CODE),
        ),
    )


def test_printed_receipt_png_holds_a_qr_that_decodes_to_the_tracking_code(
    printer: SerialPrinter, printer_sim: PrinterSimulator
) -> None:
    printer.print_receipt(_receipt())
    assert printer.jobs == []
    receipt = printer_sim.receipts[-1]
    assert receipt.png_path is not None and receipt.png_path.exists()
    decoded = decode(Image.open(receipt.png_path))
    assert [symbol.data.decode() for symbol in decoded] == [TRACKING_CODE]


def test_paper_out_mid_receipt_raises_and_keeps_the_job_until_resumed(
    printer: SerialPrinter, printer_sim: PrinterSimulator
) -> None:
    printer_sim.paper_out_after(1)
    with pytest.raises(PaperOut) as paper_out:
        printer.print_receipt(_receipt())
    assert paper_out.value.code == "paper_out"
    assert [job.document.job_id for job in printer.jobs] == ["receipt-1"]
    assert printer_sim.receipts == []
    status = printer.status()
    assert status.paper_out and not status.online
    printer_sim.load_paper()
    printer.resume()
    assert printer.jobs == []
    decoded = decode(Image.open(printer_sim.receipts[-1].png_path))
    assert decoded[0].data.decode() == TRACKING_CODE


def test_paper_out_before_printing_queues_the_job_unsent(
    printer: SerialPrinter, printer_sim: PrinterSimulator
) -> None:
    printer.print_receipt(_receipt("first"))
    printer_sim.run_out_of_paper()
    with pytest.raises(PaperOut):
        printer.print_receipt(_receipt("second"))
    assert [job.state for job in printer.jobs] == ["queued"]
    printer_sim.load_paper()
    printer.resume()
    assert printer.jobs == [] and len(printer_sim.receipts) == 2


def test_cover_open_is_reported(printer: SerialPrinter, printer_sim: PrinterSimulator) -> None:
    printer_sim.open_cover()
    with pytest.raises(CoverOpen):
        printer.print_receipt(_receipt())
    printer_sim.open_cover(False)
    printer.resume()
    assert len(printer_sim.receipts) == 1


def test_a_silent_printer_is_offline(printer: SerialPrinter, printer_sim: PrinterSimulator) -> None:
    printer_sim.faults.mute = True
    with pytest.raises(PrinterOffline) as offline:
        printer.status()
    assert offline.value.code == "printer_offline"


def test_persian_lines_are_shaped_and_right_aligned() -> None:
    image = render_receipt(ReceiptDocument("x", (TextLine("سلام"),)))
    left, _, right, _ = Image.eval(image.convert("L"), lambda value: 255 - value).getbbox()
    assert right > image.width - 20 and left > image.width // 2
    isolated = render_receipt(ReceiptDocument("y", (TextLine("س ل ا م"),)))
    assert image.tobytes() != isolated.tobytes()
