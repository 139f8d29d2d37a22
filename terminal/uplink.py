"""Store-and-forward delivery of journaled ballots to the ballot server.

One background thread walks the journal's undelivered entries in sequence
order and sends each signed submission exactly as journaled. The server
accepts the same submission once and answers a repeat with the same receipt,
so resending after a lost answer, an outage or a ``kill -9`` is safe: every
journaled ballot ends up on the board exactly once. Transient failures back
off exponentially; a definitive refusal is recorded for the officials and the
entry is not resent (resending cannot change the answer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonical_json, parse_json
from terminal.journal import Journal


class DeliveryFailed(Exception):
    """The server could not be reached or answered with a server error: try again later."""

    code = "server_unreachable"


class DeliveryRefused(Exception):
    """The server refused the submission with a 4xx code: resending will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


Send = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class UplinkStatus:
    waiting: int
    rejected: int
    online: bool
    last_error: str | None


class Uplink:
    """The sender thread. ``send(action, envelope_json) -> receipt_json`` does the HTTP."""

    def __init__(
        self,
        journal: Journal,
        send: Send,
        *,
        initial_backoff_s: float = 0.25,
        max_backoff_s: float = 15.0,
        on_change: Callable[[], None] | None = None,
        on_idle: Callable[[], None] | None = None,
        idle_interval_s: float = 5.0,
    ) -> None:
        self.journal = journal
        self.send = send
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.on_change = on_change
        self.on_idle = on_idle
        self.idle_interval_s = idle_interval_s
        self.online = True
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def kick(self) -> None:
        """A new entry was journaled: try now instead of at the end of the backoff."""
        self._wake.set()

    def status(self) -> UplinkStatus:
        counts = self.journal.counts()
        return UplinkStatus(counts.waiting, counts.rejected, self.online, self.last_error)

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _set_online(self, online: bool, error: str | None) -> None:
        changed = online != self.online or error != self.last_error
        self.online, self.last_error = online, error
        if changed and self.on_change is not None:
            self.on_change()

    def deliver_pending(self) -> bool:
        """Send every undelivered entry in order; False if a transient failure stopped it."""
        for entry in self.journal.undelivered():
            if self._stop.is_set():
                return False
            try:
                receipt = self.send(entry.action, parse_json(entry.submission))
            except DeliveryFailed as error:
                self.journal.count_attempt(entry.sequence)
                self._set_online(False, str(error) or DeliveryFailed.code)
                return False
            except DeliveryRefused as error:
                self.journal.mark_rejected(entry.sequence, error.code)
                self._set_online(True, error.code)
            else:
                self.journal.mark_delivered(entry.sequence, canonical_json(receipt).decode())
                self._set_online(True, None)
            if self.on_change is not None:
                self.on_change()
        return True

    def _run(self) -> None:
        backoff_s = self.initial_backoff_s
        while not self._stop.is_set():
            self._wake.clear()
            if self.deliver_pending():
                backoff_s = self.initial_backoff_s
                if self.on_idle is not None:
                    self.on_idle()
                self._sleep(self.idle_interval_s)
            else:
                self._sleep(backoff_s)
                backoff_s = min(backoff_s * 2, self.max_backoff_s)
