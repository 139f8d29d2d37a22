"""`evote verify` passes on an honest record and names what fails on a tampered one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import insider
import pytest
from click.testing import CliRunner
from insider import ServerInsider
from record_tampering import (
    append_audit_event,
    cli_verify,
    one_fail_line,
    read_document,
    read_lines,
    write_document,
    write_lines,
)

from ballot_server.audit import EVENTS
from ballot_server.audit import entry_hash as server_entry_hash
from crypto.ballot import ElectionContext, EncryptedBallot, encrypt_ballot, tracking_code
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from crypto.signing import SigningKey
from evote.certificates import (
    REGISTRATION_KIND,
    REVOCATION_KIND,
    registration_payload,
    revocation_payload,
)
from evote.countersign import COUNTERSIGNED
from evote.manifest import Manifest
from evote.protocol import VOID_KIND, ballot_body, build_terminal_request
from tally.ceremony import CeremonyResult
from tally.cli import verify
from tally.errors import VerificationFailure
from tally.record import CONSISTENCY, ENTRIES, POLL_TAPES, RECEIPTS, RESULTS_JSON, ROOTS, SHARES
from tally.testing import NationalLog, RecordKeys, audit_log, close_request, void
from tally.verifier import verify_record
from tally.verify_audit import AUDIT_EVENTS, AUDIT_LOG, SUBTOTALS, audit_entry_hash
from tally.verify_ballots import ENTRY_DOMAIN
from tally.verify_declarations import CLOSED_BY
from tally.verify_revocations import REVOCATIONS
from tally.verify_voids import VOIDED_COUNT, VOIDS


def _lines(root: Path) -> list[str]:
    return (root / ENTRIES).read_text(encoding="utf-8").splitlines()


def _write(root: Path, lines: list[str]) -> None:
    (root / ENTRIES).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _rechain(lines: list[str]) -> list[str]:
    """Recompute each shard's positions and hashes, as an attacker who controls the
    board file would (the signed national roots still name the old heads)."""
    station, previous, position, result = "", bytes(32), 0, []
    for line in lines:
        entry = json.loads(line)
        if entry["station_id"] != station:
            station, previous, position = entry["station_id"], bytes(32), 0
        entry["position"], entry["previous_hash"] = position, previous.hex()
        digest = hash_bytes(
            ENTRY_DOMAIN,
            previous,
            station,
            position,
            entry["kind"],
            canonical_json(entry["payload"]),
        )
        entry["entry_hash"] = digest.hex()
        previous, position = digest, position + 1
        result.append(canonical_json(entry).decode("utf-8"))
    return result


def _republish(root: Path, lines: list[str], keys: RecordKeys) -> None:
    """Write ``lines`` with one national root over them signed by the server's key,
    as a server that took part in the forgery would."""
    shards: dict[str, list[dict[str, Any]]] = {}
    for entry in map(json.loads, lines):
        shards.setdefault(entry["station_id"], []).append(entry)
    log = NationalLog(keys.server)
    log.publish(shards, at=1_790_000_000)
    _write(root, lines)
    (root / ROOTS).write_bytes(canonical_json(log.roots[0]) + b"\n")
    (root / CONSISTENCY).write_bytes(b"")


def _middle_of_a_shard(lines: list[str]) -> int:
    """The index of an entry with an entry of its own station on either side."""
    stations = [json.loads(line)["station_id"] for line in lines]
    return next(i for i in range(1, len(lines) - 1) if len(set(stations[i - 1 : i + 2])) == 1)


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
    assert "ok    board shard chains (16)" in result.output
    assert "ok    national roots rebuilt from the shards, every entry included (16)" in (
        result.output
    )
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


def test_dropping_a_ballot_breaks_its_shard_chain(record_copy: Path) -> None:
    lines = _lines(record_copy)
    dropped = _middle_of_a_shard(lines)
    del lines[dropped]
    _write(record_copy, lines)
    failure = _failure(record_copy)
    assert (failure.check, failure.location) == ("board shards", f"{ENTRIES}:{dropped + 1}")


def test_dropping_a_ballot_from_a_rechained_shard_fails_the_signed_root(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    lines = _lines(record_copy)
    del lines[_middle_of_a_shard(lines)]
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("national roots", "shard_head_mismatch")
    assert failure.location.startswith("board/roots.jsonl:")
    _republish(record_copy, _rechain(lines), record_keys)
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("terminal chains", "bad_sequence")


def test_a_duplicated_ballot_is_caught_even_on_a_rechained_board(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    lines = _lines(record_copy)
    lines.insert(6, lines[5])
    _write(record_copy, lines)
    assert _failure(record_copy).location == f"{ENTRIES}:7"
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("national roots", "shard_head_mismatch")
    _republish(record_copy, _rechain(lines), record_keys)
    failure = _failure(record_copy)
    assert (failure.check, failure.location) == ("terminal chains", f"{ENTRIES}:7")


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
    dropped = _middle_of_a_shard(lines)
    del lines[dropped]
    _write(record_copy, lines)
    result = CliRunner().invoke(verify, [str(record_copy), "--no-progress"])
    assert result.exit_code == 1
    assert f"FAIL  board shards: {ENTRIES}:{dropped + 1}" in result.output


def _entries(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(root)]


def _resign(entry: dict[str, Any], keys: RecordKeys) -> str:
    """Re-sign an edited request and recompute its tracking code, as a rogue terminal could."""
    request = entry["payload"]["payload"]
    body = request["body"]
    ballot = EncryptedBallot.from_json(body["ballot"])
    previous = bytes.fromhex(body["previous_tracking_code"])
    body["tracking_code"] = tracking_code(ballot, previous).hex()
    signed = keys.terminals[request["terminal_id"]].sign("terminal-request", request)
    entry["payload"] = signed.to_json()
    return canonical_json(entry).decode("utf-8")


def _last_cast_of_a_terminal(entries: list[dict[str, Any]]) -> int:
    last: dict[str, int] = {}
    for index, entry in enumerate(entries):
        last[entry["payload"]["payload"]["terminal_id"]] = index
    return next(i for i in sorted(last.values()) if entries[i]["kind"] == "ballot")


def test_a_contest_copied_from_another_ballot_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    entries = _entries(record_copy)
    target = _last_cast_of_a_terminal(entries)
    station = entries[target]["payload"]["payload"]["body"]["station_id"]
    source = next(
        i
        for i, entry in enumerate(entries)
        if i != target
        and entry["kind"] == "ballot"
        and entry["payload"]["payload"]["body"]["station_id"] == station
    )
    contests = entries[target]["payload"]["payload"]["body"]["ballot"]["contests"]
    contests[0] = entries[source]["payload"]["payload"]["body"]["ballot"]["contests"][0]
    lines = _lines(record_copy)
    lines[target] = _resign(entries[target], record_keys)
    _republish(record_copy, _rechain(lines), record_keys)
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("unique ciphertexts", "copied_ciphertext")
    first, second = sorted((source + 1, target + 1))
    assert failure.location == f"{ENTRIES}:{second}"
    assert f"line {first}" in failure.detail


def test_a_ballot_signed_after_its_authorization_expired_is_named(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    entries = _entries(record_copy)
    index = next(i for i, entry in enumerate(entries) if entry["kind"] == "ballot")
    request = entries[index]["payload"]["payload"]
    authorization = dict(request["body"]["authorization"]["payload"])
    authorization["expires_at"] = request["timestamp"] - 1
    request["body"]["authorization"] = record_keys.inquiry.sign(
        "authorization", authorization
    ).to_json()
    lines = _lines(record_copy)
    lines[index] = _resign(entries[index], record_keys)
    _write(record_copy, _rechain(lines))
    failure = _failure(record_copy)
    assert failure.code == "authorization_expired"
    assert failure.location == f"{ENTRIES}:{index + 1}"


def _audit(root: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / AUDIT_LOG).read_text("utf-8").splitlines()]


def _write_audit(root: Path, entries: list[dict[str, Any]]) -> None:
    text = "".join(canonical_json(entry).decode("utf-8") + "\n" for entry in entries)
    (root / AUDIT_LOG).write_text(text, encoding="utf-8")


def test_a_changed_audit_line_is_named(record_copy: Path) -> None:
    entries = _audit(record_copy)
    entries[2]["at"] += 1
    _write_audit(record_copy, entries)
    failure = _failure(record_copy)
    assert (failure.check, failure.location) == ("audit log", f"{AUDIT_LOG}:3")
    assert failure.code == "bad_entry_hash"


def test_a_dropped_audit_line_breaks_the_audit_chain(record_copy: Path) -> None:
    entries = _audit(record_copy)
    del entries[1]
    _write_audit(record_copy, entries)
    failure = _failure(record_copy)
    assert (failure.location, failure.code) == (f"{AUDIT_LOG}:2", "bad_position")


def test_an_audit_log_cut_short_misses_the_events_the_record_shows(record_copy: Path) -> None:
    entries = _audit(record_copy)
    _write_audit(record_copy, entries[:-1])
    failure = _failure(record_copy)
    assert failure.code == "audit_incomplete"
    assert failure.location == f"{ROOTS}:{len(read_lines(record_copy, ROOTS))}"


def test_an_audit_log_cut_before_the_polls_closed_shows_them_open(record_copy: Path) -> None:
    entries = _audit(record_copy)
    first_close = next(i for i, entry in enumerate(entries) if entry["event_id"] == "poll.closed")
    _write_audit(record_copy, entries[:first_close])
    failure = _failure(record_copy)
    assert (failure.code, failure.location) == ("polls_open", AUDIT_LOG)


def test_an_audit_log_rewritten_without_the_server_key_fails_its_signature(
    record_copy: Path,
) -> None:
    forged = audit_log(SigningKey.generate(), [("poll.opened", {"station_id": "x"})], at=1)
    _write_audit(record_copy, forged)
    failure = _failure(record_copy)
    assert (failure.location, failure.code) == (f"{AUDIT_LOG}:1", "invalid_signature")


def test_an_event_outside_the_catalogue_is_named(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    _write_audit(record_copy, audit_log(record_keys.server, [("ballot.peeked", {})], at=1))
    failure = _failure(record_copy)
    assert (failure.location, failure.code) == (f"{AUDIT_LOG}:1", "unknown_event")


def test_an_event_id_that_is_not_a_string_is_outside_the_catalogue(record_copy: Path) -> None:
    """(A list cannot be looked up in the catalogue: this once raised TypeError.)"""
    entries = _audit(record_copy)
    entries[2]["event_id"] = []
    _write_audit(record_copy, entries)
    failure = _failure(record_copy)
    assert (failure.location, failure.code) == (f"{AUDIT_LOG}:3", "unknown_event")


def test_the_verifier_knows_the_servers_audit_format() -> None:
    assert set(EVENTS) == AUDIT_EVENTS
    fields = {"station_id": "S-1", "count": 3}
    expected = server_entry_hash("00" * 32, 4, "poll.closed", 1_790_000_000, fields)
    assert audit_entry_hash(bytes(32), 4, "poll.closed", 1_790_000_000, fields).hex() == expected


def test_a_wrong_closing_subtotal_is_named(record_copy: Path, record_keys: RecordKeys) -> None:
    relative = next(
        f"reports/{path.name}" for path in sorted((record_copy / "reports").glob("*-closing.json"))
    )
    payload = json.loads((record_copy / relative).read_text("utf-8"))["payload"]
    contest_id, sums = next(iter(payload[SUBTOTALS].items()))
    first, second = list(sums)[:2]
    sums[first], sums[second] = sums[second], sums[first]
    envelope = record_keys.server.sign("poll-report", payload).to_json()
    (record_copy / relative).write_bytes(canonical_json(envelope))
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("closing subtotals", "subtotals_mismatch")
    assert failure.location == f"{relative}:{SUBTOTALS}"
    assert f"{contest_id}/{first}" in failure.detail


def test_a_removed_root_line_is_caught(record_copy: Path) -> None:
    roots = read_lines(record_copy, ROOTS)
    write_lines(record_copy, ROOTS, roots[1:])
    found = _failure(record_copy)
    assert (found.code, found.location) == ("root_mismatch", f"{ROOTS}:1")


def test_a_registered_terminal_missing_from_election_json_is_named_by_its_event(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """HQ registered the terminal (its signature is real); election.json no longer lists it."""
    election_id = read_document(record_copy, "election.json")["election_id"]
    key = SigningKey.generate().public_key.hex()
    fields: dict[str, Any] = {"terminal_id": "T-removed", "station_id": "S-001", "public_key": key}
    fields["registration"] = record_keys.hq.sign(
        REGISTRATION_KIND, registration_payload(election_id, "T-removed", "S-001", key)
    ).to_json()
    line = append_audit_event(record_copy, record_keys.server, "terminal.registered", fields)
    found = _failure(record_copy)
    assert (found.code, found.location) == ("record_incomplete", f"{AUDIT_LOG}:{line}")


def test_a_count_written_as_true_is_not_one(record_copy: Path) -> None:
    results = read_document(record_copy, RESULTS_JSON)
    votes = next(
        contest["votes"]
        for unit in results["units"]
        for contest in unit["contests"]
        if 1 in contest["votes"].values()
    )
    code = next(code for code, count in votes.items() if count == 1)
    votes[code] = True
    write_document(record_copy, RESULTS_JSON, results)
    found = _failure(record_copy)
    assert (found.check, found.code) == ("results", "results_mismatch")
    assert f"votes.{code}: expected 1, found True" in found.detail


def test_a_poll_tape_swapped_for_another_stations_is_caught(record_copy: Path) -> None:
    first, second = sorted((record_copy / POLL_TAPES).glob("*.png"))[:2]
    first.write_bytes(second.read_bytes())
    found = _failure(record_copy)
    assert (found.location, found.code) == (
        f"{POLL_TAPES}/{first.name}",
        "poll_tape_mismatch",
    )


def test_a_terminal_added_without_a_registration_event_is_caught(record_copy: Path) -> None:
    election = read_document(record_copy, "election.json")
    station_id = election["terminals"][0]["station_id"]
    election["terminals"].append(
        {
            "terminal_id": "T-rogue",
            "station_id": station_id,
            "public_key": SigningKey.generate().public_key.hex(),
        }
    )
    write_document(record_copy, "election.json", election)
    found = _failure(record_copy)
    index = len(election["terminals"]) - 1
    assert (found.location, found.code) == (f"election.json:terminals[{index}]", "audit_incomplete")


def _resign_report(root: Path, keys: RecordKeys, relative: str, **changes: Any) -> None:
    payload = read_document(root, relative)["payload"]
    payload.update(changes)
    write_document(root, relative, keys.server.sign("poll-report", payload).to_json())


def test_a_station_closed_before_it_opened_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    opening = sorted((record_copy / "reports").glob("*-opening.json"))[0]
    station_id = opening.name.removesuffix("-opening.json")
    closing = f"reports/{station_id}-closing.json"
    opened_at = read_document(record_copy, f"reports/{opening.name}")["payload"]["at"]
    _resign_report(record_copy, record_keys, closing, at=opened_at - 1)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{closing}:at", "time_reversed")


def test_a_terminal_signing_back_in_time_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    entries = _entries(record_copy)
    terminal_id = entries[0]["payload"]["payload"]["terminal_id"]
    second = next(
        i
        for i, entry in enumerate(entries)
        if i > 0 and entry["payload"]["payload"]["terminal_id"] == terminal_id
    )
    request = entries[second]["payload"]["payload"]
    request["timestamp"] = entries[0]["payload"]["payload"]["timestamp"] - 1
    lines = _lines(record_copy)
    lines[second] = _resign(entries[second], record_keys)
    _republish(record_copy, _rechain(lines), record_keys)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{ENTRIES}:{second + 1}", "time_reversed")
    assert request["body"]["tracking_code"] in found.detail


def test_receipts_received_out_of_board_order_are_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    receipts = read_lines(record_copy, RECEIPTS)
    payload = dict(receipts[-1]["payload"])
    payload["received_at"] = receipts[0]["payload"]["received_at"] - 1
    receipts[-1] = record_keys.server.sign("receipt", payload).to_json()
    write_lines(record_copy, RECEIPTS, receipts)
    found = _failure(record_copy)
    assert found.code == "time_reversed"
    assert payload["tracking_code"] in found.detail


def test_a_receipt_given_twice_is_named_at_its_second_line(record_copy: Path) -> None:
    receipts = read_lines(record_copy, RECEIPTS)
    write_lines(record_copy, RECEIPTS, [*receipts, receipts[1]])
    found = _failure(record_copy)
    assert (found.check, found.location, found.code) == (
        "receipts",
        f"{RECEIPTS}:{len(receipts) + 1}",
        "duplicate_receipt",
    )


@pytest.mark.parametrize(
    ("duplicate", "code"), [(False, "receipt_mismatch"), (True, "duplicate_receipt")]
)
def test_a_receipt_time_that_is_no_integer_is_caught_after_a_second_receipt(
    record_copy: Path, record_keys: RecordKeys, duplicate: bool, code: str
) -> None:
    receipts = read_lines(record_copy, RECEIPTS)
    payload = {**receipts[1]["payload"], "received_at": "soon"}
    forged = record_keys.server.sign("receipt", payload).to_json()
    if duplicate:
        receipts.append(forged)
    else:
        receipts[1] = forged
    write_lines(record_copy, RECEIPTS, receipts)
    found = _failure(record_copy)
    line = len(receipts) if duplicate else 2
    assert (found.check, found.location, found.code) == ("receipts", f"{RECEIPTS}:{line}", code)


@pytest.mark.parametrize(
    ("field", "claimed"),
    [
        ("sequence", lambda sequence: sequence == 1),  # true equals 1 in Python, not in JSON
        ("sequence", lambda sequence: sequence + 1),
        ("tracking_code", lambda code: code.upper()),
        ("terminal_id", lambda terminal: terminal + "x"),
        ("election_id", lambda election: [election]),
    ],
)
def test_a_receipt_that_claims_another_value_or_json_type_does_not_match(
    record_copy: Path, record_keys: RecordKeys, field: str, claimed: Any
) -> None:
    receipts = read_lines(record_copy, RECEIPTS)
    at = next(i for i, receipt in enumerate(receipts) if receipt["payload"]["sequence"] == 1)
    payload = dict(receipts[at]["payload"])
    payload[field] = claimed(payload[field])
    receipts[at] = record_keys.server.sign("receipt", payload).to_json()
    write_lines(record_copy, RECEIPTS, receipts)
    found = _failure(record_copy)
    assert (found.check, found.location, found.code) == (
        "receipts",
        f"{RECEIPTS}:{at + 1}",
        "receipt_mismatch",
    )


def test_the_first_broken_receipt_is_named_when_a_later_one_is_badly_signed(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """Receipts are matched a batch at a time: a signature failing further on must
    not be named before an earlier receipt that does not match its ballot."""
    receipts = read_lines(record_copy, RECEIPTS)
    receipts[1] = record_keys.server.sign(
        "receipt", {**receipts[1]["payload"], "terminal_id": "T-other"}
    ).to_json()
    receipts[3] = {**receipts[3], "signature": receipts[2]["signature"]}
    write_lines(record_copy, RECEIPTS, receipts)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{RECEIPTS}:2", "receipt_mismatch")


def test_a_cast_ballot_without_its_receipt_is_named_by_its_board_line(record_copy: Path) -> None:
    receipts = read_lines(record_copy, RECEIPTS)
    dropped = receipts.pop(2)["payload"]
    write_lines(record_copy, RECEIPTS, receipts)
    found = _failure(record_copy)
    line = next(
        number
        for number, text in enumerate(_lines(record_copy), start=1)
        if json.loads(text)["payload"]["payload"]["body"]["tracking_code"]
        == dropped["tracking_code"]
    )
    assert (found.check, found.location, found.code) == (
        "receipts",
        f"{ENTRIES}:{line}",
        "missing_receipt",
    )
    assert dropped["tracking_code"] in found.detail


def test_a_failing_ballot_is_named_by_its_tracking_code(record_copy: Path) -> None:
    lines = _lines(record_copy)
    code = json.loads(lines[2])["payload"]["payload"]["body"]["tracking_code"]
    lines[2] = _flip_ballot_byte(lines[2])
    _write(record_copy, lines)
    assert f"tracking code {code}" in _failure(record_copy).detail


def test_without_a_pin_the_first_line_names_the_hq_key_it_trusted(
    pristine_record: Path, record_keys: RecordKeys
) -> None:
    result = cli_verify(pristine_record)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith(f"HQ key {record_keys.hq.public_key.hex()} NOT PINNED")


def test_a_record_signed_from_another_hq_key_fails_the_pin(pristine_record: Path) -> None:
    another_run = SigningKey.generate().public_key.hex()
    line = one_fail_line(cli_verify(pristine_record, "--hq-key", another_run))
    assert "election.json:hq_public_key" in line
    assert "[not_pinned]" in line


def test_the_pinned_hq_key_and_manifest_hash_verify(
    pristine_record: Path, record_keys: RecordKeys
) -> None:
    manifest_hash = read_document(pristine_record, "election.json")["manifest_hash"]
    hq_key = record_keys.hq.public_key.hex()
    result = cli_verify(pristine_record, "--hq-key", hq_key, "--manifest-hash", manifest_hash)
    assert result.exit_code == 0, result.output
    assert "pinned" in result.output.splitlines()[0]


def test_another_manifest_fails_the_manifest_pin(pristine_record: Path) -> None:
    line = one_fail_line(cli_verify(pristine_record, "--manifest-hash", "ab" * 32))
    assert "manifest.json" in line
    assert "[not_pinned]" in line


def test_a_record_rebuilt_around_a_fresh_server_key_fails_hqs_certificate(
    record_copy: Path,
) -> None:
    """Every server-signed file could be re-signed with a fresh key; HQ's certificate cannot."""
    fresh = SigningKey.generate()
    election = read_document(record_copy, "election.json")
    election["server_public_key"] = fresh.public_key.hex()
    write_document(record_copy, "election.json", election)
    events = [(entry["event_id"], entry["fields"]) for entry in _audit(record_copy)]
    _write_audit(record_copy, audit_log(fresh, events, at=1_790_000_000))
    found = _failure(record_copy)
    assert (found.check, found.location) == ("keys certified by HQ", f"{AUDIT_LOG}:1")
    assert found.code == "uncertified_key"


