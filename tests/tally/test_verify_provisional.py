"""Provisional ballots in the record: the tally sums exactly the counted ones and the
verifier fails if the registry's resolution is changed, dropped or added to."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evote.manifest import Manifest
from tally.ceremony import CeremonyResult, decrypt_with_trustees
from tally.cli import verify
from tally.errors import RecordError, VerificationFailure
from tally.pipeline import finish_tally, write_totals
from tally.record import PROVISIONAL_RESOLUTION, TOTALS, Record
from tally.testing import RecordKeys, Vote, build_record, random_votes
from tally.verifier import verify_record

# Index in the vote list -> the registry's decision (every third vote offline).
DECISIONS = {
    1: "counted",
    4: "checked_in_earlier",
    7: "counted",
    10: "voted_online",
    13: "card_revoked",
}


@pytest.fixture(scope="module")
def provisional_record(
    tmp_path_factory: pytest.TempPathFactory,
    ceremony: CeremonyResult,
    manifest_document: dict[str, Any],
    passphrases: dict[int, bytes],
) -> tuple[Path, RecordKeys, list[Vote]]:
    root = tmp_path_factory.mktemp("provisional") / "record"
    votes = [
        dataclasses.replace(vote, provisional=DECISIONS.get(number))
        for number, vote in enumerate(random_votes(Manifest.from_json(manifest_document), 16))
    ]
    keys = build_record(root, ceremony, manifest_document, votes, terminals_per_station=2)
    record = Record(root)
    totals = write_totals(record)
    envelopes = decrypt_with_trustees(ceremony, {1: passphrases[1], 2: passphrases[2]}, totals)
    finish_tally(record, envelopes)
    return root, keys, votes


@pytest.fixture
def copy(provisional_record: tuple[Path, RecordKeys, list[Vote]], tmp_path: Path) -> Path:
    target = tmp_path / "record"
    shutil.copytree(provisional_record[0], target)
    return target


def test_the_totals_count_exactly_the_counted_provisional_ballots_and_the_record_verifies(
    provisional_record: tuple[Path, RecordKeys, list[Vote]],
) -> None:
    root, _, votes = provisional_record
    result = CliRunner().invoke(verify, [str(root)])
    assert result.exit_code == 0, result.output
    assert "ok    provisional ballots: one registry decision each, only the counted summed (5)" in (
        result.output
    )
    counting = [v for v in votes if v.provisional in (None, "counted") and not v.challenged]
    units = json.loads((root / TOTALS).read_text())["units"]
    national = next(unit for unit in units if unit["level"] == "national")
    assert {contest["ballots"] for contest in national["contests"]} == {len(counting)}


def _resign(root: Path, keys: RecordKeys, change: Callable[[list[dict[str, Any]]], None]) -> None:
    """Change the decisions and sign again with the registry's own key."""
    envelope = json.loads((root / PROVISIONAL_RESOLUTION).read_text())
    payload = envelope["payload"]
    change(payload["decisions"])
    signed = keys.registry.sign("provisional-resolution", payload).to_json()
    (root / PROVISIONAL_RESOLUTION).write_text(json.dumps(signed))


def _failure(root: Path) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        verify_record(root)
    return caught.value


def test_an_excluded_ballot_turned_counted_no_longer_matches_the_totals(
    copy: Path, provisional_record: tuple[Path, RecordKeys, list[Vote]]
) -> None:
    def count_the_excluded(decisions: list[dict[str, Any]]) -> None:
        excluded = next(item for item in decisions if item["decision"] == "excluded")
        excluded.update(decision="counted", reason=None)

    _resign(copy, provisional_record[1], count_the_excluded)
    assert _failure(copy).code == "totals_mismatch"


def test_a_dropped_decision_leaves_a_provisional_ballot_undecided(
    copy: Path, provisional_record: tuple[Path, RecordKeys, list[Vote]]
) -> None:
    _resign(copy, provisional_record[1], lambda decisions: decisions.pop(1))
    assert _failure(copy).code == "provisional_undecided"
    (copy / PROVISIONAL_RESOLUTION).unlink()
    assert _failure(copy).code == "provisional_undecided"


