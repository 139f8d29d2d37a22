"""A voter whose check-in another, revoked, booth holds: void it for them and release.

A booth that dies for good keeps its voter's check-in with it: only its journal
held the release key (``terminal/releases.py``). Each check-in therefore also
carries the release key sealed for the voter's card (``evote/release_escrow.py``),
and the ``already_voted`` refusal at the same station hands the sealed box back
to the card that checked in. This booth has the card open it, and asks the intake
to void that authorization for its revoked holder: the server refuses while HQ
has not revoked the holder (``holder_not_revoked``: it may still deliver a ballot
cast with it, or be about to release the check-in itself) and when a ballot spent
it (``authorization_used``: the voter did vote); either way the voter sees the
``already_voted`` refusal as before. With the signed void the check-in is
released, and the booth checks the voter in again (docs/server.md, "No voter
locked out").
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from evote import protocol, release_escrow
from evote.client import BallotServerClient, ServerRefused

LOG = logging.getLogger(__name__)


def recover_check_in(
    client: BallotServerClient,
    station_id: str,
    national_code: str,
    refusal: ServerRefused,
    card_signature: Callable[[], bytes],
) -> bool:
    """True if the voter's check-in, held by a revoked terminal, is now released.

    False when ``refusal`` carries no sealed release, the box does not open with this
    card, the holder is this terminal (its own releases are under way), the holder is
    not revoked (a live booth releases its own; a dead one is the officials' to report
    to HQ), or a ballot spent the authorization."""
    escrow = refusal.details.get("release_escrow") if refusal.code == "already_voted" else None
    if not isinstance(escrow, str):
        return False
    try:
        release_key, holder = release_escrow.open_box(card_signature(), escrow)
    except release_escrow.EscrowError as error:
        LOG.warning("sealed release not opened: %s", error)
        return False
    if holder == client.terminal_id:
        return False
    key = protocol.authorization_key(release_key)
    authorization_id = protocol.authorization_id(key, holder)
    try:
        void = client.void(station_id, authorization_id, protocol.REVOKED_HOLDER, (holder, key))
        released = client.release(national_code, release_key, void["void"])
    except ServerRefused as refused:
        LOG.info("check-in held by %s not recovered: %s", holder, refused.code)
        return False
    return bool(released.get("released"))
