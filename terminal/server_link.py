"""The terminal's side of the ballot server: election loading and the uplink's transport.

Wraps ``evote.client.BallotServerClient`` (the one wire format) and turns its
errors into what the uplink needs. The election definition is cached in the
journal so a restarted terminal can deliver its journal without the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from crypto.ballot import ElectionContext
from crypto.canonical import canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.group import Point
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SignedEnvelope, VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote import protocol
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from evote.election import base_hash
from evote.errors import ModelError
from evote.manifest import Manifest
from terminal.errors import ConfigurationError
from terminal.journal import Journal
from terminal.uplink import DeliveryFailed, DeliveryRefused, Send

ELECTION_META_KEY = "election"
RETRY_S = 0.5


@dataclass(frozen=True)
class Election:
    """The verified election definition a terminal votes on."""

    election_id: str
    manifest: Manifest
    context: ElectionContext
    server_key: VerifyKey
    inquiry_key: VerifyKey
    registry_key: VerifyKey
    answer: dict[str, Any]


def parse_election(answer: dict[str, Any]) -> Election:
    """Check the manifest signature and recompute the base hash from the trustees' keys."""
    try:
        hq_key = VerifyKey.from_hex(answer["hq_public_key"])
        envelope = SignedEnvelope.from_json(answer["manifest"])
        manifest = Manifest.from_json(envelope.verify("manifest", hq_key))
        trustees = [TrusteePublicKeys.from_json(item) for item in answer["trustees"]]
        expected = bytes_from_hex(answer["base_hash"], 32, "base_hash")
        if base_hash(manifest, trustees) != expected:
            raise ConfigurationError("the server's base hash does not match the manifest")
        context = ElectionContext(expected, Point.from_hex(answer["joint_public_key"]))
        server_key = VerifyKey.from_hex(answer["server_public_key"])
        inquiry_key = VerifyKey.from_hex(answer["inquiry_public_key"])
        registry_key = VerifyKey.from_hex(answer["registry_public_key"])
    except (KeyError, TypeError, CryptoError, ModelError) as error:
        raise ConfigurationError(f"unusable election definition: {error}") from error
    return Election(
        manifest.election_id, manifest, context, server_key, inquiry_key, registry_key, answer
    )


def load_election(client: BallotServerClient, journal: Journal, wait_s: float = 0.0) -> Election:
    """Fetch the election (and cache it), or fall back to the cached copy when offline.

    With ``wait_s`` an unreachable server is retried for that long first: a
    terminal may boot before its link (or, in a rehearsal, its server) is up.
    """
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                answer = client.election()
                break
            except ServerUnreachable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_S)
    except (ServerUnreachable, ServerRefused) as error:
        cached = journal.get_meta(ELECTION_META_KEY)
        if cached is None:
            raise ConfigurationError(f"no election definition: {_why(client, error)}") from error
        return parse_election(parse_json(cached))
    election = parse_election(answer)
    journal.set_meta(ELECTION_META_KEY, canonical_json(answer).decode("utf-8"))
    return election


def _why(client: BallotServerClient, error: ServerUnreachable | ServerRefused) -> str:
    """Only a server that answered can be quoted; otherwise say who did not answer and why."""
    if isinstance(error, ServerRefused):
        return f"the server at {client.base_url} refused: {error}"
    return f"no answer from {error}"


def uplink_sender(client: BallotServerClient) -> Send:
    """``send(action, envelope) -> receipt`` for the uplink, over the client."""

    def send(action: str, envelope: dict[str, Any]) -> dict[str, Any]:
        try:
            if action == protocol.ACTION_CAST:
                return client.submit_cast(envelope).envelope
            return client.submit_challenge(envelope)
        except ServerUnreachable as error:
            raise DeliveryFailed(error.kind, error.detail) from error
        except ServerRefused as error:
            raise DeliveryRefused(error.code, error.message_en) from error

    return send
