"""Random bytes into every host-side parser: no crash, no hang, and no frame that was not sent."""

from __future__ import annotations

import contextlib
import time

import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.signing import SignedEnvelope, SigningKey
from firmware_sim.cards import RollRow, holder_file, issue_card
from terminal.devices.ccid_link import CcidLink
from terminal.devices.errors import CardDataError, DeviceError
from terminal.devices.holder import parse_holder
from terminal.devices.scanner import SerialScanner

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _framed(message: bytes) -> bytes:
    body = b"\x03\x06" + message
    check = 0
    for byte in body:
        check ^= byte
    return body + bytes([check])


def _frames_from(noise: bytes) -> list[bytes]:
    port = serial.serial_for_url("loop://", timeout=0.01)
    port.write(noise)
    link = CcidLink(port, timeout_s=0.05)
    frames = []
    started = time.monotonic()
    while time.monotonic() - started < 2:
        try:
            frames.append(link._next_frame(time.monotonic() + 0.02))
        except DeviceError:
            break
        except Exception as error:  # the link's private NAK/bad-frame signals
            assert type(error).__name__ in ("_Nak", "_BadFrame")
    port.close()
    return frames


@FUZZ
@given(st.binary(max_size=600))
def test_ccid_link_yields_only_frames_present_in_the_input(noise: bytes) -> None:
    for message in _frames_from(noise):
        assert _framed(message) in noise
        assert len(message) >= 10


def test_ccid_link_resyncs_after_garbage() -> None:
    reply = bytes([0x81, 0, 0, 0, 0, 0, 7, 0, 0, 0])
    assert _frames_from(b"\x00\x03\x15\x99\xff\x50\x07" + _framed(reply)) == [reply]


@FUZZ
@given(st.binary(max_size=400))
def test_scanner_returns_only_whole_printable_lines(noise: bytes) -> None:
    scanner = SerialScanner("loop://", repeat_window_s=0.0)
    scanner.port.write(noise)
    while True:
        try:
            payload = scanner.read(0.02)
        except DeviceError:
            break
        assert payload.encode("utf-8") + b"\r\n" in noise
        assert payload.isprintable()
    scanner.close()


@FUZZ
@given(st.binary(max_size=300))
def test_holder_parser_rejects_random_bytes_with_card_data_error(noise: bytes) -> None:
    with contextlib.suppress(CardDataError):
        parse_holder(noise)


_CARD = issue_card(
    SigningKey.generate(),
    RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234"),
    "card-fuzz",
)
_HOLDER_FILE = holder_file(_CARD["holder"], SignedEnvelope.from_json(_CARD["certificate"]))


@FUZZ
@given(st.integers(0, len(_HOLDER_FILE) - 1), st.integers(1, 255))
def test_a_flipped_byte_in_the_holder_file_never_yields_a_different_identity(
    position: int, flip: int
) -> None:
    damaged = bytearray(_HOLDER_FILE)
    damaged[position] ^= flip
    try:
        holder = parse_holder(bytes(damaged))
    except CardDataError:
        return
    original = parse_holder(_HOLDER_FILE)
    assert (holder.national_code, holder.name_fa, holder.card_public_key) == (
        original.national_code,
        original.name_fa,
        original.card_public_key,
    )
