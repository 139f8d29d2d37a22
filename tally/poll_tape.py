"""Poll-tape images: each station's results as a receipt-printer-width PNG.

Branch officials post the tape at the station; it must read like the paper
forms, in Persian. Printer firmware cannot join Persian letters, so the tape
is an image shaped by libraqm (bidi + Arabic shaping) with the project's font.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageDraw

from evote.digits import persian_digits
from evote.manifest import Manifest
from evote.typeface import persian_font
from tally.provisional import BANNER

TAPE_WIDTH_PX: Final = 576
"""80 mm paper at 203 dpi."""
_MARGIN: Final = 16


def _lines(
    manifest: Manifest, election_name: str, unit: Mapping[str, Any]
) -> list[tuple[str, bool]]:
    """(text, bold) lines of one station's tape."""
    station = manifest.station(unit["unit_id"])
    lines = [(election_name, True), (station.name.fa, True), ("نتیجه شمارش آرا", False)]
    for row in unit["contests"]:
        contest = manifest.contest(row["contest_id"])
        lines.append((contest.name.fa, True))
        for label, value in (
            ("آرای مأخوذه", row["ballots_cast"]),
            ("آرای سفید", row["blank"]),
            ("آرای صحیح", row["valid"]),
        ):
            lines.append((f"{label}: {persian_digits(value)}", False))
        for candidate in contest.candidates:
            votes = row["votes"][candidate.selection_id]
            lines.append(
                (
                    f"{persian_digits(candidate.code)} {candidate.name.fa}: "
                    f"{persian_digits(votes)}",
                    False,
                )
            )
    return lines


def poll_tape_image(
    manifest: Manifest, unit: Mapping[str, Any], *, provisional: bool = False
) -> Image.Image:
    """One station's tape as a 1-bit-friendly grayscale image (a pure function of its results).

    The verifier draws it again from the verified results and compares pixels,
    so a tape swapped for another station's, or edited, fails.
    """
    fonts = {False: [persian_font(size) for size in (24, 20, 16)]}
    fonts[True] = [persian_font(size, bold=True) for size in (26, 22, 18)]
    lines = _lines(manifest, manifest.name.fa, unit)
    if provisional:
        lines.insert(0, (BANNER["fa"], True))
    line_height = 40
    image = Image.new("L", (TAPE_WIDTH_PX, 2 * _MARGIN + line_height * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for row, (text, is_bold) in enumerate(lines):
        font = fonts[is_bold][-1]
        for candidate in fonts[is_bold]:
            width = candidate.getlength(text, direction="rtl", language="fa")
            if width <= TAPE_WIDTH_PX - 2 * _MARGIN:
                font = candidate
                break
        draw.text(
            (TAPE_WIDTH_PX - _MARGIN, _MARGIN + row * line_height),
            text,
            fill=0,
            font=font,
            anchor="ra",
            direction="rtl",
            language="fa",
        )
    return image


def render_poll_tape(
    manifest: Manifest, unit: Mapping[str, Any], path: Path, *, provisional: bool = False
) -> None:
    """Write one station's tape as a PNG (headed by the provisional banner when it is one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = poll_tape_image(manifest, unit, provisional=provisional)
    image.save(path, format="PNG", optimize=True)