def test_a_terminal_registered_with_the_server_key_alone_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    rogue = SigningKey.generate().public_key.hex()
    fields = {"terminal_id": "T-rogue", "station_id": "S-001", "public_key": rogue}
    registration = record_keys.server.sign(
        "terminal-registration", {"election_id": "x", **fields}
    ).to_json()
    line = append_audit_event(
        record_copy,
        record_keys.server,
        "terminal.registered",
        {**fields, "registration": registration},
    )
    election = read_document(record_copy, "election.json")
    election["terminals"].append(fields)
    write_document(record_copy, "election.json", election)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{AUDIT_LOG}:{line}", "invalid_signature")


def test_a_registration_copied_from_another_terminal_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    registered = next(
        entry for entry in _audit(record_copy) if entry["event_id"] == "terminal.registered"
    )
    fields = {
        "terminal_id": "T-rogue",
        "station_id": registered["fields"]["station_id"],
        "public_key": SigningKey.generate().public_key.hex(),
        "registration": registered["fields"]["registration"],
    }
    line = append_audit_event(record_copy, record_keys.server, "terminal.registered", fields)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{AUDIT_LOG}:{line}", "uncertified_key")


def test_a_record_rewritten_by_the_server_key_holder_without_a_change_verifies(
    record_copy: Path, server_insider: ServerInsider
) -> None:
    """The insider's rewrite itself leaves no trace: what the tests below catch is the change."""
    server_insider.rewrite(record_copy, insider.entries(record_copy))
    verify_record(record_copy)


