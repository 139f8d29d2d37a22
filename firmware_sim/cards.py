"""Issuing simulated national ID cards from a voter roll, and the card image file.

A card image is a JSON file holding what the chip holds: the card's Ed25519
seed, its PIN and retry counter, the holder data and the registry-signed card
certificate. The registry's key signs every certificate, so a demo roll and the
cards issued from it match, and the inquiry service can check them.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crypto.canonical import canonical_json
from crypto.signing import SignedEnvelope, SigningKey

CARD_FORMAT = "evote-card/v1"
PIN_MAX_TRIES = 3
ROLES = ("voter", "official", "hq")

# Holder file (EF 0101) tags; see docs/protocols.md.
TAG_HOLDER = 0x70
TAG_NATIONAL_CODE = 0x01
TAG_NAME_FA = 0x02
TAG_NAME_EN = 0x03
TAG_BIRTH_DATE = 0x04
TAG_ROLE = 0x05
TAG_STATION_ID = 0x06
TAG_CERTIFICATE = 0x10

_NATIONAL_CODE = re.compile(r"[0-9]{10}")
_JALALI_DATE = re.compile(r"1[0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_PIN = re.compile(r"[0-9]{4,8}")


class CardIssueError(ValueError):
    """A roll row cannot become a card; the message names the row and field."""

    code = "card_issue_error"


@dataclass(frozen=True)
class RollRow:
    """One person to issue a card to."""

    national_code: str
    name_fa: str
    name_en: str
    birth_date: str
    role: str
    station_id: str | None
    pin: str

    def validate(self, where: str) -> None:
        # The check digit is the registry's business (evote.national_code, at roll
        # import); a card only has to carry ten digits.
        if not _NATIONAL_CODE.fullmatch(self.national_code):
            raise CardIssueError(f"{where}: national_code {self.national_code!r} is not 10 digits")
        if not _JALALI_DATE.fullmatch(self.birth_date):
            raise CardIssueError(f"{where}: birth_date must be Jalali YYYY-MM-DD")
        if self.role not in ROLES:
            raise CardIssueError(f"{where}: role must be one of {', '.join(ROLES)}")
        if (self.role == "official") != bool(self.station_id):
            raise CardIssueError(f"{where}: station_id is required for officials only")
        if not _PIN.fullmatch(self.pin):
            raise CardIssueError(f"{where}: pin must be 4 to 8 digits")
        if not self.name_fa or not self.name_en:
            raise CardIssueError(f"{where}: both names are required")


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        encoded_length = bytes([length])
    elif length < 0x100:
        encoded_length = bytes([0x81, length])
    else:
        encoded_length = bytes([0x82]) + length.to_bytes(2, "big")
    return bytes([tag]) + encoded_length + value


def holder_file(holder: dict[str, Any], certificate: SignedEnvelope) -> bytes:
    """The bytes of EF 0101: a 0x70 template of holder fields and the certificate."""
    fields = [
        _tlv(TAG_NATIONAL_CODE, holder["national_code"].encode("ascii")),
        _tlv(TAG_NAME_FA, holder["name_fa"].encode("utf-8")),
        _tlv(TAG_NAME_EN, holder["name_en"].encode("utf-8")),
        _tlv(TAG_BIRTH_DATE, holder["birth_date"].encode("ascii")),
        _tlv(TAG_ROLE, holder["role"].encode("ascii")),
    ]
    if holder.get("station_id"):
        fields.append(_tlv(TAG_STATION_ID, holder["station_id"].encode("utf-8")))
    fields.append(_tlv(TAG_CERTIFICATE, canonical_json(certificate.to_json())))
    return _tlv(TAG_HOLDER, b"".join(fields))


def issue_card(registry: SigningKey, row: RollRow, card_id: str) -> dict[str, Any]:
    """Make one card image: a fresh card key and a registry-signed certificate."""
    row.validate(card_id)
    card_key = SigningKey.generate()
    holder = {
        "national_code": row.national_code,
        "name_fa": row.name_fa,
        "name_en": row.name_en,
        "birth_date": row.birth_date,
        "role": row.role,
        "station_id": row.station_id or None,
    }
    certificate = registry.sign(
        "card-certificate",
        {"card_id": card_id, **holder, "card_public_key": card_key.public_key.hex()},
    )
    return {
        "format": CARD_FORMAT,
        "card_id": card_id,
        "private_key_seed": card_key.seed.hex(),
        "pin": row.pin,
        "pin_tries_left": PIN_MAX_TRIES,
        "holder": holder,
        "certificate": certificate.to_json(),
    }


def write_card_file(path: Path, image: dict[str, Any]) -> None:
    """Write a card image durably (temp file, fsync, rename): the PIN counter must survive."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(image, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


CARD_ROLL_COLUMNS = (
    "national_code",
    "name_fa",
    "name_en",
    "birth_date",
    "role",
    "station_id",
    "pin",
)


def read_roll_csv(path: Path) -> list[RollRow]:
    """Read a roll CSV with columns national_code,name_fa,name_en,birth_date,role,station_id,pin."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = set(CARD_ROLL_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise CardIssueError(f"{path}: header lacks {', '.join(sorted(missing))}")
        rows = [
            RollRow(
                national_code=row["national_code"].strip(),
                name_fa=row["name_fa"].strip(),
                name_en=row["name_en"].strip(),
                birth_date=row["birth_date"].strip(),
                role=(row.get("role") or "voter").strip(),
                station_id=(row.get("station_id") or "").strip() or None,
                pin=row["pin"].strip(),
            )
            for row in reader
        ]
    if not rows:
        raise CardIssueError(f"{path}: no rows")
    return rows


def issue_cards(registry: SigningKey, rows: list[RollRow], out_dir: Path) -> list[Path]:
    """Issue one card file per roll row into ``out_dir``; returns the paths in roll order.

    Every row is validated before any file is written, so a bad roll leaves nothing behind.
    """
    for index, row in enumerate(rows, start=1):
        row.validate(f"roll row {index}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for row in rows:
        card_id = f"card-{row.national_code}"
        path = out_dir / f"{card_id}.json"
        write_card_file(path, issue_card(registry, row, card_id))
        paths.append(path)
    return paths
