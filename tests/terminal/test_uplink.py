"""The uplink: in order, retried with backoff, each entry acknowledged once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

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
                raise DeliveryFailed("connection_refused")
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
    assert [(e.sequence, e.code) for e in journal.rejected()] == [(1, "invalid_proof")]
    status = uplink.status()
    assert status.online and status.waiting == 0
    assert status.last_error == "invalid_proof" and status.last_error_at is not None


class Surprises:
    """Raises each of ``surprises`` once (one per call), then accepts."""

    def __init__(self, *surprises: BaseException) -> None:
        self.surprises = list(surprises)
        self.received: list[int] = []

    def send(self, action: str, envelope: dict[str, Any]) -> dict[str, Any]:
        if self.surprises:
            raise self.surprises.pop(0)
        self.received.append(envelope["n"])
        return {"receipt": envelope["n"]}


def test_the_loop_survives_whatever_a_send_raises(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    fill(journal, 2)
    server = Surprises(RuntimeError("bug"), KeyError("receipt"), ValueError("garbage"))
    uplink = Uplink(journal, server.send, initial_backoff_s=0.01, max_backoff_s=0.05)
    uplink.start()
    try:
        wait_until(lambda: journal.counts().waiting == 0)
    finally:
        uplink.stop()
    assert server.received == [1, 2]
    status = uplink.status()
    assert status.loop_restarts == 3 and status.last_error == "uplink_error: ValueError"
    assert status.rejected == 0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_sender_thread_that_ended_is_restarted_by_the_watchdog(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    fill(journal, 1)
    server = Surprises(SystemExit(1))
    uplink = Uplink(journal, server.send, initial_backoff_s=0.01)
    uplink.start()
    try:
        assert uplink._thread is not None
        uplink._thread.join(timeout=5)
        assert journal.counts().waiting == 1
        uplink.ensure_running()
        wait_until(lambda: journal.counts().waiting == 0)
    finally:
        uplink.stop()
    assert server.received == [1] and uplink.status().loop_restarts == 1


def test_polls_not_open_is_retried_not_flagged(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite", "T-1")
    fill(journal, 1)
    server = Surprises(DeliveryRefused("polls_not_open", "paused"))
    uplink = Uplink(journal, server.send)
    assert not uplink.deliver_pending()
    assert journal.counts().waiting == 1 and journal.counts().rejected == 0
    assert uplink.deliver_pending()
    assert server.received == [1]
