"""The ``Scanner`` interface and its driver for a serial-mode QR scanner.

Lines are framed by content (CR LF), not by timing; a line with control bytes
or invalid UTF-8 is noise and is dropped, as is an over-long line. The same
payload arriving twice within the repeat window is reported once. A QR pass is
signed, so a truncated line that still looks printable fails its signature
check upstream; the server accepts each pass once only.
"""

from __future__ import annotations

import time
from typing import Protocol

import serial

from terminal.devices.errors import NoRead, ScanTimeout

TRIGGER = b"\x16T\r"
UNTRIGGER = b"\x16U\r"
NO_READ = "%%NoRead"
MAX_LINE_BYTES = 4096
REPEAT_WINDOW_S = 0.5


class Scanner(Protocol):
    """What the terminal needs from a code scanner."""

    def read(self, timeout_s: float) -> str: ...
    def trigger(self) -> None: ...
    def untrigger(self) -> None: ...
    def close(self) -> None: ...


def decode_line(line: bytes, prefix: str = "") -> str | None:
    """The payload of one line without CR LF, or None if it is noise."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return None
    if prefix:
        if not text.startswith(prefix):
            return None
        text = text[len(prefix) :]
    return text or None


class SerialScanner:
    """``Scanner`` over any pyserial URL."""

    def __init__(
        self, url: str, *, prefix: str = "", repeat_window_s: float = REPEAT_WINDOW_S
    ) -> None:
        self.port = serial.serial_for_url(url, baudrate=115200, timeout=0.05)
        self.port.reset_input_buffer()
        self.prefix = prefix
        self.repeat_window_s = repeat_window_s
        self.dropped_lines = 0
        self._buffer = bytearray()
        self._last_payload = ""
        self._last_at = -1e9

    def close(self) -> None:
        self.port.close()

    def trigger(self) -> None:
        self.port.write(TRIGGER)

    def untrigger(self) -> None:
        self.port.write(UNTRIGGER)

    def _next_line(self, deadline: float) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if len(self._buffer) > MAX_LINE_BYTES:
                self._buffer.clear()
                self.dropped_lines += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScanTimeout("nothing was scanned in time")
            self.port.timeout = min(remaining, 0.05)
            self._buffer.extend(self.port.read(max(1, self.port.in_waiting)))

    def read(self, timeout_s: float) -> str:
        """The next scanned payload. Raises NoRead (``%%NoRead``) or ScanTimeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._next_line(deadline)
            payload = decode_line(line, self.prefix)
            if payload is None:
                self.dropped_lines += 1
                continue
            if payload == NO_READ:
                raise NoRead("the scanner found no code")
            now = time.monotonic()
            if payload == self._last_payload and now - self._last_at < self.repeat_window_s:
                continue
            self._last_payload, self._last_at = payload, now
            return payload
