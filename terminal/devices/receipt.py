"""Receipts and poll tapes as raster images: Persian shaped right-to-left, QR codes, rules.

Thermal printer firmware cannot join Persian letters, so every line is laid out
here with Pillow + libraqm (shaping and bidi) in Noto Sans Arabic, and the whole
receipt goes to the printer as one bitmap. Lines without Arabic script use
Noto Sans. The fonts ship in ``evote/fonts`` (OFL).
"""

from __future__ import annotations

import math
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


QR_ERROR_CORRECTION = {
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


@dataclass(frozen=True)
class QrBlock:
    """A QR code, e.g. the tracking-code lookup address.

    Thermal paper smudges: short payloads with more dots a module and higher error
    correction (H restores 30% of the symbol) are what still scan after blur.
    """

    payload: str
    module_dots: int = 5
    error_correction: Literal["M", "Q", "H"] = "M"


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


def _direction(text: str) -> tuple[str | None, str | None]:
    """(direction, language) for raqm: Persian is laid out right to left."""
    return ("rtl", "fa") if has_arabic_script(text) else (None, None)


def wrap_text(line: TextLine, width: int) -> list[str]:
    """The line's words in as many lines as the paper needs, none wider than ``width``.

    A single word wider than the paper stays whole on its own line (the composer
    then refuses it), so nothing is ever cut silently.
    """
    font = persian_font(line.size, line.bold)
    direction, language = _direction(line.text)
    usable = width - 2 * MARGIN_DOTS
    lines: list[str] = []
    for word in line.text.split(" "):
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(candidate, direction=direction, language=language) <= usable:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def _render_text_line(line: TextLine, text: str, width: int) -> Image.Image:
    """One printed line in a band that holds all of its ink.

    The band is sized from the ink's own box (Persian dots and hamza go well above
    and below the Latin x-height) with a gap of a quarter of the size around it, so
    no glyph is clipped at a line boundary, whatever the script.
    """
    font = persian_font(line.size, line.bold)
    direction, language = _direction(text)
    box = font.getbbox(text, direction=direction, language=language)
    left, top = math.floor(box[0]), math.floor(box[1])
    right, bottom = math.ceil(box[2]), math.ceil(box[3])
    if right - left > width - 2 * MARGIN_DOTS:
        raise ValueError(f"a word of {right - left} dots does not fit {width} dots: {text!r}")
    ink_height = bottom - top
    gap = max(2, line.size // 4)
    height = max(int(line.size * 1.6), ink_height + 2 * gap)
    image = Image.new("L", (width, height), 255)
    align = line.align or ("right" if direction == "rtl" else "left")
    text_width = right - left
    usable = width - 2 * MARGIN_DOTS
    if align == "center":
        x = MARGIN_DOTS + (usable - text_width) // 2
    elif align == "right":
        x = width - MARGIN_DOTS - text_width
    else:
        x = MARGIN_DOTS
    y = (height - ink_height) // 2
    ImageDraw.Draw(image).text(
        (x - left, y - top), text, font=font, fill=0, direction=direction, language=language
    )
    return image


def _render_text(line: TextLine, width: int) -> list[Image.Image]:
    return [_render_text_line(line, text, width) for text in wrap_text(line, width)]


def _render_qr(block: QrBlock, width: int) -> Image.Image:
    """The QR at ``module_dots`` a module, or at the most dots that fit the paper."""
    code = qrcode.QRCode(
        error_correction=QR_ERROR_CORRECTION[block.error_correction], box_size=1, border=4
    )
    code.add_data(block.payload)
    code.make(fit=True)
    modules = code.modules_count + 2 * code.border
    code.box_size = min(block.module_dots, width // modules)
    if code.box_size < 2:
        raise ValueError(f"a QR of {modules} modules does not fit {width} dots")
    qr_image = code.make_image().get_image().convert("L")
    image = Image.new("L", (width, qr_image.height), 255)
    image.paste(qr_image, ((width - qr_image.width) // 2, 0))
    return image


def render_receipt(document: ReceiptDocument, width_dots: int = RECEIPT_WIDTH_DOTS) -> Image.Image:
    """Lay the document out as a 1-bit image ``width_dots`` wide (black = 0)."""
    parts: list[Image.Image] = []
    for item in document.items:
        if isinstance(item, TextLine):
            parts += _render_text(item, width_dots)
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
