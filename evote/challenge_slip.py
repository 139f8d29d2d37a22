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
from typing import Any

from crypto.ballot import (
    BallotSecrets,
    ElectionContext,
    EncryptedBallot,
    tracking_code,
    verify_challenge,
)
from crypto.canonical import canonical_json
from crypto.errors import CryptoError
from crypto.hashing import hash_bytes
from evote.errors import ModelError
from evote.manifest import Manifest

SLIP_FORMAT = "EVC2"
DIGEST_BYTES = 16
_SLIP = re.compile(r"EVC2:([0-9A-F]{64}):([0-9A-F]{32})$")


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

    def url(self, check_base_url: str) -> str:
        """The QR as a link a phone's camera opens: the board's check page for this slip.

        All upper case, so the whole URL stays in QR's alphanumeric mode; scheme and
        host are case-blind and the board serves ``/CHECK/`` as well as ``/check/``.
        """
        return f"{check_base_url.rstrip('/')}/{self.payload()}".upper()


@dataclass(frozen=True)
class SlipCheck:
    """A slip that checked out: where its ballot is on the board and what it says."""

    tracking_code: str
    station_id: str
    board_position: int
    ballot_style_id: str
    choices: dict[str, list[str]]


def secrets_digest(secrets: BallotSecrets) -> str:
    """128-bit BLAKE2b of the revealed secrets' canonical JSON, as hex."""
    encoded = canonical_json(secrets.to_json())
    return hash_bytes("evote/challenge-secrets/v1", encoded, digest_size=DIGEST_BYTES).hex()


def slip_for(tracking_code: bytes, secrets: BallotSecrets) -> ChallengeSlip:
    return ChallengeSlip(tracking_code.hex(), secrets_digest(secrets))


def parse_slip(text: str) -> ChallengeSlip:
    """A scanned or typed slip, alone or at the end of its check URL; spaces, dashes
    and letter case do not matter."""
    cleaned = re.sub(r"[\s\-]", "", text).upper()
    match = _SLIP.search(cleaned)
    if match is None:
        raise SlipError("not a challenge slip (expected EVC2:<64 hex>:<32 hex>)")
    return ChallengeSlip(match.group(1).lower(), match.group(2).lower())


def check_slip(
    slip: ChallengeSlip, found: dict[str, Any], context: ElectionContext, manifest: Manifest
) -> SlipCheck:
    """Check a slip against the board's lookup answer for its tracking code.

    ``found`` is the board's ``GET /api/v1/board/lookup/<code>`` answer. Raises
    ``SlipError`` with ``slip_not_on_board`` (not delivered yet, or never),
    ``slip_not_challenged`` (a cast ballot: its choices stay secret),
    ``slip_secrets_differ`` (the board holds other secrets than the slip's) or
    ``slip_does_not_open`` (the secrets do not reproduce the encrypted ballot).
    """
    if not found.get("found"):
        raise SlipError("the tracking code is not on the board", "slip_not_on_board")
    if found.get("kind") != "challenged":
        raise SlipError("this tracking code is a cast ballot", "slip_not_challenged")
    try:
        body = found["entry"]["payload"]["payload"]["body"]
        secrets = BallotSecrets.from_json(body["secrets"])
        ballot = EncryptedBallot.from_json(body["ballot"])
        previous = bytes.fromhex(body["previous_tracking_code"])
    except (KeyError, TypeError, ValueError, CryptoError) as error:
        raise SlipError(f"the board's entry is malformed: {error}", "slip_does_not_open") from error
    if tracking_code(ballot, previous).hex() != slip.tracking_code:
        raise SlipError("the board's ballot has another tracking code", "slip_does_not_open")
    if secrets_digest(secrets) != slip.secrets_digest:
        raise SlipError("the board's secrets are not the slip's", "slip_secrets_differ")
    try:
        specs = manifest.contest_specs(ballot.ballot_style_id)
        choices = verify_challenge(context, specs, ballot, secrets)
    except (CryptoError, ModelError) as error:
        raise SlipError(
            f"the secrets do not open the ballot: {error}", "slip_does_not_open"
        ) from error
    return SlipCheck(
        slip.tracking_code,
        str(found.get("station_id")),
        int(found.get("board_position", -1)),
        ballot.ballot_style_id,
        choices,
    )
