"""``evote firmware-sim reader`` as a process: prints its path, obeys stdin control commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crypto.signing import SigningKey
from firmware_sim.cards import RollRow, issue_cards
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


def test_reader_guide_says_how_to_insert_and_names_the_officials_card(
    registry: SigningKey, tmp_path: Path
) -> None:
    official = RollRow("0012345679", "مسئول", "Official of S-101", "1360-01-01", "official",
                       "S-101", "135790")  # fmt: skip
    voter = RollRow("0084575948", "رأی‌دهنده", "A Voter", "1370-05-12", "voter", None, "2468")
    issue_cards(registry, [voter, official], tmp_path / "cards")
    process = subprocess.run(
        [sys.executable, "-c", "from firmware_sim.cli import firmware_sim; firmware_sim()",
         "reader", "--cards", str(tmp_path / "cards")],
        input="help\nquit\n", capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    first, *answer = process.stdout.splitlines()
    assert first.startswith("READER /dev/")
    official_line = f"Official's card for S-101: insert {tmp_path}/cards/card-0012345679.json"
    for text in (process.stderr, "\n".join(answer)):
        assert "insert FILE" in text and "remove" in text
        assert official_line in text and "PIN 135790" in text
        assert f"1 voter cards, e.g.: insert {tmp_path}/cards/card-0084575948.json" in text
