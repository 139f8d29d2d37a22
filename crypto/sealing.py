"""Sealing a secret to the holder of an Ed25519 key (libsodium sealed boxes).

Why Ed25519 keys: the parties a secret is sealed to already hold one (a
terminal its request key, the registry its certificate key), so no second key
needs distributing and anchoring. Each is converted to X25519 the way libsodium
defines (``crypto_sign_ed25519_pk_to_curve25519``); the sealed box uses a fresh
ephemeral key per message, so a sealed secret names no sender and only the
recipient's private key opens it. The ephemeral randomness comes from
libsodium itself (the one exception to "randomness as an argument" in
``crypto/``: a sealed box does not take it), so sealed bytes are never
reproducible and no test vector fixes them.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.public
import nacl.signing

from crypto.errors import CryptoError
from crypto.signing import SigningKey, VerifyKey

SEAL_OVERHEAD_BYTES = 48


class SealError(CryptoError):
    """Sealed bytes that do not open with this key (wrong recipient or altered)."""

    code = "sealed_box_invalid"


def seal(recipient: VerifyKey, plaintext: bytes) -> bytes:
    """``plaintext`` readable only by the holder of ``recipient``'s private key."""
    public = nacl.signing.VerifyKey(recipient.key).to_curve25519_public_key()
    return bytes(nacl.public.SealedBox(public).encrypt(plaintext))


def unseal(recipient: SigningKey, sealed: bytes) -> bytes:
    """Open what ``seal`` made for this key, or SealError."""
    private = nacl.signing.SigningKey(recipient.seed).to_curve25519_private_key()
    try:
        return bytes(nacl.public.SealedBox(private).decrypt(sealed))
    except (nacl.exceptions.CryptoError, ValueError, TypeError) as error:
        raise SealError("sealed bytes do not open with this key") from error
