"""Host side of CCID over a serial line (GemPC Twin framing), with resync and retries.

The reader echoes every host frame, may interleave ``50 0x`` slot-change
notifications and ``>= 0x80`` time-extension bytes, and answers a corrupted
frame with ``03 15 16``. A bad or missing reply is asked for again with a NAK,
which makes the reader resend its last reply without executing the command
again: a VERIFY is never repeated behind the caller's back.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import serial

from terminal.devices.errors import CommunicationError, DeviceTimeout

SYNC, ACK, NAK = 0x03, 0x06, 0x15
NAK_FRAME = bytes([SYNC, NAK, SYNC ^ NAK])
HEADER_LENGTH = 10
MAX_MESSAGE_LENGTH = 271
REPLY_TYPES = frozenset({0x80, 0x81, 0x82, 0x83, 0x84})
NOTIFY_SLOT_CHANGE = 0x50
SLOT_EVENTS = {0x02: "removed", 0x03: "inserted"}
MAX_TRIES = 3


@dataclass(frozen=True)
class Reply:
    """A reader reply: message type, bStatus, bError, third byte, data."""

    message_type: int
    sequence: int
    status: int
    error: int
    third: int
    data: bytes

    @property
    def icc_status(self) -> int:
        return self.status & 0x03

    @property
    def failed(self) -> bool:
        return bool(self.status & 0x40)


class _Nak(Exception):
    """The reader rejected our frame."""


class _BadFrame(Exception):
    """A frame arrived garbled (wrong LRC or impossible length)."""


class CcidLink:
    """Frames CCID messages on a pyserial port and collects slot-change events."""

    def __init__(self, port: serial.SerialBase, *, timeout_s: float = 2.0) -> None:
        self.port = port
        self.timeout_s = timeout_s
        self.events: deque[str] = deque()
        self._sequence = 0
        self._pending = bytearray()

    def _read(self, count: int, deadline: float) -> bytes:
        while len(self._pending) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout("card reader did not answer in time")
            self.port.timeout = min(remaining, 0.05)
            chunk = self.port.read(max(1, self.port.in_waiting))
            self._pending.extend(chunk)
        data = bytes(self._pending[:count])
        del self._pending[:count]
        return data

    def poll_events(self, timeout_s: float) -> None:
        """Read bytes for up to ``timeout_s`` (or until an event), collecting slot events."""
        deadline = time.monotonic() + timeout_s
        while not self.events:
            try:
                self._next_frame(deadline)
            except (DeviceTimeout, _BadFrame, _Nak):
                if time.monotonic() >= deadline:
                    return

    def _next_frame(self, deadline: float) -> bytes:
        """Return the next well-formed CCID message; notifications are queued on the way."""
        while True:
            first = self._read(1, deadline)[0]
            if first == NOTIFY_SLOT_CHANGE:
                state = self._read(1, deadline)[0]
                if state in SLOT_EVENTS:
                    self.events.append(SLOT_EVENTS[state])
                continue
            if first != SYNC:
                continue
            control = self._read(1, deadline)[0]
            if control == NAK:
                if self._read(1, deadline)[0] == SYNC ^ NAK:
                    raise _Nak()
                continue
            if control != ACK:
                self._pending[:0] = bytes([control])
                continue
            header = self._read(HEADER_LENGTH, deadline)
            length = int.from_bytes(header[1:5], "little")
            if length > MAX_MESSAGE_LENGTH - HEADER_LENGTH:
                # An impossible length is garbage; rescan from the byte after SYNC ACK.
                self._pending[:0] = header
                raise _BadFrame()
            rest = self._read(length + 1, deadline)
            message = header + rest[:-1]
            check = SYNC ^ ACK
            for byte in message:
                check ^= byte
            if check != rest[-1]:
                raise _BadFrame()
            return message

    def _send(self, message: bytes) -> None:
        body = bytes([SYNC, ACK]) + message
        check = 0
        for byte in body:
            check ^= byte
        self.port.write(body + bytes([check]))

    def transact(
        self, message_type: int, data: bytes = b"", parameters: bytes = b"\0\0\0"
    ) -> Reply:
        """Send one command and return its reply, retrying only at the frame level."""
        self._sequence = (self._sequence + 1) & 0xFF
        sequence = self._sequence
        message = (
            (bytes([message_type]) + len(data).to_bytes(4, "little") + bytes([0, sequence]))
            + parameters
            + data
        )
        self._send(message)
        resends = 0
        nak_requests = 0
        while True:
            deadline = time.monotonic() + self.timeout_s
            try:
                reply = self._next_frame(deadline)
            except _Nak:
                resends += 1
                if resends >= MAX_TRIES:
                    raise CommunicationError("card reader kept rejecting our frames") from None
                self._send(message)
                continue
            except (_BadFrame, DeviceTimeout) as error:
                nak_requests += 1
                if nak_requests >= MAX_TRIES:
                    if isinstance(error, DeviceTimeout):
                        raise
                    raise CommunicationError("card reader replies kept arriving garbled") from None
                self.port.write(NAK_FRAME)
                continue
            if reply[0] not in REPLY_TYPES or reply[6] != sequence:
                continue  # our own echo, or a stale reply resent after a NAK
            return Reply(reply[0], reply[6], reply[7], reply[8], reply[9], reply[HEADER_LENGTH:])
