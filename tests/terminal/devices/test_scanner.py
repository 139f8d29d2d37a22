"""The scanner driver against the simulated serial scanner over a real pty."""

from __future__ import annotations

import time

import pytest

from firmware_sim.scanner import ScannerSimulator
from terminal.devices.errors import NoRead, ScanTimeout
from terminal.devices.scanner import SerialScanner


def test_a_scanned_code_arrives_as_one_payload(
    scanner: SerialScanner, scanner_sim: ScannerSimulator
) -> None:
    scanner_sim.scan('{"kind":"qr-pass","pass_id":"p-1"}')
    assert scanner.read(1.0) == '{"kind":"qr-pass","pass_id":"p-1"}'


def test_trigger_without_a_code_answers_no_read(
    scanner: SerialScanner, scanner_sim: ScannerSimulator
) -> None:
    scanner.trigger()
    with pytest.raises(NoRead) as no_read:
        scanner.read(2.0)
    assert no_read.value.code == "no_read"


def test_trigger_reads_the_presented_code_and_untrigger_cancels(
    scanner: SerialScanner, scanner_sim: ScannerSimulator
) -> None:
    scanner_sim.present("PASS-42")
    scanner.trigger()
    assert scanner.read(1.0) == "PASS-42"
    scanner_sim.present(None)
    scanner.trigger()
    scanner.untrigger()
    with pytest.raises(ScanTimeout) as timed_out:
        scanner.read(0.5)
    assert timed_out.value.code == "scan_timeout"


def test_the_same_code_twice_in_the_repeat_window_is_reported_once(
    scanner: SerialScanner, scanner_sim: ScannerSimulator
) -> None:
    assert scanner_sim.scan("PASS-1")
    assert not scanner_sim.scan("PASS-1")
    scanner_sim.emit_raw(b"PASS-1\r\n")
    scanner_sim.scan("PASS-2")
    assert scanner.read(1.0) == "PASS-1"
    assert scanner.read(1.0) == "PASS-2"
    time.sleep(0.55)
    assert scanner_sim.scan("PASS-1")
    assert scanner.read(1.0) == "PASS-1"


def test_noisy_and_truncated_lines_are_dropped_not_returned(
    scanner: SerialScanner, scanner_sim: ScannerSimulator
) -> None:
    scanner_sim.emit_raw(b"\x00\xffgarbage\x07\r\n\xc3\x28bad-utf8\r\n")
    scanner_sim.scan("PASS-7")
    assert scanner.read(1.0) == "PASS-7"
    assert scanner.dropped_lines == 2


def test_a_configured_prefix_is_required_and_stripped() -> None:
    with ScannerSimulator(prefix=b"]Q1") as simulator:
        driver = SerialScanner(simulator.path, prefix="]Q1")
        try:
            simulator.emit_raw(b"unprefixed\r\n")
            simulator.scan("PASS-9")
            assert driver.read(1.0) == "PASS-9"
        finally:
            driver.close()


def test_a_mute_scanner_times_out(scanner: SerialScanner, scanner_sim: ScannerSimulator) -> None:
    scanner_sim.mute()
    scanner_sim.scan("PASS-3")
    with pytest.raises(ScanTimeout):
        scanner.read(0.3)
