"""`evote server init` checks every input before it stores anything; `run` its options;
`sync-inquiry` completes the inquiry's copies."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from ballot_server.cli import server
from ballot_server.keys import KeyMismatch, load_keys
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote.certificates import TRUSTEE_KEYS_KIND
from evote.manifest import Manifest
from evote.sample import roll_csv, sample_manifest, sample_people
from tally.ceremony import keys_hash

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
        binding = {
            "election_id": manifest.election_id,
            "manifest_hash": manifest.manifest_hash.hex(),
            "trustee_index": index,
            "keys_hash": keys_hash(public),
        }
        signer = SigningKey.generate().sign(TRUSTEE_KEYS_KIND, binding)
        (trustees / f"trustee-{index}.signer.json").write_text(json.dumps(signer.to_json()))
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


@pytest.fixture
def hq(tmp_path: Path) -> Path:
    """HQ's data dir with the sample election created by `evote server init`."""
    data_dir = tmp_path / "hq"
    assert init(data_dir, *election_files(tmp_path))[0] == 0
    return data_dir


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


def test_run_names_an_unknown_service_and_does_not_start(hq: Path) -> None:
    result = CliRunner().invoke(
        server, ["run", "--data-dir", str(hq), "--services", "inquiry,tally"]
    )
    assert result.exit_code == 1
    assert "expected some of intake, inquiry" in result.output


def test_sync_inquiry_restores_missing_copies_once_and_refuses_a_different_one(
    hq: Path,
) -> None:
    runner = CliRunner()
    key = SigningKey.generate().public_key.hex()
    registered = runner.invoke(
        server, ["register-terminal", "--data-dir", str(hq)] + ["T1", "S-101", key]
    )
    assert registered.exit_code == 0, registered.output
    registry = sqlite3.connect(hq / "registry.sqlite")
    with registry:
        registry.execute("DELETE FROM inquiry_terminals")
        registry.execute("DELETE FROM inquiry_election")

    def sync() -> tuple[int, str]:
        result = runner.invoke(server, ["sync-inquiry", "--data-dir", str(hq)])
        return result.exit_code, result.output

    assert sync() == (0, "2 copies written to the registry database\n")
    assert sync() == (0, "0 copies written to the registry database\n")
    assert registry.execute("SELECT public_key FROM inquiry_terminals").fetchall() == [(key,)]
    with registry:
        registry.execute("UPDATE inquiry_terminals SET public_key = ?", ("00" * 32,))
    code, output = sync()
    assert code == 1 and "holds another 'T1'" in output
    registry.close()


def test_host_keys_hold_only_the_services_private_keys(hq: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for services, private in (("inquiry", {"inquiry.key"}), ("intake", {"server.key"})):
        out = tmp_path / services
        result = runner.invoke(
            server, ["host-keys", "--data-dir", str(hq), "--services", services, str(out)]
        )
        assert result.exit_code == 0, result.output
        publics = {"hq.pub", "registry.pub", "inquiry.pub", "server.pub"}
        assert {path.name for path in out.iterdir()} == publics | private
        assert load_keys(out).inquiry_public == load_keys(hq / "keys").inquiry_public


def test_host_keys_refuse_a_non_empty_directory_and_init_never_overwrites_keys(
    hq: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    inquiry_dir = tmp_path / "inquiry-host" / "keys"
    args = ["host-keys", "--data-dir", str(hq), "--services", "inquiry"]
    assert runner.invoke(server, [*args, str(inquiry_dir)]).exit_code == 0
    again = runner.invoke(server, [*args, str(inquiry_dir)])
    assert again.exit_code == 1 and "not empty" in again.output
    seed = (inquiry_dir / "inquiry.key").read_text()
    assert oct((inquiry_dir / "inquiry.key").stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "other"
    other.mkdir()
    init(inquiry_dir.parent, *election_files(other))
    assert (inquiry_dir / "inquiry.key").read_text() == seed
    assert not (inquiry_dir / "server.key").exists()


def test_a_public_key_file_that_does_not_match_its_private_key_is_refused(hq: Path) -> None:
    (hq / "keys" / "server.pub").write_text(SigningKey.generate().public_key.hex() + "\n")
    with pytest.raises(KeyMismatch) as caught:
        load_keys(hq / "keys")
    assert caught.value.role == "server"
    result = CliRunner().invoke(server, ["turnout", "--data-dir", str(hq)])
    assert result.exit_code == 1
    assert "server.pub is not the public key of server.key" in result.output
