"""The demo is the acceptance test: a whole election, then the verifier as an outsider runs it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evote.cli import main
from evote.demo import Demo


def _flip_one_hex_digit_in_first_ballot(entries: Path) -> None:
    lines = entries.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if json.loads(line)["kind"] == "ballot")
    marker = '"alpha":"'
    position = lines[index].index(marker) + len(marker) + 10
    digit = lines[index][position]
    lines[index] = (
        lines[index][:position] + ("0" if digit != "0" else "1") + lines[index][position + 1 :]
    )
    entries.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_demo_election_matches_the_voters_and_any_changed_ballot_byte_fails_verification(
    tmp_path: Path,
) -> None:
    outcome = Demo(tmp_path / "demo", voters=48, turnout=0.8, echo=lambda _: None).run()

    national = next(u for u in outcome.results["units"] if u["level"] == "national")
    assert {c["ballots_cast"] for c in national["contests"]} == {
        sum(outcome.count.ballots.values())
    }
    assert set(outcome.refusals) >= {"already_voted", "underage", "not_on_roll"}
    record = tmp_path / "demo" / "record"
    assert (record / "results" / "report.html").is_file()
    assert len(list((record / "results" / "poll-tapes").glob("*.png"))) == 3

    runner = CliRunner()
    passed = runner.invoke(main, ["verify", str(record), "--no-progress"])
    assert passed.exit_code == 0, passed.output

    _flip_one_hex_digit_in_first_ballot(record / "board" / "entries.jsonl")
    failed = runner.invoke(main, ["verify", str(record), "--no-progress"])
    assert failed.exit_code != 0
    assert "board/entries.jsonl" in failed.output
