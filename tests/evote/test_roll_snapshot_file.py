"""The roll snapshot file: what it lists, and every way a wrong one is refused."""

from __future__ import annotations

import pytest

from crypto.canonical import canonical_json, parse_json
from crypto.signing import SigningKey
from evote.roll_snapshot import (
    MAGIC,
    TAG_BYTES,
    RollSnapshot,
    SnapshotError,
    SnapshotOpener,
    build_snapshot,
    load_snapshot,
    table_digest,
)

REGISTRY = SigningKey.generate()
TERMINALS = {"T1": SigningKey.generate(), "T2": SigningKey.generate()}
VOTERS = [("0012345679", "1370-05-12"), ("1234567891", "1360-01-30"), ("0499370899", "1385-11-02")]


def snapshot_file(**overrides: object) -> bytes:
    arguments: dict[str, object] = {
        "election_id": "E-1404",
        "station_id": "S-101",
        "ballot_style_id": "tehran-1",
        "as_of": 1_900_000_000,
        "voters": VOTERS,
        "revoked_card_ids": ["card-lost"],
        "terminal_keys": {name: key.public_key for name, key in TERMINALS.items()},
    }
    arguments.update(overrides)
    return build_snapshot(REGISTRY, **arguments)  # type: ignore[arg-type]


def load(data: bytes, terminal: str = "T1", **overrides: object) -> RollSnapshot:
    arguments: dict[str, object] = {
        "registry_key": REGISTRY.public_key,
        "election_id": "E-1404",
        "station_id": "S-101",
        "terminal_id": terminal,
        "terminal_key": TERMINALS.get(terminal, SigningKey.generate()),
    }
    arguments.update(overrides)
    return load_snapshot(data, SnapshotOpener(**arguments))  # type: ignore[arg-type]


def header_and_table(data: bytes) -> tuple[dict[str, object], bytes]:
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "big")
    start = len(MAGIC) + 4
    header = parse_json(data[start : start + length])
    assert isinstance(header, dict)
    return header, data[start + length :]


def rebuilt(header: dict[str, object], table: bytes) -> bytes:
    encoded = canonical_json(header)  # type: ignore[arg-type]
    return MAGIC + len(encoded).to_bytes(4, "big") + encoded + table


def test_a_listed_voter_is_found_by_code_and_birth_date_and_nobody_else_is() -> None:
    data = snapshot_file()
    for terminal in TERMINALS:
        snapshot = load(data, terminal)
        assert snapshot.voter_count == len(VOTERS)
        for code, birth in VOTERS:
            assert snapshot.lists(snapshot.voter_tag(code, birth))
        assert not snapshot.lists(snapshot.voter_tag("0012345679", "1370-05-13"))
        assert not snapshot.lists(snapshot.voter_tag("0000000000", "1370-05-12"))
        assert snapshot.card_revoked("card-lost")
        assert not snapshot.card_revoked("card-kept")


def test_the_file_without_the_terminals_key_holds_no_national_code_nor_a_fixed_tag() -> None:
    first, second = snapshot_file(), snapshot_file()
    for code, birth in VOTERS:
        assert code.encode() not in first and birth.encode() not in first
    tags_first = set(header_and_table(first)[1][i : i + TAG_BYTES] for i in range(0, 48, 16))
    tags_second = set(header_and_table(second)[1][i : i + TAG_BYTES] for i in range(0, 48, 16))
    assert len(tags_first) == 3 and not tags_first & tags_second


def test_a_changed_table_byte_is_refused() -> None:
    data = bytearray(snapshot_file())
    data[-1] ^= 0x01
    with pytest.raises(SnapshotError, match="digest"):
        load(bytes(data))


def test_a_voter_added_to_the_table_with_its_digest_is_refused_by_the_signature() -> None:
    header, table = header_and_table(snapshot_file())
    payload = header["payload"]
    assert isinstance(payload, dict)
    table = b"".join(sorted([*[table[i : i + 16] for i in range(0, len(table), 16)], b"\1" * 16]))
    payload.update(voter_count=4, table_digest=table_digest(table).hex())
    with pytest.raises(SnapshotError, match="signature"):
        load(rebuilt(header, table))


def test_a_snapshot_signed_by_another_key_is_refused() -> None:
    with pytest.raises(SnapshotError, match="signature"):
        load(snapshot_file(), registry_key=SigningKey.generate().public_key)


def test_another_election_or_station_is_refused_with_its_own_code() -> None:
    data = snapshot_file()
    with pytest.raises(SnapshotError) as election:
        load(data, election_id="E-other")
    assert election.value.code == "roll_snapshot_wrong_election"
    with pytest.raises(SnapshotError) as station:
        load(data, station_id="S-102")
    assert station.value.code == "roll_snapshot_wrong_station"


def test_a_terminal_the_key_was_not_sealed_to_cannot_open_it() -> None:
    data = snapshot_file()
    with pytest.raises(SnapshotError) as unnamed:
        load(data, "T3")
    assert unnamed.value.code == "roll_snapshot_not_for_terminal"
    with pytest.raises(SnapshotError, match="T1"):
        load(data, "T1", terminal_key=TERMINALS["T2"])


@pytest.mark.parametrize("cut", [0, 5, len(MAGIC) + 2, len(MAGIC) + 40])
def test_a_truncated_or_foreign_file_is_refused(cut: int) -> None:
    with pytest.raises(SnapshotError):
        load(snapshot_file()[:cut])
    with pytest.raises(SnapshotError):
        load(b"PK\x03\x04" + snapshot_file()[4:])
