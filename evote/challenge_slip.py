"""The challenge slip's QR: short enough to scan from thermal paper, checked against the board.

The first slip QR carried every nonce (963 bytes: version 25, three dots a
module) and failed to decode after slight blur. The nonces are public anyway:
a challenged ballot goes on the bulletin board with its revealed secrets
(``docs/record.md``). So the slip carries only what binds the paper to that
entry — the tracking code and a 128-bit digest of the secrets the terminal
revealed — as ``EVC2:<tracking code>:<digest>`` in upper-case hex, which QR
encodes in its compact alphanumeric mode: 102 characters, version 7 at the
highest error correction (H), printed six dots a module.

Checking a slip (the board's public page, ``evote check-slip``): look the
tracking code up on the board, require a ``challenged`` entry whose secrets
hash to the slip's digest, re-encrypt from those secrets
(``crypto.ballot.verify_challenge``) and show what the ballot said. A terminal
that encrypted something other than the voter's choice, or a board that
published other secrets than the terminal printed, is caught.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crypto.ballot import BallotSecrets
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from evote.errors import ModelError

SLIP_FORMAT = "EVC2"
DIGEST_BYTES = 16
_SLIP = re.compile(r"^EVC2:([0-9A-F]{64}):([0-9A-F]{32})$")


class SlipError(ModelError):
    """Text that is not a challenge slip's QR (or the board disagrees with it)."""

    code = "invalid_slip"

    def __init__(self, message: str, code: str = "invalid_slip") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ChallengeSlip:
    """What a slip's QR says: which board entry, and the digest of its secrets."""

    tracking_code: str
    secrets_digest: str

    def payload(self) -> str:
        return f"{SLIP_FORMAT}:{self.tracking_code.upper()}:{self.secrets_digest.upper()}"


def secrets_digest(secrets: BallotSecrets) -> str:
    """128-bit BLAKE2b of the revealed secrets' canonical JSON, as hex."""
    encoded = canonical_json(secrets.to_json())
    return hash_bytes("evote/challenge-secrets/v1", encoded, digest_size=DIGEST_BYTES).hex()


def slip_for(tracking_code: bytes, secrets: BallotSecrets) -> ChallengeSlip:
    return ChallengeSlip(tracking_code.hex(), secrets_digest(secrets))


def parse_slip(text: str) -> ChallengeSlip:
    """A scanned or typed slip; spaces, dashes and letter case do not matter."""
    cleaned = re.sub(r"[\s\-]", "", text).upper()
    match = _SLIP.match(cleaned)
    if match is None:
        raise SlipError("not a challenge slip (expected EVC2:<64 hex>:<32 hex>)")
    return ChallengeSlip(match.group(1).lower(), match.group(2).lower())
