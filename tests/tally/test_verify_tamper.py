"""`evote verify` passes on an honest record and names what fails on a tampered one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from tally.cli import verify
from tally.errors import VerificationFailure
from tally.record import ENTRIES, RESULTS_JSON, SHARES
from tally.verifier import verify_record
from tally.verify_ballots import ENTRY_DOMAIN


def _lines(root: Path) -> list[str]:
    return (root / ENTRIES).read_text(encoding="utf-8").splitlines()


def _write(root: Path, lines: list[str]) -> None:
    (root / ENTRIES).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _rechain(lines: list[str]) -> list[str]:
    """Recompute positions and hashes, as an attacker who controls the board file would."""
    previous, result = bytes(32), []
    for position, line in enumerate(lines):
        entry = json.loads(line)
        entry["position"], entry["previous_hash"] = position, previous.hex()
        digest = hash_bytes(
            ENTRY_DOMAIN, previous, position, entry["kind"], canonical_json(entry["payload"])
        )
        entry["entry_hash"] = digest.hex()
        previous = digest
        result.append(canonical_json(entry).decode("utf-8"))
    return result


def _failure(root: Path) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        verify_record(root)
    return caught.value


def _flip_ballot_byte(line: str) -> str:
    marker = '"alpha":"'
    at = line.index(marker) + len(marker) + 10
    return line[:at] + ("0" if line[at] != "0" else "1") + line[at + 1 :]


def test_an_honest_record_verifies_on_two_workers_and_prints_every_check(
    pristine_record: Path,
) -> None:
    result = CliRunner().invoke(verify, [str(pristine_record), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "ok    board hash chain (16)" in result.output
    assert "ok    decryption proofs" in result.output
    assert result.output.strip().endswith("record verified")


def test_changing_one_byte_of_one_ballot_is_named_by_line(record_copy: Path) -> None:
    lines = _lines(record_copy)
    lines[2] = _flip_ballot_byte(lines[2])
    _write(record_copy, lines)
    failure = _failure(record_copy)
    assert failure.location == f"{ENTRIES}:3"


def test_a_changed_ballot_on_a_rechained_board_fails_the_terminal_signature(
    record_copy: Path,
) -> None:
    lines = _lines(record_copy)
    lines[2] = _flip_ballot_byte(lines[2])
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert failure.location == f"{ENTRIES}:3"
    assert failure.code in {"invalid_signature", "invalid_point", "malformed_hex"}


def test_dropping_a_ballot_breaks_the_board_chain(record_copy: Path) -> None:
    lines = _lines(record_copy)
    del lines[4]
    _write(record_copy, lines)
    failure = _failure(record_copy)
    assert (failure.check, failure.location) == ("board chain", f"{ENTRIES}:5")


def test_dropping_a_ballot_from_a_rechained_board_breaks_the_terminal_chain(
    record_copy: Path,
) -> None:
    lines = _lines(record_copy)
    del lines[0]
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert failure.check == "terminal chains"
    assert failure.code == "bad_sequence"


def test_a_duplicated_ballot_is_caught_even_on_a_rechained_board(record_copy: Path) -> None:
    lines = _lines(record_copy)
    lines.insert(6, lines[5])
    _write(record_copy, lines)
    assert _failure(record_copy).location == f"{ENTRIES}:7"
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert failure.check == "terminal chains"
    assert failure.location == f"{ENTRIES}:7"


def test_reordering_the_chain_is_caught(record_copy: Path) -> None:
    lines = _lines(record_copy)
    lines[3], lines[7] = lines[7], lines[3]
    _write(record_copy, lines)
    assert _failure(record_copy).location == f"{ENTRIES}:4"


def test_an_altered_result_is_named(record_copy: Path) -> None:
    results = json.loads((record_copy / RESULTS_JSON).read_text(encoding="utf-8"))
    votes = results["units"][-1]["contests"][0]["votes"]
    first = next(iter(votes))
    votes[first] += 1
    (record_copy / RESULTS_JSON).write_bytes(canonical_json(results))
    failure = _failure(record_copy)
    assert failure.check == "results"
    assert f"votes.{first}" in failure.detail


def test_swapping_two_decryption_shares_names_the_trustee(record_copy: Path) -> None:
    document = json.loads((record_copy / SHARES).read_text(encoding="utf-8"))
    shares = document["envelopes"][0]["payload"]["shares"]
    first, second = list(shares)[:2]
    shares[first], shares[second] = shares[second], shares[first]
    (record_copy / SHARES).write_bytes(canonical_json(document))
    failure = _failure(record_copy)
    assert failure.check == "decryption shares"
    assert "trustee 1" in failure.detail


def test_the_cli_exits_non_zero_naming_the_first_failure(record_copy: Path) -> None:
    lines = _lines(record_copy)
    del lines[4]
    _write(record_copy, lines)
    result = CliRunner().invoke(verify, [str(record_copy), "--no-progress"])
    assert result.exit_code == 1
    assert f"FAIL  board chain: {ENTRIES}:5" in result.output
