"""Strict fixed-length hex decoding, shared by every decoder in the core."""

from __future__ import annotations

import re

from crypto.errors import DecodingError

_LOWER_HEX = re.compile(r"[0-9a-f]*")

MALFORMED_HEX = "malformed_hex"
"""Error code of every hex string of the wrong type, length or alphabet.

Uppercase is refused rather than folded so that one value has exactly one
encoding: hashes and signatures over records stay reproducible.
"""


def bytes_from_hex(text: object, length: int, what: str) -> bytes:
    """Decode lowercase hex of exactly ``length`` bytes, or raise DecodingError."""
    if not isinstance(text, str):
        raise DecodingError(
            f"{what}: expected a hex string, got {type(text).__name__}", code=MALFORMED_HEX
        )
    if len(text) != 2 * length:
        raise DecodingError(
            f"{what}: expected {2 * length} hex digits, got {len(text)}", code=MALFORMED_HEX
        )
    if not _LOWER_HEX.fullmatch(text):
        raise DecodingError(f"{what}: not lowercase hex", code=MALFORMED_HEX)
    return bytes.fromhex(text)
