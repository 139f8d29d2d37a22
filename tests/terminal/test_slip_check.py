"""A voter checks a challenge slip: on the board's page (scanned link or typed code) and
with `evote check-slip`, against a real station; and every way a slip can fail to check."""

from __future__ import annotations

import copy
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from station_harness import StationHarness, printed_qr_codes

from crypto.ballot import GENESIS_TRACKING_CODE, BallotSecrets, ElectionContext
from crypto.group import base_mul, random_scalar
from evote.challenge_slip import SlipError, check_slip, parse_slip, secrets_digest, slip_for
from evote.cli.main import main
from evote.manifest import Manifest
from evote.sample import sample_manifest
from terminal.ballot import prepare_ballot, validate_choices
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal

CHOICES = {"majlis": ["1101", "1104", "1109"], "experts": ["2203"]}


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def delivered(running: RunningTerminal) -> None:
    deadline = time.monotonic() + 15
    while running.booth.journal.counts().waiting:
        assert time.monotonic() < deadline, "journal not delivered in time"
        time.sleep(0.05)


def challenge_and_cast(station: StationHarness, kiosk: KioskClient) -> tuple[str, str]:
    """A voter challenges once and then casts; (the slip's QR text, the cast code)."""
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    kiosk.post("challenge")
    slip_text = printed_qr_codes(station.printer.receipts[-1])[0].decode("ascii")
    kiosk.post("vote-again")
    cast = kiosk.vote(CHOICES)
    station.reader.remove()
    return slip_text, cast


def test_a_scanned_or_typed_slip_shows_the_choices_on_the_board_page_and_in_the_cli(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    slip_text, _ = challenge_and_cast(station, kiosk)
    delivered(running)
    status, page = fetch(slip_text)  # what a phone's camera opens
    assert status == 200 and 'id="result"' in page
    for contest in station.manifest.contests:
        for candidate in contest.candidates:
            shown = f"({candidate.code} {candidate.name.en})" in page
            assert shown == (str(candidate.selection_id) in CHOICES[contest.contest_id])
    typed = parse_slip(slip_text).payload().lower()
    status, page = fetch(f"{station.server_url}/check?slip={urllib.parse.quote(typed)}")
    assert status == 200 and 'id="result"' in page
    result = CliRunner().invoke(main, ["check-slip", slip_text])
    assert result.exit_code == 0, result.output
    for selection_id in CHOICES["majlis"]:
        assert f"  {selection_id}  " in result.output


def test_a_cast_code_an_unknown_code_garbage_and_a_forged_digest_are_each_explained(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    slip_text, cast = challenge_and_cast(station, kiosk)
    delivered(running)
    slip = parse_slip(slip_text)
    forged_digest = "0" * 32 if slip.secrets_digest != "0" * 32 else "1" * 32
    cases = {
        "slip_not_challenged": f"EVC2:{cast}:{slip.secrets_digest}",
        "slip_not_on_board": f"EVC2:{'ab' * 32}:{slip.secrets_digest}",
        "slip_secrets_differ": f"EVC2:{slip.tracking_code}:{forged_digest}",
        "invalid_slip": "not a slip",
    }
    for code, text in cases.items():
        status, page = fetch(f"{station.server_url}/check?slip={urllib.parse.quote(text)}")
        assert 400 <= status < 500 and f'data-code="{code}"' in page, code
        result = CliRunner().invoke(main, ["check-slip", text, "--server", station.server_url])
        assert result.exit_code != 0 and code in result.output, code


MANIFEST = Manifest.from_json(sample_manifest(date(2026, 3, 1)))


def board_answer(context: ElectionContext) -> tuple[Any, dict[str, Any]]:
    """A challenged ballot as the board's lookup publishes it, and the ballot itself."""
    choices = validate_choices(MANIFEST, "tehran-1", CHOICES)
    prepared = prepare_ballot(context, MANIFEST, "tehran-1", choices, GENESIS_TRACKING_CODE)
    body = {
        "ballot": prepared.ballot.to_json(),
        "secrets": prepared.secrets.to_json(),
        "previous_tracking_code": GENESIS_TRACKING_CODE.hex(),
        "tracking_code": prepared.tracking_code.hex(),
    }
    found = {
        "found": True,
        "kind": "challenged",
        "station_id": "S-101",
        "board_position": 3,
        "entry": {"payload": {"payload": {"body": body}}},
    }
    return prepared, found


def test_secrets_that_do_not_reproduce_the_ballot_are_caught_even_with_a_matching_digest() -> None:
    context = ElectionContext(bytes(32), base_mul(random_scalar()))
    prepared, found = board_answer(context)
    slip = slip_for(prepared.tracking_code, prepared.secrets)
    assert check_slip(slip, found, context, MANIFEST).choices == CHOICES
    lying = copy.deepcopy(found)
    secrets = lying["entry"]["payload"]["payload"]["body"]["secrets"]
    secrets["majlis"]["1101"]["value"], secrets["majlis"]["1102"]["value"] = 0, 1
    with pytest.raises(SlipError) as differ:
        check_slip(slip, lying, context, MANIFEST)
    assert differ.value.code == "slip_secrets_differ"
    # A terminal that printed the digest of secrets which do not open its ballot.
    lied = BallotSecrets.from_json(secrets)
    with pytest.raises(SlipError) as opened:
        check_slip(slip_for(prepared.tracking_code, lied), lying, context, MANIFEST)
    assert opened.value.code == "slip_does_not_open"
    assert secrets_digest(lied) != slip.secrets_digest
