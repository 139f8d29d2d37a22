"""`evote demo`: run the simulated election and say where everything is."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import click

from evote.cli.demo import Demo, DemoOutcome
from evote.manifest import Manifest
from evote.sample import card_roll_csv, roll_csv, sample_manifest, sample_people


def _results_table(outcome: DemoOutcome, manifest: Manifest) -> list[str]:
    national = next(u for u in outcome.results["units"] if u["level"] == "national")
    decisions = {o["contest_id"]: o for o in outcome.results["outcomes"]}
    lines = []
    for contest in national["contests"]:
        spec = manifest.contest(contest["contest_id"])
        lines.append(
            f"{spec.name.en} — {spec.name.fa}: {contest['ballots_cast']} ballots, "
            f"{contest['blank']} blank"
        )
        ranked = sorted(contest["votes"].items(), key=lambda item: -item[1])
        for code, votes in ranked:
            name = spec.candidate(int(code)).name
            lines.append(f"  {code}  {votes:5d}  {name.en} ({name.fa})")
        lines.append(f"  outcome: {_describe(decisions.get(spec.contest_id, {}))}")
    return lines


def _describe(decision: dict[str, Any]) -> str:
    elected = decision.get("elected") or []
    runoff = decision.get("runoff") or []
    text = f"elected {', '.join(map(str, elected)) or 'none'}"
    return text + (f"; runoff between {', '.join(map(str, runoff))}" if runoff else "")


def write_sample_election(directory: Path, election_day: date, voters: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    people, officials = sample_people(election_day, size=voters)
    files = {
        "manifest.json": json.dumps(sample_manifest(election_day), ensure_ascii=False, indent=2),
        "roll.csv": roll_csv(people),
        "card-roll.csv": card_roll_csv(people, officials),
    }
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return [directory / name for name in files]


@click.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Directory for everything the demo writes (replaced if it exists).",
)
@click.option("--voters", type=click.IntRange(30, 2000), default=300, show_default=True)
@click.option("--turnout", type=click.FloatRange(0.1, 1.0), default=0.7, show_default=True)
@click.option(
    "--write-sample",
    type=click.Path(file_okay=False, path_type=Path),
    help="Only write the sample election's files (manifest.json, roll.csv, card-roll.csv) "
    "into this directory, for walking through the roles by hand (README).",
)
def demo(output: Path, voters: int, turnout: float, write_sample: Path | None) -> None:
    """Run a complete simulated election: key ceremony, polling day at three
    stations (cards and printers on ptys), closing, tally by 2 of 3 trustees,
    record export and verification. Checks the decrypted counts against what
    the simulated voters chose."""
    if write_sample is not None:
        for path in write_sample_election(write_sample, date.today(), voters):
            click.echo(path)
        return
    started = time.monotonic()
    runner = Demo(output, voters=voters, turnout=turnout, echo=click.echo)
    outcome = runner.run()
    click.echo("  the verifier's checks:")
    for line in outcome.verifier_lines:
        click.echo(f"  {line}")
    click.echo("")
    for line in _results_table(outcome, runner.manifest):
        click.echo(line)
    click.echo("")
    cast = sum(outcome.count.ballots.values())
    click.echo(
        f"Decrypted counts match the {cast} voters' choices at every station and nationally."
    )
    counted, excluded = outcome.provisional
    click.echo(f"provisional: {counted} counted, {excluded} excluded")
    click.echo(f"Record:       {output / 'record'}   (check it: evote verify {output / 'record'})")
    click.echo(f"HTML report:  {output / 'record' / 'results' / 'report.html'}")
    click.echo(f"Poll tapes:   {output / 'record' / 'results' / 'poll-tapes'}")
    click.echo(f"Receipts:     {output / 'stations'}/<station>/printed")
    click.echo(f"Done in {time.monotonic() - started:.1f} s.")
