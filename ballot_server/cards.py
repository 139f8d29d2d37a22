"""Checking a card's answer: registry-signed certificate, not revoked, fresh signature."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ballot_server.errors import ServerError
from ballot_server.registry_models import RevokedCard
from crypto.errors import CryptoError
from crypto.signing import VerifyKey
from evote.protocol import CardAnswer

CERTIFICATE_FIELDS = {
    "card_id",
    "role",
    "national_code",
    "name_fa",
    "name_en",
    "birth_date",
    "card_public_key",
    "station_id",
}


@dataclass(frozen=True)
class Card:
    card_id: str
    role: str
    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    station_id: str | None


def verify_card(
    registry_session: Session, registry_key: VerifyKey, answer: CardAnswer, challenge: bytes
) -> Card:
    """The certificate's holder, once the certificate and the card's signature check out."""
    card, card_key = read_certificate(registry_key, answer)
    if registry_session.get(RevokedCard, card.card_id) is not None:
        raise ServerError("card_revoked")
    check_card_signature(card_key, answer, challenge)
    return card


def read_certificate(registry_key: VerifyKey, answer: CardAnswer) -> tuple[Card, VerifyKey]:
    """The holder and card key named by a registry-signed certificate (no revocation check:
    the caller looks that up, possibly in the same query as the voter's roll entry)."""
    try:
        payload = answer.certificate.verify("card-certificate", registry_key)
        if not isinstance(payload, dict) or set(payload) != CERTIFICATE_FIELDS:
            raise ServerError("card_not_genuine", "certificate fields")
        card_key = VerifyKey.from_hex(payload["card_public_key"])
    except CryptoError as error:
        raise ServerError("card_not_genuine", str(error)) from error
    for name in CERTIFICATE_FIELDS - {"station_id"}:
        if not isinstance(payload[name], str):
            raise ServerError("card_not_genuine", f"certificate {name}")
    station = payload["station_id"]
    card = Card(
        payload["card_id"],
        payload["role"],
        payload["national_code"],
        payload["name_fa"],
        payload["name_en"],
        payload["birth_date"],
        station if isinstance(station, str) else None,
    )
    return card, card_key


def check_card_signature(card_key: VerifyKey, answer: CardAnswer, challenge: bytes) -> None:
    """The card signed exactly this challenge (INTERNAL AUTHENTICATE), or ServerError."""
    try:
        card_key.verify_bytes(challenge, answer.card_signature)
    except CryptoError as error:
        raise ServerError("card_signature_invalid") from error
