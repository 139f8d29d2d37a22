"""Domain-separated hashing to scalars (the Fiat–Shamir challenges).

Each input is length-prefixed so that no two different input lists hash the
same way; each proof type passes its own domain tag.
"""

from __future__ import annotations

import hashlib

from crypto.group import ORDER, Point, scalar_to_bytes

HashInput = bytes | str | int | Point


def _encode(part: HashInput) -> bytes:
    if isinstance(part, Point):
        return b"P" + part.to_bytes()
    if isinstance(part, bool):
        raise TypeError("booleans are not hash inputs")
    if isinstance(part, int):
        return b"S" + scalar_to_bytes(part)
    if isinstance(part, str):
        data = part.encode("utf-8")
        return b"T" + len(data).to_bytes(4, "big") + data
    return b"B" + len(part).to_bytes(4, "big") + part


def hash_bytes(domain: str, *parts: HashInput, digest_size: int = 32) -> bytes:
    """BLAKE2b over a domain tag and length-prefixed parts."""
    hasher = hashlib.blake2b(digest_size=digest_size, person=b"evote-v1")
    tag = domain.encode("ascii")
    hasher.update(len(tag).to_bytes(2, "big") + tag)
    for part in parts:
        hasher.update(_encode(part))
    return hasher.digest()


def hash_to_scalar(domain: str, *parts: HashInput) -> int:
    """A challenge: BLAKE2b-512 of the inputs reduced mod ℓ (bias below 2^-250)."""
    return int.from_bytes(hash_bytes(domain, *parts, digest_size=64), "little") % ORDER
