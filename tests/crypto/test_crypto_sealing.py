"""Sealed boxes to Ed25519 key holders: only the recipient opens them."""

from __future__ import annotations

import pytest

from crypto.sealing import SEAL_OVERHEAD_BYTES, SealError, seal, unseal
from crypto.signing import SigningKey


def test_only_the_recipient_opens_a_sealed_secret() -> None:
    recipient, stranger = SigningKey.generate(), SigningKey.generate()
    sealed = seal(recipient.public_key, b"tag key of the station")
    assert len(sealed) == len(b"tag key of the station") + SEAL_OVERHEAD_BYTES
    assert unseal(recipient, sealed) == b"tag key of the station"
    with pytest.raises(SealError):
        unseal(stranger, sealed)


def test_sealing_twice_gives_unrelated_bytes_and_any_altered_byte_is_refused() -> None:
    recipient = SigningKey.generate()
    first, second = seal(recipient.public_key, b"x" * 32), seal(recipient.public_key, b"x" * 32)
    assert first != second
    for index in (0, 31, 32, len(first) - 1):
        altered = bytearray(first)
        altered[index] ^= 1
        with pytest.raises(SealError):
            unseal(recipient, bytes(altered))
    with pytest.raises(SealError):
        unseal(recipient, first[:-1])
