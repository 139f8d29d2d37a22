"""`evote check-slip`: a voter checks a challenge slip on their own machine.

The same check as the board's ``/check`` page, but computed here: the election
(manifest signature and base hash checked, as a terminal does) and the board's
entry are fetched, and the re-encryption runs locally, so the answer does not
rest on the server's word.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import click

from evote import protocol
from evote.challenge_slip import SlipError, check_slip, parse_slip
from evote.refusals import refusal
from terminal.errors import ConfigurationError
from terminal.server_link import parse_election

_ORIGIN = re.compile(r"^(https?://[^/]+)/", re.IGNORECASE)


def _get(url: str, timeout_s: float) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{url}: {error}") from error
    if not isinstance(answer, dict):
        raise click.ClickException(f"{url}: answered a non-object")
    return answer


@click.command("check-slip")
@click.argument("slip")
@click.option(
    "--server",
    help="The board's address (default: the address in a scanned slip's link).",
)
@click.option("--timeout", "timeout_s", default=10.0, show_default=True, type=float)
def check_slip_command(slip: str, server: str | None, timeout_s: float) -> None:
    """Show what a challenge slip's ballot says, checked against the bulletin board.

    SLIP is the slip's QR text (its link) or the code typed from it.
    """
    try:
        parsed = parse_slip(slip)
    except SlipError as error:
        raise click.ClickException(f"{error.code}: {error}") from error
    origin = _ORIGIN.match(slip.strip())
    base = server or (origin.group(1).lower() if origin else None)
    if base is None:
        raise click.ClickException("--server is needed when the slip is not a link")
    base = base.rstrip("/")
    try:
        election = parse_election(_get(base + protocol.PATH_ELECTION, timeout_s))
    except ConfigurationError as error:
        raise click.ClickException(str(error)) from error
    path = protocol.PATH_LOOKUP.format(tracking_code=parsed.tracking_code)
    found = _get(base + path, timeout_s)
    try:
        checked = check_slip(parsed, found, election.context, election.manifest)
    except SlipError as error:
        entry = refusal(error.code)
        raise click.ClickException(f"{error.code}: {entry.message_en} ({error})") from error
    click.echo(
        f"OK: on the board at station {checked.station_id}, position {checked.board_position};"
        " the published secrets are the slip's and reproduce the encrypted ballot."
    )
    manifest = election.manifest
    for spec in manifest.contest_specs(checked.ballot_style_id):
        contest = manifest.contest(spec.contest_id)
        click.echo(f"{contest.name.en} / {contest.name.fa}:")
        chosen = checked.choices[spec.contest_id]
        for selection_id in chosen:
            candidate = contest.candidate(int(selection_id))
            click.echo(f"  {candidate.code}  {candidate.name.en} / {candidate.name.fa}")
        if not chosen:
            click.echo("  blank (no choice) / سفید")
