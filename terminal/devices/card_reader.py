"""The ``CardReader`` interface and its driver for a serial CCID reader (GemPC Twin class).

The driver talks ISO 7816-4 to the national ID card through ``CcidLink``. It
never retries a VERIFY on its own, surfaces a pulled card as ``CardRemoved``
and checks what the card returns (certificate signature, authentication
signature) so a garbled line cannot produce a wrong answer.
"""

from __future__ import annotations

from typing import Protocol

import serial

from crypto.errors import InvalidSignature
from terminal.devices.ccid_link import CcidLink, Reply
from terminal.devices.errors import (
    CardDataError,
    CardError,
    CardRemoved,
    CommunicationError,
    NoCard,
    PinBlocked,
    WrongPin,
)
from terminal.devices.holder import (
    MAX_HOLDER_FILE_BYTES,
    CardHolder,
    holder_total_length,
    parse_holder,
)

APPLICATION_AID = b"\xf0EVOTEID"
HOLDER_FILE_ID = b"\x01\x01"
PIN_REFERENCE = 0x81
# Short reads keep each frame small, so a noisy line rarely garbles one.
READ_CHUNK = 0x40
ICC_ABSENT = 0x02
ERROR_ICC_MUTE = 0xFE


class CardReader(Protocol):
    """What the terminal needs from a card reader."""

    def wait_for_event(self, timeout_s: float) -> str | None: ...
    def card_present(self) -> bool: ...
    def power_on(self) -> bytes: ...
    def power_off(self) -> None: ...
    def read_holder(self) -> CardHolder: ...
    def pin_tries_left(self) -> int: ...
    def verify_pin(self, pin: str) -> None: ...
    def authenticate(self, challenge: bytes) -> bytes: ...
    def close(self) -> None: ...


def _status_word(response: bytes) -> int:
    if len(response) < 2:
        raise CommunicationError("card response shorter than a status word")
    return int.from_bytes(response[-2:], "big")


class SerialCardReader:
    """``CardReader`` over any pyserial URL: ``/dev/ttyS0``, a pty, ``loop://``."""

    def __init__(self, url: str, *, timeout_s: float = 2.0) -> None:
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0.05)
        self.port.reset_input_buffer()
        self.link = CcidLink(self.port, timeout_s=timeout_s)
        self._holder: CardHolder | None = None

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> SerialCardReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def wait_for_event(self, timeout_s: float) -> str | None:
        """Wait for ``"inserted"`` or ``"removed"`` (NotifySlotChange); None on timeout."""
        if not self.link.events:
            self.link.poll_events(timeout_s)
        return self.link.events.popleft() if self.link.events else None

    def card_present(self) -> bool:
        return self.link.transact(0x65).icc_status != ICC_ABSENT

    def _check_card(self, reply: Reply) -> Reply:
        if reply.failed and reply.error == ERROR_ICC_MUTE:
            self._holder = None
            if reply.icc_status == ICC_ABSENT:
                raise CardRemoved("the card was removed")
            raise NoCard("the card is not powered")
        if reply.failed:
            raise CommunicationError(f"reader command failed (bError {reply.error:#04x})")
        return reply

    def power_on(self) -> bytes:
        """Power the card and return its ATR; the session restarts from SELECT."""
        self._holder = None
        reply = self.link.transact(0x62, parameters=b"\x00\x00\x00")
        if reply.failed and reply.icc_status == ICC_ABSENT:
            raise NoCard("no card in the reader")
        return self._check_card(reply).data

    def power_off(self) -> None:
        self._holder = None
        self.link.transact(0x63)

    def transmit(self, apdu: bytes, *, idempotent: bool = True) -> bytes:
        """Send one APDU; return response data + SW. ``CardRemoved`` if the card is gone."""
        return self._check_card(self.link.transact(0x6F, apdu, idempotent=idempotent)).data

    def _expect_ok(self, apdu: bytes, what: str) -> bytes:
        response = self.transmit(apdu)
        status = _status_word(response)
        if status != 0x9000:
            raise CardError(f"{what} refused", status)
        return response[:-2]

    def _select_holder(self) -> None:
        self._expect_ok(
            b"\x00\xa4\x04\x00" + bytes([len(APPLICATION_AID)]) + APPLICATION_AID,
            "SELECT application",
        )
        self._expect_ok(b"\x00\xa4\x02\x0c\x02" + HOLDER_FILE_ID, "SELECT holder file")

    def _read_binary(self, offset: int, length: int) -> bytes:
        response = self.transmit(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, length]))
        status = _status_word(response)
        if status not in (0x9000, 0x6282):
            raise CardError("READ BINARY refused", status)
        return response[:-2]

    def read_holder(self) -> CardHolder:
        """SELECT the application and EF 0101, read it whole, parse and cross-check it."""
        self._select_holder()
        data = self._read_binary(0, 4)
        total = holder_total_length(data)
        if total > MAX_HOLDER_FILE_BYTES:
            raise CardDataError(f"holder file of {total} bytes is implausibly large")
        while len(data) < total:
            chunk = self._read_binary(len(data), min(READ_CHUNK, total - len(data)))
            if not chunk:
                raise CardDataError("holder file ended early")
            data += chunk
        self._holder = parse_holder(data[:total])
        return self._holder

    def pin_tries_left(self) -> int:
        """Ask the card for its counter without spending a try (VERIFY with no data)."""
        status = _status_word(self.transmit(bytes([0x00, 0x20, 0x00, PIN_REFERENCE])))
        if status == 0x6983:
            return 0
        if status & 0xFFF0 == 0x63C0:
            return status & 0x0F
        if status == 0x9000:
            return 3
        raise CardError("PIN counter query refused", status)

    def verify_pin(self, pin: str) -> None:
        """Present the PIN once. Raises WrongPin(tries_left) or PinBlocked; never retries."""
        if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("a PIN is 4 to 8 ASCII digits")
        block = pin.encode("ascii").ljust(8, b"\xff")
        command = bytes([0x00, 0x20, 0x00, PIN_REFERENCE, 8]) + block
        status = _status_word(self.transmit(command, idempotent=False))
        if status == 0x9000:
            return
        if status == 0x6983:
            raise PinBlocked("the card's PIN is blocked")
        if status & 0xFFF0 == 0x63C0:
            tries_left = status & 0x0F
            if tries_left == 0:
                raise PinBlocked("the card's PIN is blocked")
            raise WrongPin(tries_left)
        raise CardError("VERIFY refused", status)

    def authenticate(self, challenge: bytes) -> bytes:
        """INTERNAL AUTHENTICATE: the card's Ed25519 signature over exactly ``challenge``.

        Checked against the card key in the certificate when the holder file was read,
        so a signature garbled on the line is reported, not passed on.
        """
        if not 1 <= len(challenge) <= 255:
            raise ValueError("a challenge is 1 to 255 bytes")
        apdu = bytes([0x00, 0x88, 0x00, 0x00, len(challenge)]) + challenge + b"\x00"
        response = self.transmit(apdu)
        status = _status_word(response)
        if status == 0x6982:
            raise CardError("INTERNAL AUTHENTICATE needs the PIN first", status)
        if status != 0x9000 or len(response) != 66:
            raise CardError("INTERNAL AUTHENTICATE refused", status)
        signature = response[:-2]
        if self._holder is not None:
            try:
                self._holder.card_public_key.verify_bytes(challenge, signature)
            except InvalidSignature as error:
                raise CommunicationError("card signature garbled on the line") from error
        return signature
