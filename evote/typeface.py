"""The one typeface evote prints and renders with (receipts, poll tapes, kiosk).

Noto Sans Arabic merged with Noto Sans, shipped in evote/fonts (OFL): Pillow
has no per-glyph fallback, so a Persian line holding a station code, a slash
or parentheses needs a single font that has both scripts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Final

from PIL import ImageFont, features

FONT_DIRECTORY: Final = Path(__file__).resolve().parent / "fonts"


class ShapingUnavailable(RuntimeError):
    """Pillow was built without libraqm, so Persian cannot be shaped."""

    code = "no_raqm"


def font_file(bold: bool = False) -> Path:
    return FONT_DIRECTORY / f"NotoSansArabicLatin-{'Bold' if bold else 'Regular'}.ttf"


@lru_cache(maxsize=32)
def persian_font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The font at ``size`` with raqm layout; refuses rather than print unshaped Persian."""
    if not features.check("raqm"):
        raise ShapingUnavailable("Pillow has no libraqm (needs libfribidi0): cannot shape Persian")
    return ImageFont.truetype(str(font_file(bold)), size, layout_engine=ImageFont.Layout.RAQM)
