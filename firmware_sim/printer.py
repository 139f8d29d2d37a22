"""A 58 mm thermal receipt printer: ESC/POS in, a PNG per receipt out.

It keeps every receipt it printed (text, QR payloads, the rendered image) and
writes each to ``receipt-NNNN.png`` when given a directory. Real-time status
(DLE EOT) is answered even while printing is stopped; out of paper, print
commands are held, not dropped, and printed when paper is loaded again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from firmware_sim.escpos import Command, EscPosParser
from firmware_sim.pty_device import PtyDevice

PAPER_WIDTH_DOTS = 384
STATUS_FIXED_BITS = 0x12
_QR_ERROR_LEVELS = {
    0x30: qrcode.constants.ERROR_CORRECT_L,
    0x31: qrcode.constants.ERROR_CORRECT_M,
    0x32: qrcode.constants.ERROR_CORRECT_Q,
    0x33: qrcode.constants.ERROR_CORRECT_H,
}


@dataclass
class PrintedReceipt:
    """One receipt, from init/cut to cut."""

    image: Image.Image
    text_lines: list[str]
    qr_payloads: list[bytes]
    png_path: Path | None = None


@dataclass
class _Page:
    rows: list[Image.Image] = field(default_factory=list)
    text_lines: list[str] = field(default_factory=list)
    qr_payloads: list[bytes] = field(default_factory=list)


class PrinterSimulator(PtyDevice):
    """The printer; ``paper_out_after(n)``, ``load_paper()``, ``open_cover()`` drive faults."""

    def __init__(
        self, output_dir: Path | None = None, *, width_dots: int = PAPER_WIDTH_DOTS
    ) -> None:
        super().__init__()
        self.output_dir = output_dir
        self.width_dots = width_dots
        self.receipts: list[PrintedReceipt] = []
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self._printable_left: int | None = None
        self._held: list[Command] = []
        self._parser = EscPosParser()
        self._page = _Page()
        self._line = bytearray()
        self._align = 0
        self._bold = False
        self._qr_module = 3
        self._qr_error = qrcode.constants.ERROR_CORRECT_M
        self._qr_data = b""
        self._font = ImageFont.load_default(size=20)

    def paper_out_after(self, printed_items: int) -> None:
        """Run out of paper after this many more printed rows (text lines, images, QR codes)."""
        with self.lock:
            self._printable_left = printed_items

    def run_out_of_paper(self) -> None:
        """The roll is empty now: nothing prints until ``load_paper()``."""
        with self.lock:
            self.paper_out = True

    def load_paper(self) -> None:
        """New roll: clear paper-out and print whatever was held."""
        with self.lock:
            self.paper_out = self.paper_near_end = False
            self._printable_left = None
            held, self._held = self._held, []
            for command in held:
                self._execute(command)

    def open_cover(self, is_open: bool = True) -> None:
        with self.lock:
            self.cover_open = is_open
            if not is_open and not self.paper_out:
                held, self._held = self._held, []
                for command in held:
                    self._execute(command)

    def status_byte(self, request: int) -> int:
        """The DLE EOT answer for ``request`` (1 printer, 2 offline cause, 3 error, 4 paper)."""
        stopped = self.paper_out or self.cover_open
        if request == 1:
            return STATUS_FIXED_BITS | (0x08 if stopped else 0)
        if request == 2:
            return (
                STATUS_FIXED_BITS
                | (0x04 if self.cover_open else 0)
                | (0x20 if self.paper_out else 0)
            )
        if request == 4:
            near_end = 0x0C if self.paper_near_end or self.paper_out else 0
            return STATUS_FIXED_BITS | near_end | (0x60 if self.paper_out else 0)
        return STATUS_FIXED_BITS

    def on_bytes(self, data: bytes) -> None:
        for command in self._parser.feed(data):
            if command.name == "status":
                self.write(bytes([self.status_byte(command.argument)]))
            elif command.name == "recover":
                continue
            elif self.paper_out or self.cover_open or self._held:
                self._held.append(command)
            else:
                self._execute(command)

    def _consume_paper(self, command: Command) -> bool:
        """False when paper ran out before this command could print; it is then held."""
        if self._printable_left is None:
            return True
        if self._printable_left <= 0:
            self.paper_out = True
            self._held.append(command)
            return False
        self._printable_left -= 1
        return True

    def _execute(self, command: Command) -> None:
        name = command.name
        if self._held or self.paper_out:
            self._held.append(command)
            return
        if name == "text":
            self._line.extend(command.data)
        elif name in ("lf", "feed"):
            if self._consume_paper(command):
                self._flush_line(max(1, command.argument) if name == "feed" else 1)
        elif name == "init":
            self._align, self._bold = 0, False
        elif name == "align":
            self._align = command.argument % 0x30 if command.argument >= 0x30 else command.argument
        elif name == "bold":
            self._bold = bool(command.argument & 1)
        elif name == "raster" and self._consume_paper(command):
            self._add_raster(command)
        elif name == "qr-module":
            self._qr_module = min(max(command.argument, 1), 16)
        elif name == "qr-error":
            self._qr_error = _QR_ERROR_LEVELS.get(command.argument, self._qr_error)
        elif name == "qr-store":
            self._qr_data = command.data
        elif name == "qr-print" and self._qr_data and self._consume_paper(command):
            self._add_qr()
        elif name == "cut":
            self._cut()

    def _add_row(self, image: Image.Image) -> None:
        row = Image.new("1", (self.width_dots, image.height), 1)
        if self._align == 1:
            x = (self.width_dots - image.width) // 2
        elif self._align == 2:
            x = self.width_dots - image.width
        else:
            x = 0
        row.paste(image.convert("1"), (max(0, x), 0))
        self._page.rows.append(row)

    def _flush_line(self, lines: int) -> None:
        text = self._line.decode("cp437")
        self._line.clear()
        if text:
            self._page.text_lines.append(text)
            image = Image.new("1", (self.width_dots, 28), 1)
            ImageDraw.Draw(image).text(
                (0, 2), text, font=self._font, fill=0, stroke_width=1 if self._bold else 0
            )
            bbox = image.getbbox()
            self._add_row(image.crop((0, 0, max(1, bbox[2]) if bbox else 1, 28)))
            lines -= 1
        for _ in range(lines):
            self._page.rows.append(Image.new("1", (self.width_dots, 28), 1))

    def _add_raster(self, command: Command) -> None:
        width = command.width_bytes * 8
        image = Image.frombytes("1", (width, command.height), command.data)
        # ESC/POS raster: 1 bits are black; PIL mode "1": 1 is white.
        image = Image.eval(image.convert("L"), lambda value: 255 - value)
        if command.argument & 1:
            image = image.resize((width * 2, image.height))
        if command.argument & 2:
            image = image.resize((image.width, image.height * 2))
        self._add_row(image.crop((0, 0, min(image.width, self.width_dots), image.height)))

    def _add_qr(self) -> None:
        code = qrcode.QRCode(error_correction=self._qr_error, box_size=self._qr_module, border=4)
        code.add_data(self._qr_data)
        code.make(fit=True)
        self._page.qr_payloads.append(self._qr_data)
        self._add_row(code.make_image().get_image())

    def _cut(self) -> None:
        if self._line:
            self._flush_line(1)
        page, self._page = self._page, _Page()
        height = sum(row.height for row in page.rows) or 1
        image = Image.new("1", (self.width_dots, height + 16), 1)
        y = 8
        for row in page.rows:
            image.paste(row, (0, y))
            y += row.height
        receipt = PrintedReceipt(image, page.text_lines, page.qr_payloads)
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            receipt.png_path = self.output_dir / f"receipt-{len(self.receipts) + 1:04d}.png"
            image.save(receipt.png_path)
        self.receipts.append(receipt)
