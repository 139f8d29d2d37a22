"""The CCID driver against the simulated reader and national ID card over a real pty."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from crypto.signing import SigningKey
from firmware_sim.reader import ReaderSimulator
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.errors import (
    CardError,
    CardRemoved,
    DeviceError,
    DeviceTimeout,
    NoCard,
    PinBlocked,
    WrongPin,
)


def _verify_commands(simulator: ReaderSimulator) -> int:
    return sum(1 for message in simulator.received_messages if message[10:12] == b"\x00\x20")


def _ready(reader: SerialCardReader, simulator: ReaderSimulator, card: Path) -> None:
    simulator.insert(card)
    assert reader.wait_for_event(2.0) == "inserted"
    reader.power_on()


def test_reads_holder_verifies_pin_and_signs_the_challenge(
    reader: SerialCardReader,
    reader_sim: ReaderSimulator,
    card_files: dict[str, Path],
    registry: SigningKey,
) -> None:
    _ready(reader, reader_sim, card_files["voter"])
    holder = reader.read_holder()
    payload = holder.certificate.verify("card-certificate", registry.public_key)
    assert (holder.national_code, holder.name_fa, holder.birth_date) == (
        "0012345679",
        "علی رضایی",
        "1370-05-12",
    )
    assert holder.role == "voter" and holder.station_id is None
    assert payload["card_public_key"] == holder.card_public_key.hex()
    assert reader.pin_tries_left() == 3
    reader.verify_pin("1234")
    challenge = os.urandom(32)
    holder.card_public_key.verify_bytes(challenge, reader.authenticate(challenge))


def test_official_card_carries_its_role_and_station(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    _ready(reader, reader_sim, card_files["official"])
    holder = reader.read_holder()
    assert (holder.role, holder.station_id, holder.name_en) == (
        "official",
        "ST-0001",
        "Maryam Ahmadi",
    )


def test_wrong_pin_reports_tries_left_and_is_sent_exactly_once(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    _ready(reader, reader_sim, card_files["voter"])
    before = _verify_commands(reader_sim)
    with pytest.raises(WrongPin) as wrong:
        reader.verify_pin("9999")
    assert wrong.value.tries_left == 2 and wrong.value.code == "wrong_pin"
    assert _verify_commands(reader_sim) == before + 1
    assert reader.pin_tries_left() == 2
    reader.verify_pin("1234")
    assert reader.pin_tries_left() == 3


def test_pin_blocks_after_three_wrong_tries_and_stays_blocked_across_restart(
    reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    with SerialCardReader(reader_sim.path, timeout_s=0.5) as reader:
        _ready(reader, reader_sim, card_files["voter"])
        for tries_left in (2, 1):
            with pytest.raises(WrongPin) as wrong:
                reader.verify_pin("0000")
            assert wrong.value.tries_left == tries_left
        with pytest.raises(PinBlocked):
            reader.verify_pin("0000")
    reader_sim.stop()
    restarted = ReaderSimulator()
    path = restarted.start()
    try:
        with SerialCardReader(path, timeout_s=0.5) as reader:
            _ready(reader, restarted, card_files["voter"])
            assert reader.pin_tries_left() == 0
            with pytest.raises(PinBlocked) as blocked:
                reader.verify_pin("1234")
            assert blocked.value.code == "pin_blocked"
    finally:
        restarted.stop()


def test_authenticate_needs_the_pin_first(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    _ready(reader, reader_sim, card_files["voter"])
    reader.read_holder()
    with pytest.raises(CardError) as refused:
        reader.authenticate(os.urandom(32))
    assert refused.value.status_word == 0x6982


def test_card_pulled_mid_apdu_raises_card_removed_then_session_restarts(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    _ready(reader, reader_sim, card_files["voter"])
    reader_sim.inject_fault("remove-during-apdu")
    with pytest.raises(CardRemoved) as removed:
        reader.read_holder()
    assert removed.value.code == "card_removed"
    assert reader.wait_for_event(1.0) == "removed"
    assert not reader.card_present()
    with pytest.raises(NoCard):
        reader.power_on()
    _ready(reader, reader_sim, card_files["voter"])
    assert reader.read_holder().national_code == "0012345679"


def test_insert_and_remove_are_notified(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    assert reader.wait_for_event(0.1) is None
    reader_sim.insert(card_files["voter"])
    assert reader.wait_for_event(1.0) == "inserted"
    assert reader.card_present()
    reader_sim.remove()
    assert reader.wait_for_event(1.0) == "removed"


def test_a_mute_reader_times_out_in_bounded_time(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    _ready(reader, reader_sim, card_files["voter"])
    reader_sim.inject_fault("mute")
    started = time.monotonic()
    with pytest.raises(DeviceTimeout):
        reader.read_holder()
    assert time.monotonic() - started < 5


def test_line_noise_gives_the_right_answer_or_a_clear_error(
    reader: SerialCardReader, reader_sim: ReaderSimulator, card_files: dict[str, Path]
) -> None:
    """1 % of bytes corrupted both ways: XOR LRC misses some, the end-to-end checks do not."""
    _ready(reader, reader_sim, card_files["voter"])
    reader.verify_pin("1234")
    reader_sim.inject_fault("corrupt", rate=0.01, seed=1)
    reader_sim.inject_fault("drop", rate=0.0005)
    completed = failed = 0
    for _ in range(5):
        challenge = os.urandom(32)
        started = time.monotonic()
        try:
            holder = reader.read_holder()
            assert holder.national_code == "0012345679" and holder.name_fa == "علی رضایی"
            signature = reader.authenticate(challenge)
            holder.card_public_key.verify_bytes(challenge, signature)
            completed += 1
        except DeviceError:
            failed += 1
        # Bounded, not fast: each read ends within its retries' deadlines, never hangs.
        assert time.monotonic() - started < 20
    assert completed + failed == 5 and completed >= 1
