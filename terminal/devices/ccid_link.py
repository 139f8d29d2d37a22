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
MAX_REPLY_REQUESTS = 6
# Once a frame has started, the rest must follow within this (271 bytes take 24 ms at 115200).
FRAME_COMPLETION_S = 0.15


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
        self._received_bytes = 0

    def _read(self, count: int, deadline: float) -> bytes:
        while len(self._pending) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout("card reader did not answer in time")
            self.port.timeout = min(remaining, 0.05)
            chunk = self.port.read(max(1, self.port.in_waiting))
            self._received_bytes += len(chunk)
            self._pending.extend(chunk)
        data = bytes(self._pending[:count])
        del self._pending[:count]
        return data

    def _drain_line(self, quiet_s: float = 0.02, limit_s: float = 0.3) -> None:
        """After garbage, discard input until the line has been quiet for ``quiet_s``.

        Otherwise the tail of a garbled frame is rescanned for SYNC bytes and can
        burn the retry budget on false starts.
        """
        self._pending.clear()
        limit = time.monotonic() + limit_s
        self.port.timeout = quiet_s
        while time.monotonic() < limit:
            chunk = self.port.read(4096)
            if not chunk:
                return
            self._received_bytes += len(chunk)

    def poll_events(self, timeout_s: float) -> None:
        """Read bytes for up to ``timeout_s`` (or until an event), collecting slot events."""
        deadline = time.monotonic() + timeout_s
        while not self.events:
            try:
                self._next_frame(deadline, stop_on_event=True)
            except (DeviceTimeout, _BadFrame, _Nak):
                if time.monotonic() >= deadline:
                    return

    def _next_frame(self, deadline: float, *, stop_on_event: bool = False) -> bytes:
        """Return the next well-formed CCID message; notifications are queued on the way.

        With ``stop_on_event`` it returns ``b""`` as soon as a notification arrives.
        """
        while True:
            first = self._read(1, deadline)[0]
            # Once a message has begun, its remaining bytes get their own short
            # window: a caller's deadline falling between two bytes of a slot
            # notification must not swallow the notification.
            completion = time.monotonic() + FRAME_COMPLETION_S
            if first == NOTIFY_SLOT_CHANGE:
                state = self._read(1, completion)[0]
                if state in SLOT_EVENTS:
                    self.events.append(SLOT_EVENTS[state])
                    if stop_on_event:
                        return b""
                continue
            if first != SYNC:
                continue
            control = self._read(1, completion)[0]
            if control == NAK:
                if self._read(1, completion)[0] == SYNC ^ NAK:
                    raise _Nak()
                continue
            if control != ACK:
                self._pending[:0] = bytes([control])
                continue
            header = self._read(HEADER_LENGTH, completion)
            length = int.from_bytes(header[1:5], "little")
            if length > MAX_MESSAGE_LENGTH - HEADER_LENGTH:
                # An impossible length is garbage; rescan from the byte after SYNC ACK.
                self._pending[:0] = header
                raise _BadFrame()
            rest = self._read(length + 1, completion)
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
        self,
        message_type: int,
        data: bytes = b"",
        parameters: bytes = b"\0\0\0",
        *,
        idempotent: bool = True,
    ) -> Reply:
        """Send one command and return its reply, retrying only at the frame level.

        A command is sent again only when the reader NAKs it, or, if ``idempotent``,
        when the line stayed silent (the reader never got it). Otherwise a missing or
        garbled reply is asked for with a NAK, which never re-executes the command.
        """
        self._sequence = (self._sequence + 1) & 0xFF
        sequence = self._sequence
        message = (
            (bytes([message_type]) + len(data).to_bytes(4, "little") + bytes([0, sequence]))
            + parameters
            + data
        )
        self._send(message)
        received_at_send = self._received_bytes
        resends = 0
        nak_requests = 0
        asked_again = False
        while True:
            deadline = time.monotonic() + self.timeout_s
            try:
                reply = self._next_frame(deadline)
            except _Nak:
                resends += 1
                if resends >= MAX_TRIES:
                    raise CommunicationError("card reader kept rejecting our frames") from None
                self._send(message)
                received_at_send = self._received_bytes
                continue
            except (_BadFrame, DeviceTimeout) as error:
                silent = self._received_bytes == received_at_send
                if isinstance(error, DeviceTimeout) and silent and idempotent:
                    resends += 1
                    if resends >= MAX_TRIES:
                        raise
                    self._send(message)
                    continue
                nak_requests += 1
                if nak_requests >= MAX_REPLY_REQUESTS:
                    if isinstance(error, DeviceTimeout):
                        raise
                    raise CommunicationError("card reader replies kept arriving garbled") from None
                self._drain_line()
                self.port.write(NAK_FRAME)
                asked_again = True
                continue
            if reply[0] in REPLY_TYPES and reply[6] != sequence and asked_again:
                # The reader repeated the reply to the previous command, so it never
                # executed this one: sending it again cannot run it twice.
                resends += 1
                if resends >= MAX_TRIES:
                    raise CommunicationError("card reader never received our command")
                self._send(message)
                received_at_send = self._received_bytes
                asked_again = False
                continue
            if reply[0] not in REPLY_TYPES or reply[6] != sequence:
                continue  # our own echo
            return Reply(reply[0], reply[6], reply[7], reply[8], reply[9], reply[HEADER_LENGTH:])