def test_an_added_decision_for_an_online_ballot_is_a_stray(
    copy: Path, provisional_record: tuple[Path, RecordKeys, list[Vote]]
) -> None:
    def add(decisions: list[dict[str, Any]]) -> None:
        decisions.insert(0, {**decisions[0], "board_position": 0, "authorization_id": "ab" * 8})

    _resign(copy, provisional_record[1], add)
    assert _failure(copy).code == "provisional_stray_decision"


def test_a_decision_naming_another_ballots_authorization_is_refused(
    copy: Path, provisional_record: tuple[Path, RecordKeys, list[Vote]]
) -> None:
    def swap(decisions: list[dict[str, Any]]) -> None:
        first, second = decisions[0], decisions[1]
        first["authorization_id"], second["authorization_id"] = (
            second["authorization_id"],
            first["authorization_id"],
        )

    _resign(copy, provisional_record[1], swap)
    assert _failure(copy).code == "provisional_mismatch"


def test_a_resolution_changed_without_the_registry_key_fails_its_signature(copy: Path) -> None:
    envelope = json.loads((copy / PROVISIONAL_RESOLUTION).read_text())
    envelope["payload"]["decisions"][0]["decision"] = "excluded"
    envelope["payload"]["decisions"][0]["reason"] = "deceased"
    (copy / PROVISIONAL_RESOLUTION).write_text(json.dumps(envelope))
    with pytest.raises((VerificationFailure, RecordError)) as caught:
        verify_record(copy)
    assert PROVISIONAL_RESOLUTION in str(caught.value)


def _resign_closing(root: Path, keys: RecordKeys, change: Callable[[dict[str, Any]], None]) -> str:
    """Change the first station's closing report and sign it again with the server key."""
    path = sorted((root / "reports").glob("*-closing.json"))[0]
    envelope = json.loads(path.read_text())
    change(envelope["payload"])
    path.write_text(json.dumps(keys.server.sign("poll-report", envelope["payload"]).to_json()))
    return str(envelope["payload"]["station_id"])


def test_every_station_balances_check_ins_against_ballots_released_unused_and_excluded(
    provisional_record: tuple[Path, RecordKeys, list[Vote]],
) -> None:
    root, _, votes = provisional_record
    result = CliRunner().invoke(verify, [str(root)])
    stations = {vote.station_id for vote in votes}
    line = (
        "ok    stations reconciled: check-ins online + offline = ballots counted + released"
        f" + unused + excluded ({len(stations)})"
    )
    assert line in result.output.splitlines()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda report: report.update(authorizations_issued=report["authorizations_issued"] + 1),
            id="one check-in more",
        ),
        pytest.param(
            lambda report: report.update(offline_check_ins=report["offline_check_ins"] - 1),
            id="one offline check-in less",
        ),
        pytest.param(
            lambda report: report.update(
                offline_check_ins=report["offline_check_ins"] - 1 - report["provisional_unused"],
                provisional_unused=-1,
            ),
            id="a provisional ballot without a check-in",
        ),
        pytest.param(
            lambda report: report.update(
                ballots_cast=report["ballots_cast"] - 1,
                authorizations_unused=report["authorizations_unused"] + 1,
            ),
            id="a ballot hidden as unused",
        ),
    ],
)
def test_a_closing_report_that_does_not_balance_fails_the_verifier_in_one_line(
    copy: Path,
    provisional_record: tuple[Path, RecordKeys, list[Vote]],
    change: Callable[[dict[str, Any]], None],
) -> None:
    station_id = _resign_closing(copy, provisional_record[1], change)
    failure = _failure(copy)
    assert failure.code == "station_unbalanced"
    assert station_id in str(failure)
    result = CliRunner().invoke(verify, [str(copy)])
    assert result.exit_code != 0
    failed = [line for line in result.output.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and station_id in failed[0]