def test_the_server_key_cannot_drop_the_last_ballot_a_terminal_declared_at_close(
    record_copy: Path, server_insider: ServerInsider
) -> None:
    board = insider.entries(record_copy)
    closers = {
        read_document(record_copy, f"reports/{path.name}")["payload"]["closed_by"]["payload"][
            "terminal_id"
        ]
        for path in (record_copy / "reports").glob("*-closing.json")
    }
    last = insider.last_entries(board)
    dropped = next(
        last[terminal_id]
        for terminal_id in sorted(closers)
        if terminal_id in last and board[last[terminal_id]]["kind"] == "ballot"
    )
    body = insider.request(board[dropped])["body"]
    terminal_id = insider.request(board[dropped])["terminal_id"]
    del board[dropped]
    server_insider.rewrite(record_copy, board)
    line = one_fail_line(cli_verify(record_copy))
    assert "[declared_ballot_missing]" in line
    assert f"terminal {terminal_id}" in line
    assert f"sequence {body['sequence']} (tracking code {body['tracking_code']})" in line


def test_the_server_key_cannot_drop_every_terminals_last_ballot(
    record_copy: Path, server_insider: ServerInsider
) -> None:
    board = insider.entries(record_copy)
    dropped = {i for i in insider.last_entries(board).values() if board[i]["kind"] == "ballot"}
    board = [entry for index, entry in enumerate(board) if index not in dropped]
    server_insider.rewrite(record_copy, board)
    assert "[declared_ballot_missing]" in one_fail_line(cli_verify(record_copy))


