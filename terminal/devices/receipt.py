"""Receipts and poll tapes as raster images: Persian shaped right-to-left, QR codes, rules.

Thermal printer firmware cannot join Persian letters, so every line is laid out
here with Pillow + libraqm (shaping and bidi) in Noto Sans Arabic, and the whole
receipt goes to the printer as one bitmap. Lines without Arabic script use
Noto Sans. The fonts ship in ``evote/fonts`` (OFL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import qrcode
from PIL import Image, ImageDraw, ImageOps

from evote.typeface import persian_font

RECEIPT_WIDTH_DOTS = 384
MARGIN_DOTS = 8
Align = Literal["left", "center", "right"]


def has_arabic_script(text: str) -> bool:
    return any("\u0600" <= char <= "\u06ff" or "\ufb50" <= char <= "\ufeff" for char in text)


@dataclass(frozen=True)
class TextLine:
    """One line of text; Persian lines default to right alignment by the composer."""

    text: str
    align: Align | None = None
    bold: bool = False
    size: int = 24


@dataclass(frozen=True)
class QrBlock:
    """A QR code, e.g. the tracking-code lookup address."""

    payload: str
    module_dots: int = 5


@dataclass(frozen=True)
class Rule:
    """A horizontal line between sections."""

    thickness_dots: int = 2


ReceiptItem = TextLine | QrBlock | Rule


@dataclass(frozen=True)
class ReceiptDocument:
    """What to print: items top to bottom, and a job id that names it in the queue."""

    job_id: str
    items: tuple[ReceiptItem, ...] = field(default_factory=tuple)


def _render_text(line: TextLine, width: int) -> Image.Image:
    arabic = has_arabic_script(line.text)
    font = persian_font(line.size, line.bold)
    direction, language = ("rtl", "fa") if arabic else (None, None)
    left, top, right, _ = font.getbbox(line.text, direction=direction, language=language)
    height = int(line.size * 1.6)
    image = Image.new("L", (width, height), 255)
    align = line.align or ("right" if arabic else "left")
    text_width = right - left
    usable = width - 2 * MARGIN_DOTS
    if align == "center":
        x = MARGIN_DOTS + (usable - text_width) // 2
    elif align == "right":
        x = width - MARGIN_DOTS - text_width
    else:
        x = MARGIN_DOTS
    y = (height - line.size) // 2 - top // 2
    ImageDraw.Draw(image).text(
        (x - left, y), line.text, font=font, fill=0, direction=direction, language=language
    )
    return image


def _render_qr(block: QrBlock, width: int) -> Image.Image:
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=block.module_dots, border=4
    )
    code.add_data(block.payload)
    code.make(fit=True)
    qr_image = code.make_image().get_image().convert("L")
    if qr_image.width > width:
        raise ValueError(f"QR code of {qr_image.width} dots does not fit {width} dots")
    image = Image.new("L", (width, qr_image.height), 255)
    image.paste(qr_image, ((width - qr_image.width) // 2, 0))
    return image


def render_receipt(document: ReceiptDocument, width_dots: int = RECEIPT_WIDTH_DOTS) -> Image.Image:
    """Lay the document out as a 1-bit image ``width_dots`` wide (black = 0)."""
    parts: list[Image.Image] = []
    for item in document.items:
        if isinstance(item, TextLine):
            parts.append(_render_text(item, width_dots))
        elif isinstance(item, QrBlock):
            parts.append(_render_qr(item, width_dots))
        else:
            rule = Image.new("L", (width_dots, item.thickness_dots + 12), 255)
            ImageDraw.Draw(rule).rectangle(
                (MARGIN_DOTS, 6, width_dots - MARGIN_DOTS, 5 + item.thickness_dots), fill=0
            )
            parts.append(rule)
    height = sum(part.height for part in parts) or 1
    page = Image.new("L", (width_dots, height), 255)
    y = 0
    for part in parts:
        page.paste(part, (0, y))
        y += part.height
    return page.point(lambda value: 0 if value < 160 else 255).convert("1")


def raster_commands(image: Image.Image, band_height: int = 256) -> bytes:
    """ESC/POS ``GS v 0`` raster bands for a 1-bit image (ESC/POS: 1 bits are black)."""
    if image.width % 8:
        raise ValueError("raster width must be a multiple of 8 dots")
    inverted = ImageOps.invert(image.convert("L")).convert("1")
    width_bytes = image.width // 8
    out = bytearray()
    for top in range(0, image.height, band_height):
        band = inverted.crop((0, top, image.width, min(image.height, top + band_height)))
        out += b"\x1dv0\x00" + width_bytes.to_bytes(2, "little") + band.height.to_bytes(2, "little")
        out += band.tobytes()
    return bytes(out)
