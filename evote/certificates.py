"""What HQ's key certifies besides the manifest: the election's service keys and each terminal.

The manifest alone names no key but HQ's; every other key in the record
(registry, inquiry, server, each terminal) is only as good as the statement
that binds it to this election. HQ signs those statements where it
sets the election up; the server keeps them in the audit log (the
``election.created`` and ``terminal.registered`` events), and the verifier
checks them against HQ's pinned key, so a record rebuilt around fresh keys
fails even if every server-signed file in it is consistent.
"""

from __future__ import annotations

from typing import Final

KEYS_CERTIFICATE_KIND: Final = "election-keys"
REGISTRATION_KIND: Final = "terminal-registration"


def keys_certificate_payload(
    election_id: str,
    manifest_hash: str,
    registry_public_key: str,
    inquiry_public_key: str,
    server_public_key: str,
) -> dict[str, str]:
    """HQ's statement: these are the keys that sign for this election (all hex)."""
    return {
        "election_id": election_id,
        "manifest_hash": manifest_hash,
        "registry_public_key": registry_public_key,
        "inquiry_public_key": inquiry_public_key,
        "server_public_key": server_public_key,
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