def test_a_closing_report_without_the_terminals_signed_close_fails(
    record_copy: Path, server_insider: ServerInsider
) -> None:
    def unsigned(payload: dict[str, Any]) -> None:
        del payload[CLOSED_BY]

    server_insider.rewrite(
        record_copy,
        insider.entries(record_copy),
        edit_closing=unsigned,
    )
    line = one_fail_line(cli_verify(record_copy))
    assert "-closing.json:closed_by" in line and "[unsigned_close]" in line


def test_a_close_signed_by_another_stations_terminal_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    reports = sorted((record_copy / "reports").glob("*-closing.json"))
    first, second = (f"reports/{path.name}" for path in reports[:2])
    other = read_document(record_copy, second)["payload"][CLOSED_BY]
    _resign_report(record_copy, record_keys, first, **{CLOSED_BY: other})
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{first}:{CLOSED_BY}", "bad_declaration")


def _add_void(root: Path, keys: RecordKeys, entry: dict[str, Any], authorization_id: str) -> None:
    """A void the server signs around a request signed with the entry's terminal key."""
    request = entry["payload"]["payload"]
    election_id = read_document(root, "election.json")["election_id"]
    voids = read_lines(root, VOIDS)
    station_id, terminal_id = request["body"]["station_id"], request["terminal_id"]
    voids.append(void(keys, election_id, station_id, terminal_id, authorization_id))
    voids.sort(key=lambda item: (item["payload"]["voided_at"], item["payload"]["authorization_id"]))
    write_lines(root, VOIDS, voids)


