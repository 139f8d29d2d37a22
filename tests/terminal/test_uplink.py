"""The uplink: in order, retried with backoff, each entry acknowledged once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from crypto.ballot import GENESIS_TRACKING_CODE
from terminal.journal import Journal
from terminal.uplink import DeliveryFailed, DeliveryRefused, Uplink


def fill(journal: Journal, count: int) -> None:
    previous = GENESIS_TRACKING_CODE
    for sequence in range(1, count + 1):
        current = bytes([sequence]) * 32
        journal.append(sequence, "cast", previous, current, f'{{"n":{sequence}}}')
        previous = current


class FlakyServer:
    """Fails the first ``failures`` sends, then accepts, remembering what arrived."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[int] = []
        self.attempt_times: list[float] = []
        self.lock = threading.Lock()

    def send(self, action: str, envelope: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.attempt_times.append(time.monotonic())
            if self.failures:
                self.failures -= 1
                raise DeliveryFailed("connection refused")
            if envelope["n"] not in self.received:
                self.received.append(envelope["n"])
            return {"receipt": envelope["n"]}


def wait_until(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_delivers_in_order_after_failures_with_growing_backoff(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    fill(journal, 3)
    server = FlakyServer(failures=4)
    uplink = Uplink(journal, server.send, initial_backoff_s=0.02, max_backoff_s=1.0)
    uplink.start()
    try:
        wait_until(lambda: journal.counts().waiting == 0)
    finally:
        uplink.stop()
    assert server.received == [1, 2, 3]
    gaps = [b - a for a, b in zip(server.attempt_times, server.attempt_times[1:], strict=False)]
    assert gaps[2] > gaps[0]
    assert uplink.status().online


def test_a_refused_entry_is_kept_for_officials_and_not_resent(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    fill(journal, 2)
    calls: list[int] = []

    def send(action: str, envelope: dict[str, Any]) -> dict[str, Any]:
        calls.append(envelope["n"])
        if envelope["n"] == 1:
            raise DeliveryRefused("invalid_proof", "bad")
        return {}

    uplink = Uplink(journal, send)
    assert uplink.deliver_pending()
    assert uplink.deliver_pending()
    assert calls == [1, 2]
    assert journal.counts().rejected == 1
    assert uplink.status().last_error is None
