"""Decoded results per unit and contest, the outcome per contest, as JSON and CSV.

Branch forms report per contest: ballots cast, blank, valid and votes per
candidate code; every level of the hierarchy gets the same rows so that a
county's published figures can be checked against its stations'. The
outcome is decided on the national unit, which holds every contest's full
electorate (a contest belongs to one district's ballot style).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Final

from crypto.ballot import BLANK_KEY
from evote.manifest import Manifest, Name
from tally.decryption import Decryption
from tally.outcome import decide
from tally.provisional import BANNER, PROVISIONAL
from tally.totals import NATIONAL_ID, EncryptedTotals, UnitTotals

RESULTS_FORMAT: Final = "evote-results/1"
CSV_COLUMNS: Final = (
    "level",
    "unit_id",
    "contest_id",
    "ballots_cast",
    "blank",
    "valid",
    "candidate_code",
    "votes",
)
NATIONAL_NAME: Final = Name(fa="کل کشور", en="National")


def unit_name(manifest: Manifest, level: str, unit_id: str) -> Name:
    """The display name of a unit of the hierarchy."""
    if level == "station":
        return manifest.station(unit_id).name
    if level == "county":
        return next(c.name for c in manifest.counties if c.county_id == unit_id)
    if level == "province":
        return next(p.name for p in manifest.provinces if p.province_id == unit_id)
    return NATIONAL_NAME


def _unit_results(
    manifest: Manifest, unit: UnitTotals, counts: Mapping[str, int]
) -> dict[str, Any]:
    contests = []
    for contest_id, totals in unit.contests.items():
        contest = manifest.contest(contest_id)
        blank = counts[unit.label(contest_id, BLANK_KEY)]
        contests.append(
            {
                "contest_id": contest_id,
                "ballots_cast": totals.ballots,
                "blank": blank,
                "valid": totals.ballots - blank,
                "votes": {
                    c.selection_id: counts[unit.label(contest_id, c.selection_id)]
                    for c in contest.candidates
                },
            }
        )
    return {
        "level": unit.level,
        "unit_id": unit.unit_id,
        "parent_id": unit.parent_id,
        "name": unit_name(manifest, unit.level, unit.unit_id).to_json(),
        "contests": contests,
    }


def build_results(
    manifest: Manifest, totals: EncryptedTotals, decryption: Decryption, quorum: int
) -> dict[str, Any]:
    """The ``results/results.json`` document; the verifier rebuilds it and compares."""
    units = [_unit_results(manifest, unit, decryption.counts) for unit in totals.units]
    national = totals.unit("national", NATIONAL_ID)
    outcomes = []
    for contest_id in national.contests:
        contest = manifest.contest(contest_id)
        row = next(c for c in units[-1]["contests"] if c["contest_id"] == contest_id)
        votes = {int(code): value for code, value in row["votes"].items()}
        outcomes.append(decide(contest, votes, row["valid"]).to_json())
    return {
        "format": RESULTS_FORMAT,
        "election_id": totals.election_id,
        "base_hash": totals.base_hash.hex(),
        "quorum": quorum,
        "trustees_used": sorted(decryption.trustees_used),
        "rejected_shares": [item.to_json() for item in decryption.rejected],
        "units": units,
        "outcomes": outcomes,
    }


def results_csv(results: Mapping[str, Any]) -> str:
    """One row per unit, contest and candidate; the flat form spreadsheets read."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if PROVISIONAL in results:
        stations = " ".join(results[PROVISIONAL]["open_stations"])
        buffer.write(f"# {BANNER['en']}: {stations}\n")
    writer.writerow(CSV_COLUMNS)
    for unit in results["units"]:
        for contest in unit["contests"]:
            for code, votes in contest["votes"].items():
                writer.writerow(
                    [
                        unit["level"],
                        unit["unit_id"],
                        contest["contest_id"],
                        contest["ballots_cast"],
                        contest["blank"],
                        contest["valid"],
                        code,
                        votes,
                    ]
                )
    return buffer.getvalue()