def test_a_void_of_a_cast_ballots_authorization_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """Server and terminal keys together cannot hide a cast ballot behind a void."""
    entry = next(item for item in _entries(record_copy) if item["kind"] == "ballot")
    authorization = entry["payload"]["payload"]["body"]["authorization"]["payload"]
    _add_void(record_copy, record_keys, entry, authorization["authorization_id"])
    found = _failure(record_copy)
    assert (found.check, found.code) == ("voided authorizations", "void_of_cast_ballot")
    assert authorization["authorization_id"] in found.detail


def test_a_void_its_terminal_never_asked_for_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """The server's key alone: a void around another void's terminal request."""
    voids = read_lines(record_copy, VOIDS)
    forged = {**voids[0]["payload"], "authorization_id": "ab" * 16}
    voids[0] = record_keys.server.sign(VOID_KIND, forged).to_json()
    write_lines(record_copy, VOIDS, voids)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{VOIDS}:1", "bad_void")


def test_a_void_removed_from_the_record_fails_its_closing_count(record_copy: Path) -> None:
    voids = read_lines(record_copy, VOIDS)
    station_id = voids[0]["payload"]["station_id"]
    write_lines(record_copy, VOIDS, voids[1:])
    found = _failure(record_copy)
    assert (found.location, found.code) == (
        f"reports/{station_id}-closing.json:{VOIDED_COUNT}",
        "voids_mismatch",
    )


