"""Issuing cards from a roll: validation first, then one signed card file per row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crypto.signing import SignedEnvelope, SigningKey
from firmware_sim.cards import CardIssueError, RollRow, issue_cards, read_roll_csv
from firmware_sim.cli import firmware_sim

ROLL = """national_code,name_fa,name_en,birth_date,role,station_id,pin
0012345679,علی رضایی,Ali Rezaei,1370-05-12,voter,,1234
1234567891,مریم احمدی,Maryam Ahmadi,1360-01-30,official,ST-0001,87654321
"""


@pytest.mark.parametrize("code", ["12345", "00123456790", "００12345679", "001234567x"])
def test_a_card_needs_a_ten_digit_national_code(code: str) -> None:
    row = RollRow(code, "الف", "A", "1370-05-12", "voter", None, "1234")
    with pytest.raises(CardIssueError, match="national_code"):
        row.validate("roll row 1")


def test_a_bad_row_stops_the_whole_roll_before_any_file_is_written(tmp_path: Path) -> None:
    rows = [
        RollRow("0012345679", "الف", "A", "1370-05-12", "voter", None, "1234"),
        RollRow("0012345679", "ب", "B", "1370-13-12", "voter", None, "1234"),
    ]
    with pytest.raises(CardIssueError, match="roll row 2: birth_date"):
        issue_cards(SigningKey.generate(), rows, tmp_path / "cards")
    assert not (tmp_path / "cards").exists()


def test_issue_cards_command_writes_signed_cards_matching_the_roll(tmp_path: Path) -> None:
    registry = SigningKey.generate()
    (tmp_path / "registry.key").write_text(registry.seed.hex())
    (tmp_path / "roll.csv").write_text(ROLL, encoding="utf-8")
    result = CliRunner().invoke(
        firmware_sim,
        [
            "issue-cards",
            "--registry-key",
            str(tmp_path / "registry.key"),
            "--roll",
            str(tmp_path / "roll.csv"),
            "--out",
            str(tmp_path / "cards"),
        ],
    )
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.output.split()]
    official = json.loads(paths[1].read_text(encoding="utf-8"))
    payload = SignedEnvelope.from_json(official["certificate"]).verify(
        "card-certificate", registry.public_key
    )
    assert payload["station_id"] == "ST-0001" and payload["name_fa"] == "مریم احمدی"
    assert official["pin_tries_left"] == 3


def test_issue_cards_command_reports_a_bad_key_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "registry.key").write_text("nothex")
    (tmp_path / "roll.csv").write_text(ROLL, encoding="utf-8")
    result = CliRunner().invoke(
        firmware_sim,
        ["issue-cards", "--registry-key", str(tmp_path / "registry.key"), "--roll",
         str(tmp_path / "roll.csv"), "--out", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code != 0 and "Error:" in result.output


@pytest.mark.parametrize(
    "text", ["national_code,x\n", "national_code,name_fa,name_en,birth_date,role,station_id,pin\n"]
)
def test_a_roll_with_a_wrong_header_or_no_rows_is_refused(tmp_path: Path, text: str) -> None:
    roll = tmp_path / "roll.csv"
    roll.write_text(text, encoding="utf-8")
    with pytest.raises(CardIssueError):
        read_roll_csv(roll)
