"""Provisional authorizations: what a station signs when it checks a voter in offline.

A provisional authorization is a ``provisional-authorization`` envelope signed
by the terminal that checked the voter in (a key HQ registered to the station),
with the payload::

    {authorization_id, election_id, station_id, ballot_style_id, terminal_id,
     checked_in_at, snapshot_id, sealed_check_in}

``sealed_check_in`` is the voter's check-in sealed to the registry key
(``crypto/sealing.py``), so only the registry can read who it was: the national
code and birth date, the card certificate, and the card's signature over
``check_in_challenge(...)`` — a hash of the authorization's own fields. The
card signs only after the right PIN, so the registry can check that this voter's
card, not merely the terminal, endorsed exactly this authorization: a terminal
cannot mint provisional ballots for voters who never came.

The registry opens the check-in when it reconciles provisional ballots
(issue 15; docs/offline.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.hashing import hash_bytes
from crypto.sealing import seal, unseal
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from evote.errors import ModelError

KIND = "provisional-authorization"
CHALLENGE_DOMAIN = "evote/offline-check-in/v1"
AUTHORIZATION_FIELDS = {
    "authorization_id",
    "election_id",
    "station_id",
    "ballot_style_id",
    "terminal_id",
    "checked_in_at",
    "snapshot_id",
    "sealed_check_in",
}
CHECK_IN_FIELDS = {
    "authorization_id",
    "national_code",
    "birth_date",
    "card_certificate",
    "card_signature",
}


class ProvisionalError(ModelError):
    """A provisional authorization or its sealed check-in that does not hold."""

    code = "provisional_invalid"


@dataclass(frozen=True)
class ProvisionalGrant:
    """The fields a terminal fixes before the card signs: the card's challenge is
    their hash, so the card endorses this authorization and no other."""

    authorization_id: str
    election_id: str
    station_id: str
    ballot_style_id: str
    terminal_id: str
    checked_in_at: int
    snapshot_id: str

    @classmethod
    def fresh(
        cls,
        *,
        election_id: str,
        station_id: str,
        ballot_style_id: str,
        terminal_id: str,
        checked_in_at: int,
        snapshot_id: str,
    ) -> ProvisionalGrant:
        return cls(
            os.urandom(16).hex(),
            election_id,
            station_id,
            ballot_style_id,
            terminal_id,
            checked_in_at,
            snapshot_id,
        )

    def card_challenge(self) -> bytes:
        """The 32 bytes the voter's card signs (INTERNAL AUTHENTICATE)."""
        return hash_bytes(
            CHALLENGE_DOMAIN,
            self.authorization_id,
            self.election_id,
            self.station_id,
            self.ballot_style_id,
            self.terminal_id,
            str(self.checked_in_at),
            self.snapshot_id,
        )

    def sign(
        self,
        terminal_key: SigningKey,
        registry_key: VerifyKey,
        *,
        national_code: str,
        birth_date: str,
        card_certificate: SignedEnvelope,
        card_signature: bytes,
    ) -> SignedEnvelope:
        """The signed authorization, the voter's check-in sealed inside it."""
        check_in = {
            "authorization_id": self.authorization_id,
            "national_code": national_code,
            "birth_date": birth_date,
            "card_certificate": card_certificate.to_json(),
            "card_signature": card_signature.hex(),
        }
        payload: dict[str, Any] = {
            **vars(self),
            "sealed_check_in": seal(registry_key, canonical_json(check_in)).hex(),
        }
        return terminal_key.sign(KIND, payload)


def read_grant(envelope: SignedEnvelope, terminal_key: VerifyKey) -> tuple[ProvisionalGrant, bytes]:
    """The grant and the sealed check-in of an authorization signed by ``terminal_key``."""
    try:
        payload = envelope.verify(KIND, terminal_key)
    except CryptoError as error:
        raise ProvisionalError(f"provisional authorization: {error}") from error
    if not isinstance(payload, dict) or set(payload) != AUTHORIZATION_FIELDS:
        raise ProvisionalError("provisional authorization fields")
    fields = {name: payload[name] for name in AUTHORIZATION_FIELDS - {"sealed_check_in"}}
    if not isinstance(fields["checked_in_at"], int) or isinstance(fields["checked_in_at"], bool):
        raise ProvisionalError("provisional authorization checked_in_at")
    if not all(isinstance(value, str) for name, value in fields.items() if name != "checked_in_at"):
        raise ProvisionalError("provisional authorization fields")
    try:
        sealed = bytes.fromhex(str(payload["sealed_check_in"]))
    except ValueError as error:
        raise ProvisionalError("provisional authorization sealed_check_in") from error
    return ProvisionalGrant(**fields), sealed


@dataclass(frozen=True)
class OpenedCheckIn:
    """A provisional check-in as the registry reads it; the card's endorsement checked
    against the certificate's card key (whether the certificate is the registry's
    is the caller's check, with the roll)."""

    grant: ProvisionalGrant
    national_code: str
    birth_date: str
    card_certificate: SignedEnvelope


def open_check_in(registry: SigningKey, grant: ProvisionalGrant, sealed: bytes) -> OpenedCheckIn:
    """Unseal the check-in, and check it belongs to ``grant`` and that the card named
    by its registry-signed certificate signed the grant's challenge."""
    try:
        check_in = parse_json(unseal(registry, sealed))
        if not isinstance(check_in, dict) or set(check_in) != CHECK_IN_FIELDS:
            raise ProvisionalError("sealed check-in fields")
        if check_in["authorization_id"] != grant.authorization_id:
            raise ProvisionalError("sealed check-in of another authorization")
        certificate = SignedEnvelope.from_json(check_in["card_certificate"])
        holder = certificate.verify("card-certificate", registry.public_key)
        if not isinstance(holder, dict):
            raise ProvisionalError("card certificate")
        card_key = VerifyKey.from_hex(holder.get("card_public_key"))
        card_key.verify_bytes(
            grant.card_challenge(), bytes.fromhex(str(check_in["card_signature"]))
        )
    except (CryptoError, ValueError) as error:
        raise ProvisionalError(f"sealed check-in: {error}") from error
    if (holder.get("national_code"), holder.get("birth_date")) != (
        check_in["national_code"],
        check_in["birth_date"],
    ):
        raise ProvisionalError("sealed check-in does not match its card certificate")
    return OpenedCheckIn(
        grant, str(check_in["national_code"]), str(check_in["birth_date"]), certificate
    )