def test_a_closing_report_counting_more_voids_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    station_id = read_lines(record_copy, VOIDS)[0]["payload"]["station_id"]
    closing = f"reports/{station_id}-closing.json"
    _resign_report(record_copy, record_keys, closing, **{VOIDED_COUNT: 2})
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{closing}:{VOIDED_COUNT}", "voids_mismatch")


def _closers(root: Path) -> set[str]:
    """The terminals whose signed close each closing report carries."""
    return {
        read_document(root, f"reports/{path.name}")["payload"][CLOSED_BY]["payload"]["terminal_id"]
        for path in (root / "reports").glob("*-closing.json")
    }


def _authorized_in_period(entry: dict[str, Any], period: int, keys: RecordKeys) -> dict[str, Any]:
    """The entry with its authorization re-signed by the inquiry for ``period``, and the
    request re-signed by its terminal: keys the server's insider would need."""
    request = insider.request(entry)
    authorization = {**request["body"]["authorization"]["payload"], "poll_period": period}
    request["body"]["authorization"] = keys.inquiry.sign("authorization", authorization).to_json()
    resigned: dict[str, Any] = json.loads(_resign(entry, keys))
    return resigned


def test_an_authorization_naming_a_poll_period_that_was_no_opening_is_caught(
    record_copy: Path, record_keys: RecordKeys, server_insider: ServerInsider
) -> None:
    """Server, inquiry and terminal keys: a ballot authorized while the polls were closed
    (period 2 is the close of a station opened once)."""
    board = insider.entries(record_copy)
    closers = _closers(record_copy)
    last = insider.last_entries(board)
    index = next(
        i
        for terminal_id, i in sorted(last.items())
        if terminal_id not in closers and board[i]["kind"] == "ballot"
    )
    request = insider.request(board[index])
    board[index] = _authorized_in_period(board[index], 2, record_keys)
    server_insider.rewrite(record_copy, board)
    line = one_fail_line(cli_verify(record_copy))
    assert "[bad_poll_period]" in line
    assert request["body"]["tracking_code"] in line


