"""The demo is the acceptance test: a whole election, then the verifier as an outsider runs it."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evote.cli.demo import Demo, DemoOutcome
from evote.cli.main import main

SPREAD = 8


PRINTED: list[str] = []
PRINTED_AT: list[float] = []  # time.monotonic() of each line, and of the run's start and end
SILENCE_S = 3.0


def echo(line: str) -> None:
    PRINTED_AT.append(time.monotonic())
    PRINTED.append(line)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoOutcome:
    output = tmp_path_factory.mktemp("demo") / "demo"
    PRINTED.clear()
    PRINTED_AT.clear()
    started = time.monotonic()
    outcome = Demo(output, voters=48, turnout=0.8, echo=echo, progress_interval_s=0.1).run()
    PRINTED_AT.insert(0, started)
    PRINTED_AT.append(time.monotonic())
    return outcome


def verify(record: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", str(record), "--no-progress"])
    return result.exit_code, result.output


def first_ballot_line(entries: Path) -> int:
    lines = entries.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines) if json.loads(line)["kind"] == "ballot")


def test_demo_election_matches_the_voters_and_its_record_verifies(demo: DemoOutcome) -> None:
    national = next(u for u in demo.results["units"] if u["level"] == "national")
    assert {c["ballots_cast"] for c in national["contests"]} == {sum(demo.count.ballots.values())}
    assert set(demo.refusals) >= {"already_voted", "underage", "not_on_roll"}
    record = demo.output / "record"
    assert (record / "results" / "report.html").is_file()
    assert len(list((record / "results" / "poll-tapes").glob("*.png"))) == 3
    code, output = verify(record)
    assert code == 0, output


def test_the_demo_keeps_intake_and_inquiry_keys_in_separate_key_dirs(demo: DemoOutcome) -> None:
    private = {
        host: sorted(path.name for path in (demo.output / host / "keys").glob("*.key"))
        for host in ("hq", "server", "inquiry")
    }
    assert private == {
        "hq": ["hq.key", "registry.key"],
        "server": ["server.key"],
        "inquiry": ["inquiry.key"],
    }


def test_polling_day_prints_counted_progress_while_voters_vote(demo: DemoOutcome) -> None:
    start = PRINTED.index(next(line for line in PRINTED if line.startswith("• polling day")))
    total = int(PRINTED[start].split(": ")[1].split()[0])
    ticks = [line for line in PRINTED[start:] if line.startswith("  … visits: ")]
    assert ticks, PRINTED
    counts = [int(line.split(": ")[1].split("/")[0]) for line in ticks]
    assert counts == sorted(counts) and counts[-1] <= total
    assert all(line.split("/")[1].startswith(f"{total} (") for line in ticks)


def test_the_demo_never_goes_3_s_without_printing_progress(demo: DemoOutcome) -> None:
    """Every step runs under a ticker (here one tick every 0.1 s, in ``make demo`` every
    1 s), so what is left silent is only the time between steps: from the start to the
    first line, between lines, and from the last line to the end, each at most 3 s."""
    after = ["(start)", *PRINTED]
    gaps = [
        (later - earlier, after[index])
        for index, (earlier, later) in enumerate(zip(PRINTED_AT, PRINTED_AT[1:], strict=False))
    ]
    longest, line = max(gaps)
    assert longest <= SILENCE_S, f"{longest:.1f} s without a line after {line!r}"


@pytest.mark.parametrize("eighth", range(SPREAD))
def test_changing_any_byte_of_a_ballot_fails_verification(
    demo: DemoOutcome, tmp_path: Path, eighth: int
) -> None:
    record = tmp_path / "record"
    shutil.copytree(demo.output / "record", record)
    entries = record / "board" / "entries.jsonl"
    data = bytearray(entries.read_bytes())
    lines = data.split(b"\n")
    index = first_ballot_line(entries)
    start = sum(len(line) + 1 for line in lines[:index])
    position = start + (2 * eighth + 1) * len(lines[index]) // (2 * SPREAD)
    data[position] = ord("0") if data[position] != ord("0") else ord("1")
    entries.write_bytes(bytes(data))
    code, output = verify(record)
    assert code != 0
    assert "board/entries.jsonl" in output, output


def test_record_export_of_a_closed_election_refuses_the_provisional_mark(
    demo: DemoOutcome, tmp_path: Path
) -> None:
    arguments = ["record", "export", str(tmp_path / "record"), "--data-dir"]
    arguments += [str(demo.output / "server"), "--exchange", str(demo.output / "trustees/exchange")]
    refused = CliRunner().invoke(main, [*arguments, "--provisional"])
    assert refused.exit_code == 1
    assert "polls_open" in refused.output and "final" in refused.output
    assert not (tmp_path / "record").exists()
    exported = CliRunner().invoke(main, arguments)
    assert exported.exit_code == 0, exported.output
    assert not (tmp_path / "record" / "PROVISIONAL").exists()


def test_a_station_cut_off_votes_provisionally_and_the_double_vote_is_excluded(
    demo: DemoOutcome,
) -> None:
    assert demo.provisional == (2, 1)
    assert "• provisional: 2 counted, 1 excluded" in PRINTED
    assert any(
        line.endswith("the official entered offline mode (banner on every screen)")
        for line in PRINTED
    )
    record = demo.output / "record"
    resolution = json.loads((record / "provisional-resolution.json").read_text(encoding="utf-8"))
    reasons = [item["reason"] for item in resolution["payload"]["decisions"]]
    assert sorted(reasons, key=str) == [None, None, "voted_online"]
    code, output = verify(record)
    assert code == 0, output
    assert (
        "ok    provisional ballots: one registry decision each, only the counted summed (3)"
        in output
    )
    assert "stations reconciled: check-ins online + offline" in output
