"""Offline check-in at the terminal: card and PIN over a real pty, the roll snapshot,
no server. Each refusal is tried with the card that comes closest to passing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from crypto.signing import SigningKey
from evote.roll_snapshot import RollSnapshot, SnapshotOpener, build_snapshot, load_snapshot
from firmware_sim.cards import RollRow, issue_cards
from firmware_sim.reader import ReaderSimulator
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.errors import DeviceError
from terminal.devices.holder import CardHolder
from terminal.errors import ConfigurationError
from terminal.offline_roll import OfflineRefused, check_card_offline, load_station_snapshot

REGISTRY = SigningKey.generate()
TERMINAL = SigningKey.generate()
OPENER = SnapshotOpener(REGISTRY.public_key, "E-1404", "S-101", "T1", TERMINAL)
LISTED = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")
UNLISTED = RollRow("0499370899", "سارا نوری", "Sara Nouri", "1385-11-02", "voter", None, "1234")
SAME_CODE_OTHER_BIRTH = RollRow(
    "0012345679", "علی رضایی", "Ali Rezaei", "1370-05-13", "voter", None, "1234"
)
OFFICIAL = RollRow(
    "1234567891", "مریم احمدی", "Maryam Ahmadi", "1360-01-30", "official", "S-101", "87654321"
)


def snapshot_bytes(revoked: list[str]) -> bytes:
    return build_snapshot(
        REGISTRY,
        election_id="E-1404",
        station_id="S-101",
        ballot_style_id="tehran-1",
        as_of=1_900_000_000,
        voters=[(LISTED.national_code, LISTED.birth_date), ("1234567891", "1360-01-30")],
        revoked_card_ids=revoked,
        terminal_keys={"T1": TERMINAL.public_key},
    )


def opened(data: bytes) -> RollSnapshot:
    return load_snapshot(data, OPENER)


@pytest.fixture
def reader() -> Iterator[tuple[ReaderSimulator, SerialCardReader]]:
    simulator = ReaderSimulator()
    simulator.start()
    driver = SerialCardReader(simulator.path, timeout_s=0.5)
    yield simulator, driver
    driver.close()
    simulator.stop()


def card_session(
    reader: tuple[ReaderSimulator, SerialCardReader], card: Path, pin: str, challenge: bytes
) -> tuple[CardHolder, bytes]:
    simulator, driver = reader
    simulator.insert(card)
    driver.wait_for_event(2.0)
    driver.power_on()
    holder = driver.read_holder()
    driver.verify_pin(pin)
    return holder, driver.authenticate(challenge)


def test_a_listed_voter_checks_in_with_card_and_pin_and_gets_the_snapshot_tag(
    reader: tuple[ReaderSimulator, SerialCardReader], tmp_path: Path
) -> None:
    (card,) = issue_cards(REGISTRY, [LISTED], tmp_path)
    snapshot = opened(snapshot_bytes([]))
    challenge = os.urandom(32)
    holder, signature = card_session(reader, card, "1234", challenge)
    tag = check_card_offline(snapshot, REGISTRY.public_key, holder, challenge, signature)
    assert tag == snapshot.voter_tag(LISTED.national_code, LISTED.birth_date)


def test_without_the_right_pin_the_card_gives_no_answer_to_check(
    reader: tuple[ReaderSimulator, SerialCardReader], tmp_path: Path
) -> None:
    (card,) = issue_cards(REGISTRY, [LISTED], tmp_path)
    with pytest.raises(DeviceError):
        card_session(reader, card, "9999", os.urandom(32))
    _, driver = reader
    with pytest.raises(DeviceError):
        driver.authenticate(os.urandom(32))


@pytest.mark.parametrize(
    ("row", "registry", "revoke", "answer_other_challenge", "code"),
    [
        (LISTED, SigningKey.generate(), False, False, "card_not_genuine"),
        (LISTED, REGISTRY, True, False, "card_revoked"),
        (LISTED, REGISTRY, False, True, "card_signature_invalid"),
        (OFFICIAL, REGISTRY, False, False, "not_a_voter_card"),
        (UNLISTED, REGISTRY, False, False, "not_in_roll_snapshot"),
        (SAME_CODE_OTHER_BIRTH, REGISTRY, False, False, "not_in_roll_snapshot"),
    ],
)
def test_each_offline_refusal_has_the_inquirys_code(
    reader: tuple[ReaderSimulator, SerialCardReader],
    tmp_path: Path,
    row: RollRow,
    registry: SigningKey,
    revoke: bool,
    answer_other_challenge: bool,
    code: str,
) -> None:
    (card,) = issue_cards(registry, [row], tmp_path)
    snapshot = opened(snapshot_bytes([card.stem] if revoke else []))
    challenge = os.urandom(32)
    asked = os.urandom(32) if answer_other_challenge else challenge
    holder, signature = card_session(reader, card, row.pin, asked)
    assert revoke == snapshot.card_revoked(holder.card_id)
    with pytest.raises(OfflineRefused) as refused:
        check_card_offline(snapshot, REGISTRY.public_key, holder, challenge, signature)
    assert refused.value.code == code


def test_a_snapshot_file_that_is_missing_or_altered_stops_the_terminal_with_the_reason(
    tmp_path: Path,
) -> None:
    path = tmp_path / "S-101.snapshot"
    with pytest.raises(ConfigurationError, match="S-101.snapshot"):
        load_station_snapshot(path, OPENER)
    path.write_bytes(snapshot_bytes([]))
    assert load_station_snapshot(path, OPENER).voter_count == 2
    with pytest.raises(ConfigurationError) as wrong:
        load_station_snapshot(path, replace(OPENER, station_id="S-102"))
    assert wrong.value.code == "roll_snapshot_wrong_station"