def test_a_check_earlier_in_order_is_named_although_a_later_checks_entry_comes_first(
    record_copy: Path, record_keys: RecordKeys, server_insider: ServerInsider
) -> None:
    """The board's checks in line order run side by side in the ballot phase: a bad
    poll period (checked late) on an early line must not hide a ballot signed back
    in time (the terminal chains, checked early) on a later line."""
    board = insider.entries(record_copy)
    closers = _closers(record_copy)
    lasts = sorted(
        i
        for terminal_id, i in insider.last_entries(board).items()
        if terminal_id not in closers
        and board[i]["kind"] == "ballot"
        and insider.request(board[i])["body"]["sequence"] > 1
    )
    early, late = lasts[0], lasts[-1]
    board[early] = _authorized_in_period(board[early], 2, record_keys)
    back_in_time = insider.request(board[late])
    back_in_time["timestamp"] = 1_000_000_000
    board[late] = json.loads(_resign(board[late], record_keys))
    server_insider.rewrite(record_copy, board)
    found = _failure(record_copy)
    assert (found.check, found.location, found.code) == (
        "terminal chains",
        f"{ENTRIES}:{late + 1}",
        "time_reversed",
    )


def test_a_trustee_signing_key_not_certified_by_hq_fails(record_copy: Path) -> None:
    """A trustee's binding and confirmation re-signed by a fresh key hold together;
    HQ certified the key the ceremony bound, not this one."""
    fresh = SigningKey.generate()
    for name in ("trustee-1.signer.json", "trustee-1.confirmation.json"):
        envelope = read_document(record_copy, f"trustees/{name}")
        write_document(
            record_copy,
            f"trustees/{name}",
            fresh.sign(envelope["kind"], envelope["payload"]).to_json(),
        )
    found = _failure(record_copy)
    assert (found.check, found.location) == ("keys certified by HQ", f"{AUDIT_LOG}:1")
    assert found.code == "uncertified_key"


def _revoke(
    root: Path, keys: RecordKeys, at: int, *, signer: SigningKey | None = None, audited: bool = True
) -> str:
    """HQ revokes the first terminal at ``at``: the signed line and its audit event."""
    election = read_document(root, "election.json")
    terminal = election["terminals"][0]
    payload = revocation_payload(
        election["election_id"],
        terminal["terminal_id"],
        terminal["station_id"],
        terminal["public_key"],
        at,
        "stolen from the station",
    )
    revocation = (signer or keys.hq).sign(REVOCATION_KIND, payload).to_json()
    write_lines(root, REVOCATIONS, [revocation])
    if audited:
        fields = {name: payload[name] for name in ("terminal_id", "station_id", "reason")}
        append_audit_event(
            root, keys.server, "terminal.revoked", {**fields, "revocation": revocation}, at
        )
    return str(terminal["terminal_id"])


