"""A serial-mode QR scanner: one ``[prefix]payload CR LF`` line per read.

Presentation mode: ``scan(payload)`` is a code held in front of the window.
Trigger mode: the host sends ``16 54 0D``; the scanner reads the code placed
with ``present(payload)`` or answers ``%%NoRead`` when the read window closes;
``16 55 0D`` cancels. The same code read again within the repeat timeout is
suppressed, as real scanners do against double reads.
"""

from __future__ import annotations

import time

from firmware_sim.pty_device import PtyDevice

TRIGGER = b"\x16T\r"
UNTRIGGER = b"\x16U\r"
NO_READ = b"%%NoRead"
REPEAT_TIMEOUT_S = 0.5
READ_WINDOW_S = 0.3


class ScannerSimulator(PtyDevice):
    """The scanner; lines can be garbled on purpose with ``emit_raw`` and line faults."""

    def __init__(self, *, prefix: bytes = b"", repeat_timeout_s: float = REPEAT_TIMEOUT_S) -> None:
        super().__init__()
        self.prefix = prefix
        self.repeat_timeout_s = repeat_timeout_s
        self._buffer = bytearray()
        self._presented: bytes | None = None
        self._trigger_deadline: float | None = None
        self._last_payload = b""
        self._last_sent_at = -1e9

    def scan(self, payload: str | bytes) -> bool:
        """Read a code now; False when suppressed as a repeat within the timeout."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        with self.lock:
            now = time.monotonic()
            if data == self._last_payload and now - self._last_sent_at < self.repeat_timeout_s:
                return False
            self._last_payload, self._last_sent_at = data, now
            self.write(self.prefix + data + b"\r\n")
            return True

    def present(self, payload: str | bytes | None) -> None:
        """Hold a code in front of the scanner for the next trigger (None: take it away)."""
        with self.lock:
            self._presented = payload.encode("utf-8") if isinstance(payload, str) else payload

    def emit_raw(self, data: bytes) -> None:
        """Send arbitrary bytes: duplicated, truncated or noisy lines for fault tests."""
        self.write(data)

    def mute(self, muted: bool = True) -> None:
        self.faults.mute = muted

    def on_bytes(self, data: bytes) -> None:
        self._buffer.extend(data)
        while True:
            end = self._buffer.find(b"\r")
            if end < 0:
                del self._buffer[:-16]
                return
            command = bytes(self._buffer[max(0, end - 2) : end + 1])
            del self._buffer[: end + 1]
            if command == TRIGGER:
                self._triggered()
            elif command == UNTRIGGER:
                self._trigger_deadline = None

    def _triggered(self) -> None:
        if self._presented is not None:
            self._trigger_deadline = None
            self._last_sent_at = -1e9
            self.scan(self._presented)
        else:
            self._trigger_deadline = time.monotonic() + READ_WINDOW_S

    def on_idle(self) -> None:
        if self._trigger_deadline is None:
            return
        if self._presented is not None:
            self._triggered()
        elif time.monotonic() >= self._trigger_deadline:
            self._trigger_deadline = None
            self.write(self.prefix + NO_READ + b"\r\n")
