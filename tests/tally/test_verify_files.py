"""Whatever a record's files hold, `evote verify` answers with one located FAIL line.

Missing, non-UTF-8, oversized, wrong-type files and directories where a file
should be each name the file (and line); a hypothesis fuzz of every file of
the record holds that no input makes the verifier raise anything else.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from record_tampering import cli_verify, failure, one_fail_line, read_document, write_document
from strategies import json_values

from crypto.ballot import ContestSpec, ElectionContext, EncryptedBallot
from crypto.canonical import MAX_DOCUMENT_BYTES, canonical_json
from tally import record as record_module
from tally import verify_ballots
from tally.errors import RecordError, VerificationFailure
from tally.record import CONSISTENCY, ENTRIES, RECEIPTS, RESULTS_JSON, ROOTS, Record
from tally.verifier import verify_record
from tally.verify_audit import AUDIT_LOG


def _break_line(root: Path, relative: str, index: int, junk: bytes) -> None:
    lines = (root / relative).read_bytes().split(b"\n")
    lines[index] = lines[index][:40] + junk + lines[index][40:]
    (root / relative).write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("relative", [ENTRIES, AUDIT_LOG, RECEIPTS, ROOTS])
def test_a_line_that_is_not_utf8_is_one_fail_line_naming_it(
    record_copy: Path, relative: str
) -> None:
    _break_line(record_copy, relative, 0, b"\xff\xfe")
    line = one_fail_line(cli_verify(record_copy))
    assert f"{relative}:1" in line
    assert "[not_utf8]" in line


@pytest.mark.parametrize(
    "relative", [ENTRIES, AUDIT_LOG, ROOTS, RESULTS_JSON, "manifest.json", "FORMAT"]
)
def test_a_directory_where_a_file_should_be_is_named(record_copy: Path, relative: str) -> None:
    (record_copy / relative).unlink()
    (record_copy / relative).mkdir()
    line = one_fail_line(cli_verify(record_copy))
    assert relative in line
    assert "[not_a_file]" in line


@pytest.mark.parametrize("relative", [ENTRIES, AUDIT_LOG, ROOTS, CONSISTENCY, RECEIPTS])
def test_a_missing_log_is_a_failure_not_an_empty_one(record_copy: Path, relative: str) -> None:
    (record_copy / relative).unlink()
    failure_found = failure(record_copy)
    assert (failure_found.location, failure_found.code) == (relative, "missing_file")


def test_a_line_longer_than_any_document_is_named(record_copy: Path) -> None:
    lines = (record_copy / ENTRIES).read_bytes().split(b"\n")
    lines[1] = b'{"padding":"' + b"x" * MAX_DOCUMENT_BYTES + b'"}'
    (record_copy / ENTRIES).write_bytes(b"\n".join(lines))
    found = failure(record_copy)
    assert (found.location, found.code) == (f"{ENTRIES}:2", "oversized_line")


def test_a_file_larger_than_the_limit_is_refused_and_one_at_the_limit_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in parts, the limit still holds to the byte."""
    monkeypatch.setattr(record_module, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(record_module, "READ_PART_BYTES", 7)
    (tmp_path / "at-limit.json").write_bytes(b"x" * 100)
    (tmp_path / "over-limit.json").write_bytes(b"x" * 101)
    record = Record(tmp_path)
    assert record.read_bytes("at-limit.json") == b"x" * 100
    with pytest.raises(RecordError) as raised:
        record.read_bytes("over-limit.json")
    assert (raised.value.location, raised.value.code) == ("over-limit.json", "oversized_file")


@pytest.mark.parametrize(
    ("relative", "value"),
    [("election.json", []), (RESULTS_JSON, [1]), ("manifest.json", "manifest")],
)
def test_a_file_of_the_wrong_json_type_is_named(
    record_copy: Path, relative: str, value: Any
) -> None:
    write_document(record_copy, relative, value)
    assert relative in one_fail_line(cli_verify(record_copy))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_terminal_without_a_station_is_one_fail_line(record_copy: Path, workers: str) -> None:
    election = read_document(record_copy, "election.json")
    del election["terminals"][1]["station_id"]
    write_document(record_copy, "election.json", election)
    line = one_fail_line(cli_verify(record_copy, "--workers", workers))
    assert "election.json:terminals[1].station_id" in line


def _record_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _replace_somewhere(data: st.DataObject, value: Any) -> Any:
    """``value`` with one subtree (chosen by hypothesis) replaced by any JSON value."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_somewhere(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], _replace_somewhere(data, value[index]), *value[index + 1 :]]
    return data.draw(json_values)


def _mutate(data: st.DataObject, original: bytes, jsonl: bool) -> bytes:
    how = data.draw(st.sampled_from(["json", "bytes", "truncate", "append"]))
    if how == "bytes":
        return data.draw(st.binary(max_size=64))
    if how == "truncate":
        return original[: data.draw(st.integers(0, max(0, len(original) - 1)))]
    if how == "append":
        return original + data.draw(st.binary(min_size=1, max_size=32))
    lines = original.split(b"\n") if jsonl else [original]
    index = data.draw(st.integers(0, max(0, len(lines) - 1)))
    try:
        document = json.loads(lines[index])
    except ValueError:
        return data.draw(st.binary(max_size=64))
    lines[index] = canonical_json(_replace_somewhere(data, document))
    return b"\n".join(lines)


@pytest.fixture(scope="module")
def ballot_proofs_checked_once() -> Iterator[None]:
    """Each ballot's proofs verified once for the whole fuzz, not once per example.

    ``crypto.ballot.verify_ballot`` is pure (``crypto/`` holds no state), so a ballot
    whose bytes, election and contests passed once passes again: the fuzz is about
    what file contents do to the verifier, and a mutated ballot has other bytes and
    is verified afresh. Failures are never remembered."""
    passed: set[tuple[bytes, bytes, str, bytes]] = set()
    verify = verify_ballots.verify_ballot

    def once(
        context: ElectionContext, contests: Sequence[ContestSpec], ballot: EncryptedBallot
    ) -> None:
        key = (
            context.base_hash,
            context.public_key.to_bytes(),
            repr(list(contests)),
            ballot.canonical_bytes(),
        )
        if key not in passed:
            verify(context, contests, ballot)
            passed.add(key)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(verify_ballots, "verify_ballot", once)
        yield


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_content_of_any_record_file_makes_the_verifier_raise_anything_else(
    pristine_record: Path, ballot_proofs_checked_once: None, data: st.DataObject
) -> None:
    relative = data.draw(st.sampled_from(_record_files(pristine_record)))
    original = (pristine_record / relative).read_bytes()
    mutated = _mutate(data, original, relative.endswith(".jsonl"))
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "record"
        shutil.copytree(pristine_record, root)
        (root / relative).write_bytes(mutated)
        try:
            verify_record(root)
        except VerificationFailure as found:
            assert str(found).count("\n") == 0
