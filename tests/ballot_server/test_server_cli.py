"""`evote server init` checks every input before it stores anything."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from ballot_server.cli import server
from crypto.threshold import generate_trustee
from evote.manifest import Manifest
from evote.sample import roll_csv, sample_manifest, sample_people

ELECTION_DAY = date(2026, 3, 1)


def election_files(root: Path) -> tuple[Path, Path, Path]:
    document = sample_manifest(ELECTION_DAY)
    manifest = Manifest.from_json(document)
    manifest_path = root / "manifest.json"
    manifest_path.write_text(json.dumps(document), encoding="utf-8")
    trustees = root / "exchange"
    trustees.mkdir()
    for index in range(1, manifest.trustee_count + 1):
        _, public = generate_trustee(index, manifest.quorum, manifest.manifest_hash)
        (trustees / f"trustee-{index}.json").write_text(json.dumps(public.to_json()))
    roll = root / "roll.csv"
    roll.write_text(roll_csv(sample_people(ELECTION_DAY, size=40)[0]), encoding="utf-8")
    return manifest_path, trustees, roll


def init(data_dir: Path, manifest: Path, trustees: Path, roll: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        server,
        ["init", "--data-dir", str(data_dir), "--manifest", str(manifest)]
        + ["--trustees", str(trustees), "--roll", str(roll)],
    )
    return result.exit_code, result.output


def test_a_broken_manifest_is_named_and_nothing_is_created(tmp_path: Path) -> None:
    manifest, trustees, roll = election_files(tmp_path)
    document = json.loads(manifest.read_text())
    document["contests"][0]["votes_allowed"] = 99
    manifest.write_text(json.dumps(document))
    code, output = init(tmp_path / "hq", manifest, trustees, roll)
    assert code == 1
    assert "manifest.contests[0].votes_allowed" in output
    assert not (tmp_path / "hq").exists()


def test_a_bad_roll_leaves_no_election_behind_and_a_good_one_then_succeeds(tmp_path: Path) -> None:
    manifest, trustees, roll = election_files(tmp_path)
    good = roll.read_text()
    lines = good.splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[0], "1234567890")
    roll.write_text("\n".join(lines) + "\n")
    code, output = init(tmp_path / "hq", manifest, trustees, roll)
    assert code == 1 and "line 4" in output

    roll.write_text(good)
    code, output = init(tmp_path / "hq", manifest, trustees, roll)
    assert code == 0, output
    assert "election majlis-12 created" in output
