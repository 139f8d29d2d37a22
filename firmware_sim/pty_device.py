"""A simulated serial device living on the master side of a pseudo-terminal.

Every simulator (reader, scanner, printer) is a byte-stream state machine fed
from the pty master by one background thread. The slave path is what a driver,
pcscd or python-escpos opens, exactly as it would open ``/dev/ttyUSB0``. Line
faults (corrupted or dropped bytes, a mute device) are applied here so that
every simulator gets them the same way.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Self

POLL_INTERVAL_S = 0.02


@dataclass
class LineFaults:
    """Faults applied to the bytes crossing the simulated line.

    Rates are per byte, in both directions. ``mute`` makes the device swallow
    everything and answer nothing, as a device that has hung or lost power.
    """

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    mute: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def apply(self, data: bytes) -> bytes:
        if not (self.corrupt_rate or self.drop_rate):
            return data
        out = bytearray()
        for byte in data:
            if self.rng.random() < self.drop_rate:
                continue
            if self.rng.random() < self.corrupt_rate:
                byte ^= 1 << self.rng.randrange(8)
            out.append(byte)
        return bytes(out)


class PtyDevice(ABC):
    """Owns a pty pair and a thread that hands received bytes to ``on_bytes``.

    ``line_bytes_per_s`` paces the device's output like a real UART would
    (115200 baud 8N1 is 11520 bytes/s); ``None`` sends as fast as the pty goes.
    """

    def __init__(self, *, line_bytes_per_s: float | None = None) -> None:
        self.faults = LineFaults()
        self.line_bytes_per_s = line_bytes_per_s
        self._master_fd = -1
        self._slave_fd = -1
        self._path = ""
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self.lock = threading.RLock()

    @property
    def path(self) -> str:
        return self._path

    def start(self) -> str:
        """Open the pty, start the device thread, return the path to open."""
        if self._thread is not None:
            return self._path
        self._master_fd, self._slave_fd = os.openpty()
        # Raw mode before any client opens it, so nothing is echoed or mangled.
        tty.setraw(self._slave_fd)
        tty.setraw(self._master_fd)
        self._path = os.ttyname(self._slave_fd)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self._path

    def stop(self) -> None:
        """Stop the thread and close the pty; the path stops existing."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._thread = None
        for fd in (self._master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._master_fd = self._slave_fd = -1

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def write(self, data: bytes) -> None:
        """Send bytes to the host through the line (faults applied, paced)."""
        if self.faults.mute or self._master_fd < 0:
            return
        data = self.faults.apply(data)
        with self._write_lock:
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._master_fd, view)
                except BlockingIOError:
                    time.sleep(0.001)
                    continue
                except OSError:
                    return
                view = view[written:]
            if self.line_bytes_per_s:
                time.sleep(len(data) / self.line_bytes_per_s)

    @abstractmethod
    def on_bytes(self, data: bytes) -> None:
        """Called on the device thread with bytes from the host."""

    def on_idle(self) -> None:  # noqa: B027 - most devices have nothing to do when idle
        """Called on the device thread when no byte arrived for a poll interval."""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([self._master_fd], [], [], POLL_INTERVAL_S)
            except (OSError, ValueError):
                return
            if not readable:
                with self.lock:
                    self.on_idle()
                continue
            try:
                data = os.read(self._master_fd, 4096)
            except OSError:
                # No client has the slave open (EIO): wait for one.
                time.sleep(POLL_INTERVAL_S)
                continue
            if self.faults.mute:
                continue
            data = self.faults.apply(data)
            if data:
                with self.lock:
                    self.on_bytes(data)
