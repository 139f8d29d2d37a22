"""The signed roll snapshot: who may check in at one station while its link is down.

The registry writes one snapshot per station before election day
(``ballot_server/snapshot.py``); the station's terminals load it and check a
card against it with no server (``terminal/offline_roll.py``). One file::

    MAGIC | header length (4 bytes, big-endian) | header | tag table

The header is a ``roll-snapshot`` envelope signed by the registry key. The
table is the sorted keyed tags (BLAKE2b under the snapshot's tag key, 16 bytes)
of every voter eligible at this station as of the snapshot: on the roll, alive,
18 or older on election day, entitled to the station's ballot style, not yet
checked in. The tag covers the national code *and* the birth date, so a card
whose birth date disagrees with the roll is not found, as online. Revoked cards
are listed the same way, as tags of card ids.

What it reveals (docs/security.md, "Roll snapshot"): without the tag key, only
the number of eligible voters. The tag key is fresh per snapshot and sealed to
each terminal of the station (``crypto/sealing.py``) inside the signed header,
so a copy of the file alone is useless; a terminal that opens it can test any
(national code, birth date) pair, and national codes are few enough (10^9, a
check digit) that whoever holds a terminal's key can list the station's
eligible voters with their birth dates in hours. That is the trade-off: a
station needs to recognise every one of its voters without asking anyone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crypto.canonical import canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.sealing import seal, unseal
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from evote.errors import ModelError

KIND = "roll-snapshot"
MAGIC = b"EVOTE-ROLL-SNAPSHOT-1\n"
TAG_BYTES = 16
TAG_KEY_BYTES = 32
MAX_HEADER_BYTES = 16 * 1024 * 1024
HEADER_FIELDS = {
    "snapshot_id",
    "election_id",
    "station_id",
    "ballot_style_id",
    "as_of",
    "voter_count",
    "tag_bytes",
    "table_digest",
    "revoked_card_tags",
    "sealed_keys",
}


class SnapshotError(ModelError):
    """A roll snapshot that cannot be used here; ``code`` says why."""

    code = "roll_snapshot_invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


def _tag(tag_key: bytes, kind: bytes, *parts: str) -> bytes:
    data = kind + b"".join(b"\x00" + part.encode("utf-8") for part in parts)
    return hashlib.blake2b(
        data, key=tag_key, digest_size=TAG_BYTES, person=b"evote-roll-v1"
    ).digest()


def voter_tag(tag_key: bytes, national_code: str, birth_date: str) -> bytes:
    """The keyed tag a voter is listed under (also the key of offline check-ins)."""
    return _tag(tag_key, b"voter", national_code, birth_date)


def card_tag(tag_key: bytes, card_id: str) -> bytes:
    return _tag(tag_key, b"card", card_id)


def table_digest(table: bytes) -> bytes:
    return hashlib.blake2b(table, digest_size=32, person=b"evote-roll-tbl").digest()


def build_snapshot(
    registry: SigningKey,
    *,
    election_id: str,
    station_id: str,
    ballot_style_id: str,
    as_of: int,
    voters: Iterable[tuple[str, str]],
    revoked_card_ids: Iterable[str],
    terminal_keys: Mapping[str, VerifyKey],
    tag_key: bytes | None = None,
) -> bytes:
    """The snapshot file for ``voters`` (national code, birth date) of one station,
    its tag key sealed to each of ``terminal_keys``."""
    tag_key = tag_key if tag_key is not None else os.urandom(TAG_KEY_BYTES)
    tags = sorted({voter_tag(tag_key, code, birth) for code, birth in voters})
    table = b"".join(tags)
    payload: dict[str, Any] = {
        "snapshot_id": os.urandom(16).hex(),
        "election_id": election_id,
        "station_id": station_id,
        "ballot_style_id": ballot_style_id,
        "as_of": as_of,
        "voter_count": len(tags),
        "tag_bytes": TAG_BYTES,
        "table_digest": table_digest(table).hex(),
        "revoked_card_tags": sorted(card_tag(tag_key, card).hex() for card in revoked_card_ids),
        "sealed_keys": {
            terminal_id: seal(key, tag_key).hex() for terminal_id, key in terminal_keys.items()
        },
    }
    header = canonical_json(registry.sign(KIND, payload).to_json())
    return MAGIC + len(header).to_bytes(4, "big") + header + table


@dataclass(frozen=True)
class RollSnapshot:
    """A verified snapshot, opened for one terminal: membership tests by tag."""

    snapshot_id: str
    election_id: str
    station_id: str
    ballot_style_id: str
    as_of: int
    voter_count: int
    tag_key: bytes
    voter_tags: frozenset[bytes]
    revoked_card_tags: frozenset[bytes]

    def voter_tag(self, national_code: str, birth_date: str) -> bytes:
        return voter_tag(self.tag_key, national_code, birth_date)

    def lists(self, tag: bytes) -> bool:
        return tag in self.voter_tags

    def card_revoked(self, card_id: str) -> bool:
        return card_tag(self.tag_key, card_id) in self.revoked_card_tags


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise SnapshotError("not a roll snapshot file")
    start = len(MAGIC) + 4
    length = int.from_bytes(data[len(MAGIC) : start], "big")
    if length > MAX_HEADER_BYTES or start + length > len(data):
        raise SnapshotError("roll snapshot header length out of range")
    header = parse_json(data[start : start + length], max_bytes=MAX_HEADER_BYTES)
    if not isinstance(header, dict):
        raise SnapshotError("roll snapshot header is not an object")
    return header, data[start + length :]


def _payload(header: dict[str, Any], registry_key: VerifyKey) -> dict[str, Any]:
    try:
        payload = SignedEnvelope.from_json(header).verify(KIND, registry_key)
    except CryptoError as error:
        raise SnapshotError(f"roll snapshot signature: {error}") from error
    if not isinstance(payload, dict) or set(payload) != HEADER_FIELDS:
        raise SnapshotError("roll snapshot header fields")
    return payload


@dataclass(frozen=True)
class SnapshotOpener:
    """The terminal that opens a snapshot: what it trusts, where it stands, its key."""

    registry_key: VerifyKey
    election_id: str
    station_id: str
    terminal_id: str
    terminal_key: SigningKey = field(repr=False)


def load_snapshot(data: bytes, opener: SnapshotOpener) -> RollSnapshot:
    """Check the registry's signature, the table against its digest, that the snapshot
    is the opener's election's and station's, and open the tag key sealed to the
    opener; SnapshotError (with a code) otherwise."""
    try:
        header, table = _split(data)
    except CryptoError as error:
        raise SnapshotError(f"roll snapshot header: {error}") from error
    payload = _payload(header, opener.registry_key)
    if payload["election_id"] != opener.election_id:
        raise SnapshotError(
            "roll snapshot of another election", code="roll_snapshot_wrong_election"
        )
    if payload["station_id"] != opener.station_id:
        raise SnapshotError("roll snapshot of another station", code="roll_snapshot_wrong_station")
    count, as_of = payload["voter_count"], payload["as_of"]
    if payload["tag_bytes"] != TAG_BYTES or not _whole(count) or not _whole(as_of):
        raise SnapshotError("roll snapshot tag size, count or time")
    if len(table) != count * TAG_BYTES or table_digest(table).hex() != payload["table_digest"]:
        raise SnapshotError("roll snapshot table does not match its signed digest")
    terminal_id = opener.terminal_id
    sealed = payload["sealed_keys"]
    if not isinstance(sealed, dict) or not isinstance(sealed.get(terminal_id), str):
        raise SnapshotError(
            f"roll snapshot holds no key for terminal {terminal_id}",
            code="roll_snapshot_not_for_terminal",
        )
    try:
        tag_key = unseal(opener.terminal_key, bytes.fromhex(sealed[terminal_id]))
        revoked = frozenset(bytes.fromhex(item) for item in payload["revoked_card_tags"])
    except (CryptoError, ValueError, TypeError) as error:
        raise SnapshotError(f"roll snapshot key for terminal {terminal_id}: {error}") from error
    tags = frozenset(
        table[offset : offset + TAG_BYTES] for offset in range(0, len(table), TAG_BYTES)
    )
    if len(tags) != count:
        raise SnapshotError("roll snapshot table repeats a tag")
    return RollSnapshot(
        snapshot_id=str(payload["snapshot_id"]),
        election_id=opener.election_id,
        station_id=opener.station_id,
        ballot_style_id=str(payload["ballot_style_id"]),
        as_of=as_of,
        voter_count=count,
        tag_key=tag_key,
        voter_tags=tags,
        revoked_card_tags=revoked,
    )
