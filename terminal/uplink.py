"""Store-and-forward delivery of journaled ballots to the ballot server.

One background thread walks the journal's undelivered entries in sequence
order and sends each signed submission exactly as journaled. The server
accepts the same submission once and answers a repeat with the same receipt,
so resending after a lost answer, an outage or a ``kill -9`` is safe: every
journaled ballot ends up on the board exactly once. Transient failures back
off exponentially; a definitive refusal is recorded for the officials and the
entry is not resent (resending cannot change the answer).

The loop is supervised: whatever an iteration raises (a transport failure the
sender did not classify, a journal error, a bug) is recorded as the last error
and the loop backs off and goes on; ``ensure_running`` (called by the
terminal's watchdog) restarts the thread should it ever end. A ballot that
was printed is never left behind because one answer was strange.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonical_json, parse_json
from terminal.journal import Journal

LOG = logging.getLogger(__name__)
# Refusals that say "not now" rather than "never": the station may be paused while a
# ballot cast before the pause is still on its way. Retried at the slowest backoff.
RETRY_LATER_REFUSALS = frozenset({"polls_not_open"})


class DeliveryFailed(Exception):
    """The server could not be reached or gave no usable answer: try again later."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


class DeliveryRefused(Exception):
    """The server refused the submission with a 4xx code: resending will not help."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


Send = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class UplinkStatus:
    """What the terminal's status endpoint and the officials' screen show (docs/terminal.md)."""

    online: bool
    waiting: int
    oldest_waiting_age_s: int | None
    rejected: int
    last_error: str | None
    last_error_at: int | None
    last_delivered_at: int | None
    loop_restarts: int

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


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
        self.down_since: float | None = None
        self.last_error: str | None = None
        self.last_error_at: int | None = None
        self.last_delivered_at: int | None = None
        self.loop_restarts = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervised, name="uplink", daemon=True)
        self._thread.start()

    def ensure_running(self) -> None:
        """Restart the sender thread if it has ended without being stopped."""
        if self._stop.is_set() or self._thread is None or self._thread.is_alive():
            return
        self.loop_restarts += 1
        self.start()

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
        oldest = counts.oldest_waiting_at
        return UplinkStatus(
            online=self.online,
            waiting=counts.waiting,
            oldest_waiting_age_s=None if oldest is None else max(0, int(time.time()) - oldest),
            rejected=counts.rejected,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            last_delivered_at=self.last_delivered_at,
            loop_restarts=self.loop_restarts,
        )

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def note_contact(self, error: str | None) -> None:
        """The outcome of another request to the server (the idle status call): with
        nothing to send, the link's state would otherwise never change."""
        self._set_online(error is None, error)

    def _set_online(self, online: bool, error: str | None) -> None:
        """Record the outcome of a send; the last error and its time stay visible after it."""
        changed = online != self.online or (error is not None and error != self.last_error)
        if online != self.online:
            self.down_since = None if online else time.time()
        self.online = online
        if error is not None:
            self.last_error, self.last_error_at = error, int(time.time())
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
                self._set_online(False, error.code)
                return False
            except DeliveryRefused as error:
                if error.code in RETRY_LATER_REFUSALS:
                    self.journal.count_attempt(entry.sequence)
                    self._set_online(True, error.code)
                    return False
                self.journal.mark_rejected(entry.sequence, error.code)
                self._set_online(True, error.code)
            else:
                self.journal.mark_delivered(entry.sequence, canonical_json(receipt).decode())
                self.last_delivered_at = int(time.time())
                self._set_online(True, None)
            if self.on_change is not None:
                self.on_change()
        return True

    def _supervised(self) -> None:
        """The thread's body: the loop, restarted in place after anything it raises."""
        backoff_s = self.initial_backoff_s
        while not self._stop.is_set():
            try:
                self._run()
            except Exception as error:  # the supervisor: nothing may end delivery
                LOG.exception("uplink loop failed; restarting it")
                self.loop_restarts += 1
                self._set_online(self.online, f"uplink_error: {type(error).__name__}")
                self._sleep(backoff_s)
                backoff_s = min(backoff_s * 2, self.max_backoff_s)

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
