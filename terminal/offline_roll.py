"""Checking a voter's card against the station's roll snapshot, with no server.

The terminal draws its own challenge; the card answers INTERNAL AUTHENTICATE
only after a correct PIN, so a signature that verifies under the card key of a
registry-certified certificate proves card and PIN together, offline. The
registry key is the one the election definition named (``server_link``),
cached from the last time the terminal reached the server; the snapshot must be
signed by that same key (``evote/roll_snapshot.py``).

The refusals reuse the inquiry's codes where the reason is the same; a voter the
snapshot does not list is ``not_in_roll_snapshot`` whatever the reason (the
snapshot says who may vote, not why others may not).
"""

from __future__ import annotations

from pathlib import Path

from crypto.errors import CryptoError
from crypto.signing import VerifyKey
from evote.roll_snapshot import RollSnapshot, SnapshotError, SnapshotOpener, load_snapshot
from terminal.devices.holder import CardHolder
from terminal.errors import ConfigurationError, TerminalError


class OfflineRefused(TerminalError):
    """The card or its holder may not check in offline; ``code`` is a refusal code."""

    code = "offline_refused"


def load_station_snapshot(path: Path, opener: SnapshotOpener) -> RollSnapshot:
    """The station's snapshot, checked and opened for this terminal, or ConfigurationError."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(f"roll snapshot {path}: {error}") from error
    try:
        return load_snapshot(data, opener)
    except SnapshotError as error:
        raise ConfigurationError(f"roll snapshot {path}: {error}", code=error.code) from error


def verify_card_offline(
    snapshot: RollSnapshot,
    registry_key: VerifyKey,
    holder: CardHolder,
    challenge: bytes,
    card_signature: bytes,
) -> None:
    """Any card (voter's or official's): certificate under the registry key, not
    revoked as of the snapshot, and its answer to ``challenge``; OfflineRefused otherwise."""
    try:
        holder.certificate.verify("card-certificate", registry_key)
    except CryptoError as error:
        raise OfflineRefused(
            "certificate not signed by the registry", code="card_not_genuine"
        ) from error
    if snapshot.card_revoked(holder.card_id):
        raise OfflineRefused("card revoked as of the snapshot", code="card_revoked")
    try:
        holder.card_public_key.verify_bytes(challenge, card_signature)
    except CryptoError as error:
        raise OfflineRefused("card answer", code="card_signature_invalid") from error


def check_card_offline(
    snapshot: RollSnapshot,
    registry_key: VerifyKey,
    holder: CardHolder,
    challenge: bytes,
    card_signature: bytes,
) -> bytes:
    """The voter's tag in the snapshot (the key the station's check-ins are kept
    under), once the card checks out (``verify_card_offline``), is a voter's and the
    snapshot lists its holder; OfflineRefused otherwise, in the inquiry's order."""
    verify_card_offline(snapshot, registry_key, holder, challenge, card_signature)
    if holder.role != "voter":
        raise OfflineRefused(f"a {holder.role} card", code="not_a_voter_card")
    tag = snapshot.voter_tag(holder.national_code, holder.birth_date)
    if not snapshot.lists(tag):
        raise OfflineRefused("not listed", code="not_in_roll_snapshot")
    return tag