def test_an_hq_revocation_after_the_terminals_last_ballot_verifies(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    _revoke(record_copy, record_keys, 1_800_000_100)
    assert "ok    terminal revocations (1)" in cli_verify(record_copy).output


def test_a_revocation_not_signed_by_hq_fails(record_copy: Path, record_keys: RecordKeys) -> None:
    _revoke(record_copy, record_keys, 1_800_000_100, signer=record_keys.server)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{REVOCATIONS}:1", "invalid_signature")


def test_a_revocation_without_its_audit_event_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    _revoke(record_copy, record_keys, 1_800_000_100, audited=False)
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{REVOCATIONS}:1", "audit_incomplete")


def test_an_audited_revocation_left_out_of_the_record_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    _revoke(record_copy, record_keys, 1_800_000_100)
    write_lines(record_copy, REVOCATIONS, [])
    found = _failure(record_copy)
    assert found.code == "record_incomplete"
    assert found.location == f"{AUDIT_LOG}:{len(read_lines(record_copy, AUDIT_LOG))}"


def test_a_ballot_received_after_its_terminal_was_revoked_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    terminal_id = _revoke(record_copy, record_keys, 1_790_000_001)
    found = _failure(record_copy)
    assert found.code == "after_revocation"
    assert f"revoked terminal {terminal_id}" in found.detail


def _board_with_an_added_ballot(root: Path, keys: RecordKeys, ceremony: CeremonyResult) -> Any:
    """Server, inquiry and a terminal's keys: one more (blank) ballot at the end of a
    terminal's chain, under a fresh authorization, as the last entry of its shard."""
    manifest = Manifest.from_json(read_document(root, "manifest.json")["payload"])
    board = insider.entries(root)
    terminal_id, index = sorted(insider.last_entries(board).items())[0]
    last = insider.request(board[index])
    station_id = last["body"]["station_id"]
    style = manifest.station(station_id).ballot_style_id
    specs = manifest.contest_specs(style)
    context = ElectionContext(ceremony.base_hash, ceremony.joint_public_key)
    ballot, _ = encrypt_ballot(context, style, specs, {spec.contest_id: [] for spec in specs})
    authorization = keys.inquiry.sign(
        "authorization",
        {
            "authorization_id": "5a" * 16,
            "election_id": manifest.election_id,
            "station_id": station_id,
            "ballot_style_id": style,
            "expires_at": 1_800_000_000,
            "poll_period": 1,
        },
    ).to_json()
    body = ballot_body(
        station_id,
        last["body"]["sequence"] + 1,
        bytes.fromhex(last["body"]["tracking_code"]),
        ballot,
        authorization,
    )
    request = build_terminal_request(
        keys.terminals[terminal_id], terminal_id, "cast", body, now=last["timestamp"] + 1
    )
    end = max(i for i, entry in enumerate(board) if entry["station_id"] == station_id)
    board.insert(end + 1, {"station_id": station_id, "kind": "ballot", "payload": request})
    return board, station_id


def test_server_inquiry_and_terminal_keys_cannot_add_a_ballot_past_the_officials_count(
    record_copy: Path, server_insider: ServerInsider, ceremony: CeremonyResult
) -> None:
    board, station_id = _board_with_an_added_ballot(record_copy, server_insider.keys, ceremony)
    server_insider.rewrite(record_copy, board)
    line = one_fail_line(cli_verify(record_copy))
    assert f"reports/{station_id}-closing.json:countersigned.counts.ballots_cast" in line
    assert "[countersign_mismatch]" in line


def test_added_ballots_verify_only_when_the_officials_cards_sign_too(
    record_copy: Path, server_insider: ServerInsider, ceremony: CeremonyResult
) -> None:
    """The one key set that can add a ballot unseen: server, inquiry, a terminal's
    and the station officials' cards together."""
    board, station_id = _board_with_an_added_ballot(record_copy, server_insider.keys, ceremony)

    def one_more_issued(payload: dict[str, Any]) -> None:
        if payload["station_id"] == station_id:
            payload["authorizations_issued"] += 1

    server_insider.rewrite(record_copy, board, officials=True, edit_closing=one_more_issued)
    verify_record(record_copy)


def test_a_closing_report_countersigned_by_another_stations_official_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    first, second = sorted((record_copy / "reports").glob("*-closing.json"))[:2]
    other = read_document(record_copy, f"reports/{second.name}")["payload"][COUNTERSIGNED]
    relative = f"reports/{first.name}"
    _resign_report(record_copy, record_keys, relative, **{COUNTERSIGNED: other})
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{relative}:{COUNTERSIGNED}", "bad_countersignature")


def test_a_closing_report_without_the_officials_countersignature_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    relative = f"reports/{sorted((record_copy / 'reports').glob('*-closing.json'))[0].name}"
    payload = read_document(record_copy, relative)["payload"]
    del payload[COUNTERSIGNED]
    write_document(record_copy, relative, record_keys.server.sign("poll-report", payload).to_json())
    found = _failure(record_copy)
    assert (found.location, found.code) == (f"{relative}:{COUNTERSIGNED}", "not_countersigned")


def test_a_countersignature_of_an_older_revision_of_the_report_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """The report reissued after the close (same counts, revision 2): the officials
    countersigned revision 1, which is not this report."""
    relative = f"reports/{sorted((record_copy / 'reports').glob('*-closing.json'))[0].name}"
    _resign_report(record_copy, record_keys, relative, revision=2)
    found = _failure(record_copy)
    assert (found.location, found.code) == (
        f"{relative}:{COUNTERSIGNED}.counts",
        "countersign_stale",
    )
    assert "revision 1" in found.detail and "revision 2" in found.detail


def _reopened_and_closed_again(root: Path, keys: RecordKeys) -> tuple[str, str]:
    """HQ reopened a station, officials resumed and closed it again: the audit log's
    last close of it now ends poll version 4 (opened 1, closed 2, reopened 3, resumed
    4); its closing report says so, still carrying the first close's signatures."""
    relative = f"reports/{sorted((root / 'reports').glob('*-closing.json'))[0].name}"
    station_id = read_document(root, relative)["payload"]["station_id"]
    for event_id in ("poll.reopened", "poll.resumed", "poll.closed"):
        append_audit_event(root, keys.server, event_id, {"station_id": station_id})
    _resign_report(root, keys, relative, poll_version=4)
    return relative, station_id


def test_the_first_periods_close_signature_replayed_for_the_second_close_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    relative, station_id = _reopened_and_closed_again(record_copy, record_keys)
    line = one_fail_line(cli_verify(record_copy))
    assert f"{relative}:{CLOSED_BY}" in line and "[close_of_another_period]" in line
    assert f"close of {station_id} ended poll version 4" in line


def test_the_first_periods_countersignature_replayed_for_the_second_close_fails(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """The terminal signed the second close (version 4); the officials' card only the first."""
    relative, _ = _reopened_and_closed_again(record_copy, record_keys)
    first_close = read_document(record_copy, relative)["payload"][CLOSED_BY]["payload"]
    head = first_close["body"]["journal_head"]
    second_close = close_request(
        record_keys,
        first_close["terminal_id"],
        (head["sequence"], bytes.fromhex(head["chain_head"])),
        first_close["body"]["card_certificate"]["payload"]["station_id"],
        poll_version=4,
    )
    _resign_report(record_copy, record_keys, relative, **{CLOSED_BY: second_close})
    line = one_fail_line(cli_verify(record_copy))
    assert f"{relative}:{COUNTERSIGNED}.counts" in line and "[countersign_stale]" in line
    assert "poll_version 1" in line and "poll_version 4" in line
