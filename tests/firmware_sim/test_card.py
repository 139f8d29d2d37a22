"""The simulated national ID card's APDUs and status words (ISO 7816-4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from firmware_sim.card import APPLICATION_AID, SimulatedCard

SELECT_APP = bytes([0, 0xA4, 4, 0, len(APPLICATION_AID)]) + APPLICATION_AID
SELECT_HOLDER = bytes([0, 0xA4, 2, 0x0C, 2, 1, 1])


def _pin(pin: bytes) -> bytes:
    return bytes([0, 0x20, 0, 0x81, 8]) + pin.ljust(8, b"\xff")


@pytest.mark.parametrize(
    ("apdu", "status"),
    [
        (bytes([0x80, 0xB0, 0, 0, 1]), b"\x6e\x00"),
        (bytes([0, 0x42, 0, 0]), b"\x6d\x00"),
        (bytes([0, 0xA4]), b"\x67\x00"),
        (bytes([0, 0xA4, 4, 0, 3]) + b"abc", b"\x6a\x82"),
        (bytes([0, 0xB0, 0, 0, 4]), b"\x69\x86"),
        (bytes([0, 0x20, 0, 0x81, 3]) + b"123", b"\x67\x00"),
        (bytes([0, 0x84, 0, 0, 4]), b"\x67\x00"),
    ],
)
def test_bad_commands_get_their_status_words(
    card: SimulatedCard, apdu: bytes, status: bytes
) -> None:
    assert card.process(apdu) == status


def test_read_binary_reports_end_of_file_and_offset_beyond(card: SimulatedCard) -> None:
    assert card.process(SELECT_APP) == b"\x90\x00"
    assert card.process(SELECT_HOLDER) == b"\x90\x00"
    header = card.process(bytes([0, 0xB0, 0, 0, 4]))
    assert header[:2] == b"\x70\x82" and header[-2:] == b"\x90\x00"
    size = 4 + int.from_bytes(header[2:4], "big")
    tail = card.process(bytes([0, 0xB0, (size - 2) >> 8, (size - 2) & 0xFF, 10]))
    assert len(tail) == 4 and tail[-2:] == b"\x62\x82"
    assert card.process(bytes([0, 0xB0, (size + 1) >> 8, (size + 1) & 0xFF, 1])) == b"\x6b\x00"


def test_get_challenge_gives_eight_fresh_bytes(card: SimulatedCard) -> None:
    first, second = card.process(b"\x00\x84\x00\x00\x08"), card.process(b"\x00\x84\x00\x00\x08")
    assert len(first) == 10 and first[-2:] == b"\x90\x00" and first != second


def test_internal_authenticate_over_t0_uses_get_response(
    card: SimulatedCard, card_image: dict[str, object]
) -> None:
    challenge = bytes(range(32))
    assert card.process(b"\x00\x88\x00\x00\x20" + challenge) == b"\x69\x82"
    assert card.process(_pin(b"1234")) == b"\x90\x00"
    assert card.process(b"\x00\x88\x00\x00\x20" + challenge) == b"\x61\x40"
    response = card.process(b"\x00\xc0\x00\x00\x40")
    assert response[-2:] == b"\x90\x00"
    certificate = SignedEnvelope.from_json(card_image["certificate"])
    VerifyKey.from_hex(certificate.payload["card_public_key"]).verify_bytes(
        challenge, response[:-2]
    )


def test_pin_counter_is_written_to_the_card_file_and_resets_on_success(
    card: SimulatedCard, card_file: Path
) -> None:
    assert card.process(bytes([0, 0x20, 0, 0x81])) == b"\x63\xc3"
    assert card.process(_pin(b"0000")) == b"\x63\xc2"
    assert json.loads(card_file.read_text())["pin_tries_left"] == 2
    assert SimulatedCard.load(card_file).pin_tries_left == 2
    assert card.process(_pin(b"1234")) == b"\x90\x00"
    assert json.loads(card_file.read_text())["pin_tries_left"] == 3


def test_three_wrong_pins_block_the_card_even_for_the_right_pin(card: SimulatedCard) -> None:
    assert [card.process(_pin(b"0000")) for _ in range(3)] == [
        b"\x63\xc2",
        b"\x63\xc1",
        b"\x69\x83",
    ]
    assert card.process(_pin(b"1234")) == b"\x69\x83"
    assert card.process(bytes([0, 0x20, 0, 0x81])) == b"\x69\x83"


def test_power_cycle_forgets_the_verified_pin(card: SimulatedCard) -> None:
    card.process(_pin(b"1234"))
    card.reset()
    assert card.process(b"\x00\x88\x00\x00\x01\x01\x00") == b"\x69\x82"


def test_certificate_is_signed_by_the_registry(
    card_image: dict[str, object], registry: SigningKey
) -> None:
    payload = SignedEnvelope.from_json(card_image["certificate"]).verify(
        "card-certificate", registry.public_key
    )
    assert payload["role"] == "voter" and payload["station_id"] is None
