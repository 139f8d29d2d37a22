"""``evote firmware-sim reader`` as a process: prints its path, obeys stdin control commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from terminal.devices.card_reader import SerialCardReader


def test_reader_command_prints_its_path_and_takes_control_commands(card_file: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "from firmware_sim.cli import firmware_sim; firmware_sim()",
         "reader", "--card", str(card_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    try:
        label, path = process.stdout.readline().split()
        assert label == "READER" and path.startswith("/dev/")
        with SerialCardReader(path, timeout_s=1.0) as reader:
            assert reader.card_present()
            process.stdin.write("remove\n")
            process.stdin.flush()
            assert process.stdout.readline().strip() == "OK"
            assert reader.wait_for_event(2.0) == "removed"
            process.stdin.write("fault bogus\n")
            process.stdin.flush()
            assert process.stdout.readline().startswith("ERR unknown reader fault")
        process.stdin.write("quit\n")
        process.stdin.flush()
        assert process.wait(timeout=5) == 0
    finally:
        process.kill()
