"""The ``Printer`` interface and its ESC/POS serial driver.

Status is read with DLE EOT before and after every receipt. A job leaves the
queue only when the printer reports it healthy after printing it; on paper-out
or an open cover the job stays queued (or held by the printer) and ``resume()``
finishes it once the fault is cleared. Nothing accepted is ever lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Protocol

import serial

from terminal.devices.errors import CoverOpen, PaperOut, PrinterOffline
from terminal.devices.receipt import ReceiptDocument, raster_commands, render_receipt

INIT = b"\x1b@"
FEED_AND_CUT = b"\x1bd\x04\x1dV\x01"
STATUS_TIMEOUT_S = 1.0
JobState = Literal["queued", "held"]


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    cover_open: bool
    paper_near_end: bool
    paper_out: bool

    def raise_if_stopped(self) -> None:
        if self.paper_out:
            raise PaperOut("the printer is out of paper")
        if self.cover_open:
            raise CoverOpen("the printer cover is open")
        if not self.online:
            raise PrinterOffline("the printer is offline")


@dataclass
class PrintJob:
    document: ReceiptDocument
    state: JobState = "queued"


class Printer(Protocol):
    """What the terminal needs from a receipt printer."""

    def status(self) -> PrinterStatus: ...
    def print_receipt(self, document: ReceiptDocument) -> None: ...
    def resume(self) -> None: ...
    def close(self) -> None: ...


class SerialPrinter:
    """``Printer`` over any pyserial URL."""

    def __init__(self, url: str, *, width_dots: int = 384) -> None:
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=STATUS_TIMEOUT_S)
        self.port.reset_input_buffer()
        self.width_dots = width_dots
        self.jobs: list[PrintJob] = []

    def close(self) -> None:
        self.port.close()

    def _status_byte(self, request: int) -> int:
        self.port.reset_input_buffer()
        self.port.write(bytes([0x10, 0x04, request]))
        deadline = time.monotonic() + STATUS_TIMEOUT_S
        while time.monotonic() < deadline:
            answer = self.port.read(1)
            # A status byte always has bit 4 set and bits 0 and 7 clear.
            if answer and answer[0] & 0x93 == 0x12:
                return answer[0]
        raise PrinterOffline("the printer did not answer a status request")

    def status(self) -> PrinterStatus:
        printer = self._status_byte(1)
        cause = self._status_byte(2)
        paper = self._status_byte(4)
        return PrinterStatus(
            online=not printer & 0x08,
            cover_open=bool(cause & 0x04),
            paper_near_end=bool(paper & 0x0C),
            paper_out=bool(paper & 0x60) or bool(cause & 0x20),
        )

    def encode(self, document: ReceiptDocument) -> bytes:
        image = render_receipt(document, self.width_dots)
        return INIT + raster_commands(image) + FEED_AND_CUT

    def print_receipt(self, document: ReceiptDocument) -> None:
        """Queue and print; raises PaperOut/CoverOpen/PrinterOffline with the job kept."""
        job = PrintJob(document)
        self.jobs.append(job)
        self._run(job)

    def _run(self, job: PrintJob) -> None:
        self.status().raise_if_stopped()
        if job.state == "queued":
            self.port.write(self.encode(job.document))
            self.port.flush()
            job.state = "held"
        after = self.status()
        after.raise_if_stopped()
        self.jobs.remove(job)

    def resume(self) -> None:
        """Finish queued and held jobs in order once the fault is cleared."""
        for job in list(self.jobs):
            self._run(job)
