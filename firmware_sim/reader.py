"""A GemPC Twin-class CCID reader on a serial line, holding at most one simulated card.

It speaks the serial CCID framing of LudovicRousseau/CCID ``ccid_serial.c``
(SYNC, ACK/NAK, CCID message, XOR LRC; every host frame echoed back) so that both
evote's driver and pcscd's ``libccidtwin`` driver can use it. See docs/protocols.md.
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path

from firmware_sim.card import ATR, SimulatedCard
from firmware_sim.pty_device import PtyDevice

SYNC = 0x03
ACK = 0x06
NAK = 0x15
NAK_FRAME = bytes([SYNC, NAK, SYNC ^ NAK])
HEADER_LENGTH = 10
MAX_MESSAGE_LENGTH = 271
SERIAL_BYTES_PER_S = 11520.0
FIRMWARE = b"GemTwin V1.00 evote-sim"
# A partial frame older than this is noise: drop it so the next SYNC is heard.
FRAME_IDLE_TIMEOUT_S = 0.05

ICC_ACTIVE, ICC_INACTIVE, ICC_ABSENT = 0x00, 0x01, 0x02
COMMAND_FAILED = 0x40
ERROR_ICC_MUTE = 0xFE
ERROR_NOT_SUPPORTED = 0x00
NOTIFY_INSERTED = bytes([0x50, 0x03])
NOTIFY_REMOVED = bytes([0x50, 0x02])
DEFAULT_T0_PARAMETERS = bytes([0x11, 0x00, 0x00, 0x0A, 0x00])


def lrc(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def frame(message: bytes) -> bytes:
    """Wrap a CCID message as SYNC ACK message LRC."""
    body = bytes([SYNC, ACK]) + message
    return body + bytes([lrc(body)])


def ccid_message(
    message_type: int, slot_seq: bytes, status: tuple[int, int, int], data: bytes
) -> bytes:
    return bytes([message_type]) + len(data).to_bytes(4, "little") + slot_seq + bytes(status) + data


class ReaderSimulator(PtyDevice):
    """The reader: ``start()`` gives the path; ``insert``/``remove``/``inject_fault`` drive it."""

    def __init__(self, *, line_bytes_per_s: float | None = SERIAL_BYTES_PER_S) -> None:
        super().__init__(line_bytes_per_s=line_bytes_per_s)
        self.card: SimulatedCard | None = None
        self._powered = False
        self._buffer = bytearray()
        self._last_byte_at = 0.0
        self._last_response = b""
        self._synchronous_notifications = False
        self._pending_notification = b""
        self._remove_during_next_apdu = False
        # The last commands received, for tests and for looking at what a host sent.
        self.received_messages: deque[bytes] = deque(maxlen=1000)

    def insert(self, card: SimulatedCard | str | os.PathLike[str]) -> SimulatedCard:
        """Insert a card (object or card file path); the host gets NotifySlotChange."""
        inserted = card if isinstance(card, SimulatedCard) else SimulatedCard.load(Path(card))
        with self.lock:
            self.card = inserted
            self._powered = False
            inserted.reset()
            self._notify(NOTIFY_INSERTED)
        return inserted

    def remove(self) -> None:
        """Pull the card out; the host gets NotifySlotChange."""
        with self.lock:
            if self.card is None:
                return
            self.card.reset()
            self.card = None
            self._powered = False
            self._notify(NOTIFY_REMOVED)

    def inject_fault(self, fault: str, *, rate: float = 0.0, seed: int | None = None) -> None:
        """Inject a fault: ``corrupt``/``drop`` (``rate`` per byte), ``mute``,
        ``remove-during-apdu`` (the next APDU finds the card pulled) or ``clear``."""
        with self.lock:
            if seed is not None:
                self.faults.rng.seed(seed)
            if fault == "corrupt":
                self.faults.corrupt_rate = rate
            elif fault == "drop":
                self.faults.drop_rate = rate
            elif fault == "mute":
                self.faults.mute = True
            elif fault == "remove-during-apdu":
                self._remove_during_next_apdu = True
            elif fault == "clear":
                self.faults.corrupt_rate = self.faults.drop_rate = 0.0
                self.faults.mute = False
                self._remove_during_next_apdu = False
            else:
                raise ValueError(f"unknown reader fault {fault!r}")

    def _notify(self, event: bytes) -> None:
        if self._synchronous_notifications:
            self._pending_notification = event
        else:
            self.write(event)

    def _icc_status(self) -> int:
        if self.card is None:
            return ICC_ABSENT
        return ICC_ACTIVE if self._powered else ICC_INACTIVE

    def on_idle(self) -> None:
        if self._buffer and time.monotonic() - self._last_byte_at > FRAME_IDLE_TIMEOUT_S:
            self._buffer.clear()

    def on_bytes(self, data: bytes) -> None:
        self._last_byte_at = time.monotonic()
        self._buffer.extend(data)
        while self._buffer:
            consumed = self._parse_one()
            if consumed == 0:
                return
            del self._buffer[:consumed]

    def _parse_one(self) -> int:
        """Handle the frame at the start of the buffer; return bytes consumed (0: need more)."""
        buffer = self._buffer
        if buffer[0] != SYNC:
            return 1
        if len(buffer) < 2:
            return 0
        if buffer[1] == NAK:
            if len(buffer) < 3:
                return 0
            if buffer[2] == SYNC ^ NAK and self._last_response:
                self.write(self._last_response)
            return 3 if buffer[2] == SYNC ^ NAK else 1
        if buffer[1] != ACK:
            return 1
        if len(buffer) < 2 + HEADER_LENGTH:
            return 0
        length = int.from_bytes(buffer[3:7], "little")
        if length > MAX_MESSAGE_LENGTH - HEADER_LENGTH:
            self.write(NAK_FRAME)
            return 1
        total = 2 + HEADER_LENGTH + length + 1
        if len(buffer) < total:
            return 0
        received = bytes(buffer[:total])
        if lrc(received) != 0:
            self.write(NAK_FRAME)
            return total
        self.write(received)
        self._handle(received[2:-1])
        return total

    def _handle(self, message: bytes) -> None:
        self.received_messages.append(message)
        message_type, slot_seq, data = message[0], message[5:7], message[HEADER_LENGTH:]
        reply_type, status, error, third, reply_data = self._execute(message_type, message, data)
        reply = frame(
            ccid_message(
                reply_type, slot_seq, (status | self._icc_status(), error, third), reply_data
            )
        )
        self._last_response = reply
        if self._pending_notification:
            self.write(self._pending_notification)
            self._pending_notification = b""
        self.write(reply)

    def _execute(
        self, message_type: int, message: bytes, data: bytes
    ) -> tuple[int, int, int, int, bytes]:
        """Run one host command: (reply type, status flags, bError, third byte, data)."""
        card = self.card
        if message_type == 0x62:
            if card is None:
                return 0x80, COMMAND_FAILED, ERROR_ICC_MUTE, 0, b""
            card.reset()
            self._powered = True
            return 0x80, 0, 0, 0, ATR
        if message_type == 0x63:
            if card is not None:
                card.reset()
            self._powered = False
            return 0x81, 0, 0, 0, b""
        if message_type == 0x65:
            return 0x81, 0, 0, 0, b""
        if message_type == 0x6F:
            return self._transfer(data)
        if message_type == 0x6B:
            return self._escape(data)
        if message_type in (0x61, 0x6C, 0x6D):
            parameters = data if message_type == 0x61 and data else DEFAULT_T0_PARAMETERS
            protocol = message[7] if message_type == 0x61 else 0
            return 0x82, 0, 0, protocol, parameters
        if message_type == 0x73:
            return 0x84, 0, 0, 0, data
        return 0x81, COMMAND_FAILED, ERROR_NOT_SUPPORTED, 0, b""

    def _transfer(self, apdu: bytes) -> tuple[int, int, int, int, bytes]:
        if self._remove_during_next_apdu and self.card is not None:
            self._remove_during_next_apdu = False
            self.card.reset()
            self.card = None
            self._powered = False
            self.write(NOTIFY_REMOVED)
        if self.card is None or not self._powered:
            return 0x80, COMMAND_FAILED, ERROR_ICC_MUTE, 0, b""
        return 0x80, 0, 0, 0, self.card.process(apdu)

    def _escape(self, data: bytes) -> tuple[int, int, int, int, bytes]:
        """Gemalto escape commands the serial driver sends at start-up."""
        if data == b"\x02":
            return 0x83, 0, 0, 0, FIRMWARE
        if data == b"\x01\x01\x01":
            self._synchronous_notifications = True
            return 0x83, 0, 0, 0, b""
        if data == b"\x01\x01\x00":
            self._synchronous_notifications = False
            return 0x83, 0, 0, 0, b""
        return 0x83, COMMAND_FAILED, ERROR_NOT_SUPPORTED, 0, b""
