"""The rows that make a request or a card challenge good for one use, written so that
they say nothing about who used them; and the minute, the registry's unit of time.

The inquiry records a check-in request's nonce and the challenge it answers in
the check-in's own transaction. Anything there that named the terminal or the
second would, with the board's public per-terminal ballot sequences, join the
voter to a ballot. So the stored key is a SHA-256 digest (of terminal id and the
request's 16 random nonce bytes, or of the challenge id), which cannot be
recomputed without the request, and times are rounded to the minute: down for a
request's timestamp (pruning at twice the window stays well past the window),
up for a challenge's expiry (kept at least as long as it is valid).
"""

from __future__ import annotations

import hashlib

from ballot_server.challenges import Challenge
from evote.protocol import TerminalRequest

MINUTE = 60


def minute_floor(moment: int) -> int:
    return moment // MINUTE * MINUTE


def minute_ceil(moment: int) -> int:
    return -(-moment // MINUTE) * MINUTE


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256(b"evote/replay/v1")
    for part in parts:
        data = part.encode("utf-8")
        hasher.update(len(data).to_bytes(4, "big") + data)
    return hasher.hexdigest()


def inquiry_nonce_row(request: TerminalRequest) -> dict[str, object]:
    return {
        "digest": _digest("nonce", request.terminal_id, request.nonce),
        "timestamp": minute_floor(request.timestamp),
    }


def intake_nonce_row(request: TerminalRequest) -> dict[str, object]:
    """The intake's nonces name their terminal: nothing there names a voter."""
    return {
        "terminal_id": request.terminal_id,
        "nonce": request.nonce,
        "timestamp": request.timestamp,
    }


def spent_challenge_row(challenge: Challenge) -> dict[str, object]:
    return {
        "digest": _digest("challenge", challenge.challenge_id),
        "expires_at": minute_ceil(challenge.expires_at),
    }
