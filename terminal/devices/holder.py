"""Decoding the card's holder file (EF 0101) into a checked ``CardHolder``.

The TLV fields must agree with the registry-signed certificate and the
certificate's signature must hold, so a byte garbled on the line can never
turn into a wrong identity. Whether the registry key is *trusted* is the
inquiry service's decision, not the terminal's.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.canonical import parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from terminal.devices.errors import CardDataError

TAG_HOLDER = 0x70
FIELD_TAGS = {
    0x01: "national_code",
    0x02: "name_fa",
    0x03: "name_en",
    0x04: "birth_date",
    0x05: "role",
    0x06: "station_id",
    0x10: "certificate",
}
MAX_HOLDER_FILE_BYTES = 4096


@dataclass(frozen=True)
class CardHolder:
    """Who the card belongs to, and the certificate binding that to the card key."""

    card_id: str
    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    role: str
    station_id: str | None
    card_public_key: VerifyKey
    certificate: SignedEnvelope


def read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """Return (tag, value, next offset) of the TLV at ``offset``."""
    if offset + 2 > len(data):
        raise CardDataError("holder file truncated in a TLV header")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82):
        size = first - 0x80
        if offset + size > len(data):
            raise CardDataError("holder file truncated in a TLV length")
        length = int.from_bytes(data[offset : offset + size], "big")
        offset += size
    else:
        raise CardDataError(f"unsupported TLV length byte {first:#04x}")
    if offset + length > len(data):
        raise CardDataError("holder file truncated in a TLV value")
    return tag, data[offset : offset + length], offset + length


def holder_total_length(header: bytes) -> int:
    """Total file length from its first bytes (the 0x70 template's tag and length)."""
    if len(header) < 2 or header[0] != TAG_HOLDER:
        raise CardDataError("holder file does not start with a 0x70 template")
    first = header[1]
    if first < 0x80:
        return 2 + first
    size = first - 0x80
    if size not in (1, 2) or len(header) < 2 + size:
        raise CardDataError(f"unsupported holder template length byte {first:#04x}")
    return 2 + size + int.from_bytes(header[2 : 2 + size], "big")


def parse_holder(data: bytes) -> CardHolder:
    """Parse and cross-check the holder file; raise CardDataError on any disagreement."""
    tag, body, end = read_tlv(data, 0)
    if tag != TAG_HOLDER or end != len(data):
        raise CardDataError("holder file is not a single 0x70 template")
    fields: dict[str, bytes] = {}
    offset = 0
    while offset < len(body):
        tag, value, offset = read_tlv(body, offset)
        name = FIELD_TAGS.get(tag)
        if name is None or name in fields:
            raise CardDataError(f"unexpected or repeated holder tag {tag:#04x}")
        fields[name] = value
    try:
        text = {
            name: value.decode("utf-8") for name, value in fields.items() if name != "certificate"
        }
        certificate = SignedEnvelope.from_json(parse_json(fields["certificate"]))
        payload = certificate.verify("card-certificate")
        public_key = VerifyKey.from_hex(payload["card_public_key"])
    except (KeyError, UnicodeDecodeError, CryptoError, TypeError) as error:
        raise CardDataError(f"holder certificate unusable: {error}") from error
    station_id = text.get("station_id")
    expected = {
        "national_code": text.get("national_code"),
        "name_fa": text.get("name_fa"),
        "name_en": text.get("name_en"),
        "birth_date": text.get("birth_date"),
        "role": text.get("role"),
        "station_id": station_id,
    }
    for name, field_value in expected.items():
        if payload.get(name) != field_value:
            raise CardDataError(f"holder field {name} disagrees with the certificate")
    return CardHolder(
        card_id=str(payload.get("card_id")),
        national_code=str(expected["national_code"]),
        name_fa=str(expected["name_fa"]),
        name_en=str(expected["name_en"]),
        birth_date=str(expected["birth_date"]),
        role=str(expected["role"]),
        station_id=station_id,
        card_public_key=public_key,
        certificate=certificate,
    )
