"""Card challenges the inquiry recognises without having stored them.

A challenge must be unpredictable (a recorded card answer cannot be replayed),
bound to the terminal it was issued to, short-lived, and good for one answer.
Storing each challenge when issued cost a database write per check-in; instead
the challenge id carries its expiry and 16 random bytes, tagged with a MAC
under a key only the inquiry holds, and the 32 challenge bytes the card signs
are a second MAC of that id. Every process holding the key (each gunicorn
worker, each inquiry server) recognises an id it issued and recomputes the
challenge; an id it did not issue, one issued to another terminal, and one past
its expiry are refused alike. Single use is the one stored fact: a challenge's
id goes into ``spent_challenges`` in the transaction of the check-in that
answers it (``inquiry.py``).

The key is derived from the inquiry's signing seed with its own label, so it
travels with ``inquiry.key`` and nothing new needs distributing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from crypto.errors import DecodingError
from crypto.hexcodec import bytes_from_hex
from evote.protocol import CHALLENGE_BYTES

_EXPIRY = struct.Struct(">Q")
_RANDOM_BYTES = 16
_TAG_BYTES = 16
CHALLENGE_ID_BYTES = _EXPIRY.size + _RANDOM_BYTES + _TAG_BYTES
_KEY_LABEL = b"evote/inquiry-challenge-key/v1"


@dataclass(frozen=True)
class Challenge:
    """What the terminal receives and the card signs."""

    challenge_id: str
    challenge: bytes
    expires_at: int


class ChallengeKey:
    """Issues challenges and recognises its own; holds the MAC key (never in a repr)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a challenge key is 32 bytes")
        self._key = key

    @classmethod
    def from_seed(cls, seed: bytes) -> ChallengeKey:
        return cls(hmac.digest(seed, _KEY_LABEL, hashlib.sha256))

    def __repr__(self) -> str:
        return "ChallengeKey(<secret>)"

    def _mac(self, label: bytes, terminal_id: str, data: bytes) -> bytes:
        terminal = terminal_id.encode("utf-8")
        message = label + struct.pack(">H", len(terminal)) + terminal + data
        return hmac.digest(self._key, message, hashlib.sha256)

    def issue(self, terminal_id: str, expires_at: int) -> Challenge:
        """A fresh challenge for ``terminal_id``'s card, valid until ``expires_at``."""
        body = _EXPIRY.pack(expires_at) + os.urandom(_RANDOM_BYTES)
        identifier = body + self._mac(b"id", terminal_id, body)[:_TAG_BYTES]
        return Challenge(identifier.hex(), self._challenge(terminal_id, identifier), expires_at)

    def recognise(self, terminal_id: str, challenge_id: str, now: int) -> Challenge | None:
        """The challenge behind ``challenge_id`` if this key issued it to ``terminal_id``
        and it has not expired; else None. Spent or not is the database's to say (ids
        are strict lower-case hex, so one challenge has exactly one id to spend)."""
        try:
            identifier = bytes_from_hex(challenge_id, CHALLENGE_ID_BYTES, "challenge_id")
        except DecodingError:
            return None
        body, tag = identifier[:-_TAG_BYTES], identifier[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._mac(b"id", terminal_id, body)[:_TAG_BYTES]):
            return None
        (expires_at,) = _EXPIRY.unpack_from(body)
        if expires_at < now:
            return None
        return Challenge(challenge_id, self._challenge(terminal_id, identifier), expires_at)

    def _challenge(self, terminal_id: str, identifier: bytes) -> bytes:
        return self._mac(b"challenge", terminal_id, identifier)[:CHALLENGE_BYTES]
