"""Strict fixed-length hex decoding, shared by every decoder in the core."""

from __future__ import annotations

import re

from crypto.errors import DecodingError

_LOWER_HEX = re.compile(r"[0-9a-f]*")


def bytes_from_hex(text: object, length: int, what: str) -> bytes:
    """Decode lowercase hex of exactly ``length`` bytes, or raise DecodingError."""
    if not isinstance(text, str):
        raise DecodingError(f"{what}: expected a hex string, got {type(text).__name__}")
    if len(text) != 2 * length:
        raise DecodingError(f"{what}: expected {2 * length} hex digits, got {len(text)}")
    if not _LOWER_HEX.fullmatch(text):
        raise DecodingError(f"{what}: not lowercase hex")
    return bytes.fromhex(text)
