"""A check-in's release key, sealed so that only the voter's card can open it again.

A booth that dies for good (hardware failure, theft) takes its journal with it,
and with it the release key that alone can void the authorization it held and
release its voter's check-in (docs/server.md, "No voter locked out"). So at
check-in the booth also seals the release key and its own terminal id under a
key only the voter's card can produce: the card's Ed25519 signature over a fixed
message of this election (Ed25519 signatures are deterministic, RFC 8032 §5.1.6),
hashed. The registry stores the sealed box beside the check-in, where it reveals
nothing: opening it needs the card and its PIN.

When that voter, refused ``already_voted``, inserts the card at another booth of
the station, the refusal carries the box; the booth has the card sign the same
message, opens the box, and — once HQ has revoked the dead terminal — voids the
authorization for it and releases the check-in (``terminal/recovery.py``).

The message is longer than any server challenge (``protocol.CHALLENGE_BYTES``),
so no challenge a terminal relays to the card is ever this message.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.secret

from crypto.hashing import hash_bytes
from evote import protocol

_LABEL = b"evote release escrow v1\x00"
_TERMINAL_ID_BYTES = protocol.RELEASE_ESCROW_BYTES - 24 - 16 - protocol.RELEASE_KEY_BYTES


class EscrowError(Exception):
    """The sealed box does not open with this card, or holds no release."""

    code = "release_escrow_invalid"


def card_message(election_id: str) -> bytes:
    """What the card signs to produce the escrow key (56 bytes, no challenge's length)."""
    return _LABEL + hash_bytes("evote/release-escrow-message/v1", election_id)


def _box(card_signature: bytes) -> nacl.secret.SecretBox:
    return nacl.secret.SecretBox(hash_bytes("evote/release-escrow-key/v1", card_signature))


def seal(card_signature: bytes, release_key: bytes, terminal_id: str) -> str:
    """The release key and the sealing terminal, sealed under the card's signature of
    ``card_message`` (hex; every box has the same length, whatever the terminal id)."""
    name = terminal_id.encode("utf-8")
    if len(release_key) != protocol.RELEASE_KEY_BYTES or len(name) > _TERMINAL_ID_BYTES:
        raise ValueError("a release key and a terminal id of at most 64 bytes")
    plaintext = release_key + name.ljust(_TERMINAL_ID_BYTES, b"\x00")
    return bytes(_box(card_signature).encrypt(plaintext)).hex()


def open_box(card_signature: bytes, escrow: str) -> tuple[bytes, str]:
    """``(release_key, terminal_id)`` from a box ``seal`` made with this card."""
    try:
        plaintext = _box(card_signature).decrypt(bytes.fromhex(escrow))
        terminal_id = plaintext[protocol.RELEASE_KEY_BYTES :].rstrip(b"\x00").decode("utf-8")
    except (ValueError, nacl.exceptions.CryptoError) as error:
        raise EscrowError("the sealed release does not open with this card") from error
    if not terminal_id:
        raise EscrowError("the sealed release names no terminal")
    return plaintext[: protocol.RELEASE_KEY_BYTES], terminal_id
