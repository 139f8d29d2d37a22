"""What HQ's key certifies besides the manifest: the election's service and trustee
keys, each terminal, each terminal's revocation.

The manifest alone names no key but HQ's; every other key in the record
(registry, inquiry, server, each trustee's signing key, each terminal) is only
as good as the statement that binds it to this election. HQ signs those
statements where it sets the election up; the server keeps them in the audit
log (the ``election.created``, ``terminal.registered`` and ``terminal.revoked``
events), and the verifier checks them against HQ's pinned key, so a record
rebuilt around fresh keys fails even if every server-signed file in it is
consistent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from crypto.errors import DecodingError
from crypto.signing import SignedEnvelope

KEYS_CERTIFICATE_KIND: Final = "election-keys"
REGISTRATION_KIND: Final = "terminal-registration"
REVOCATION_KIND: Final = "terminal-revocation"
REVOCATION_FIELDS: Final = frozenset(
    {"election_id", "terminal_id", "station_id", "public_key", "revoked_at", "reason"}
)
TRUSTEE_KEYS_KIND: Final = "trustee-keys"
"""A trustee's self-signed binding of its signing key to its published keys (ceremony)."""


def keys_certificate_payload(
    election_id: str,
    manifest_hash: str,
    registry_public_key: str,
    inquiry_public_key: str,
    server_public_key: str,
    trustee_signers: Mapping[int, str],
) -> dict[str, Any]:
    """HQ's statement: these are the keys that sign for this election (all hex), the
    trustees' by trustee index, as the ceremony bound them."""
    return {
        "election_id": election_id,
        "manifest_hash": manifest_hash,
        "registry_public_key": registry_public_key,
        "inquiry_public_key": inquiry_public_key,
        "server_public_key": server_public_key,
        "trustee_signers": {str(index): key for index, key in sorted(trustee_signers.items())},
    }


def read_trustee_signers(exchange: Path, indexes: Iterable[int]) -> dict[int, str]:
    """Each trustee's signing key (hex), from the self-signed binding it published in
    the ceremony's exchange (``trustee-<i>.signer.json``), for HQ to certify.
    Raises OSError, ValueError or a CryptoError on a missing or bad binding."""
    signers = {}
    for index in indexes:
        path = Path(exchange) / f"trustee-{index}.signer.json"
        envelope = SignedEnvelope.from_json(json.loads(path.read_text("utf-8")))
        binding = envelope.verify(TRUSTEE_KEYS_KIND)
        if not isinstance(binding, dict) or binding.get("trustee_index") != index:
            raise DecodingError(f"{path}: not trustee {index}'s binding")
        signers[index] = envelope.signer.hex()
    return signers


def revocation_payload(
    election_id: str,
    terminal_id: str,
    station_id: str,
    public_key: str,
    revoked_at: int,
    reason: str,
) -> dict[str, Any]:
    """HQ's statement: this terminal key signs nothing more for this election from then on."""
    return {
        "election_id": election_id,
        "terminal_id": terminal_id,
        "station_id": station_id,
        "public_key": public_key,
        "revoked_at": revoked_at,
        "reason": reason,
    }


def registration_payload(
    election_id: str, terminal_id: str, station_id: str, public_key: str
) -> dict[str, str]:
    """HQ's statement: this terminal key casts ballots for this station of this election."""
    return {
        "election_id": election_id,
        "terminal_id": terminal_id,
        "station_id": station_id,
        "public_key": public_key,
    }
