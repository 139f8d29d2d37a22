"""`evote verify` checks the national roots over the board's shards: a ballot
missing from a shard, a shard changed under a signed root, two roots that are
not consistent, and an entry no root holds are each named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crypto.canonical import canonical_json
from crypto.merkle import consistency_proof, leaf_hash
from crypto.merkle import root as merkle_root
from tally.errors import VerificationFailure
from tally.record import CONSISTENCY, ENTRIES, ROOTS
from tally.testing import RecordKeys
from tally.verifier import verify_record


def _failure(root: Path) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        verify_record(root)
    return caught.value


def _read(root: Path, relative: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / relative).read_text("utf-8").splitlines()]


def _write(root: Path, relative: str, values: list[dict[str, Any]]) -> None:
    (root / relative).write_bytes(b"".join(canonical_json(value) + b"\n" for value in values))


def _leaves_in_log_order(root: Path) -> list[bytes]:
    """The national log's leaves, in the order the roots added them."""
    entries = {(e["station_id"], e["position"]): e for e in _read(root, ENTRIES)}
    published: dict[str, int] = {}
    leaves = []
    for item in _read(root, ROOTS):
        for shard in item["payload"]["shards"]:
            station = shard["station_id"]
            for position in range(published.get(station, 0), shard["length"]):
                leaves.append(leaf_hash(bytes.fromhex(entries[(station, position)]["entry_hash"])))
            published[station] = shard["length"]
    return leaves


def test_the_record_holds_several_roots_joined_by_consistency_proofs(
    pristine_record: Path,
) -> None:
    roots = _read(pristine_record, ROOTS)
    assert len(roots) >= 2
    assert len(_read(pristine_record, CONSISTENCY)) == len(roots) - 1
    assert roots[-1]["payload"]["tree_size"] == len(_read(pristine_record, ENTRIES))


def test_a_ballot_missing_from_the_end_of_a_shard_is_caught_by_the_root(
    record_copy: Path,
) -> None:
    entries = _read(record_copy, ENTRIES)
    last_of_first_station = max(
        i for i, e in enumerate(entries) if e["station_id"] == entries[0]["station_id"]
    )
    del entries[last_of_first_station]
    _write(record_copy, ENTRIES, entries)
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("national roots", "shard_head_mismatch")
    assert "a ballot missing from the shard" in failure.detail


def test_a_shard_head_changed_under_a_signed_root_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """The server re-signs the last root over a changed shard (its head now names
    another entry hash) but cannot change the roots it signed before."""
    roots = _read(record_copy, ROOTS)
    payload = dict(roots[0]["payload"])
    shard = dict(payload["shards"][0])
    shard["head_hash"] = "ab" * 32
    payload["shards"] = [shard, *payload["shards"][1:]]
    roots[0] = record_keys.server.sign("board-root", payload).to_json()
    _write(record_copy, ROOTS, roots)
    failure = _failure(record_copy)
    assert (failure.check, failure.location) == ("national roots", f"{ROOTS}:1")
    assert failure.code == "shard_head_mismatch"
    assert "the shard changed under the root" in failure.detail


def test_two_roots_that_are_not_consistent_are_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    """A server that signs a later root over a forked history (one early leaf
    rewritten), with a consistency proof from that fork: the proof cannot join it
    to the earlier root."""
    roots = _read(record_copy, ROOTS)
    leaves = _leaves_in_log_order(record_copy)
    forked = [leaf_hash(b"a ballot that was never cast"), *leaves[1:]]
    payload = dict(roots[-1]["payload"])
    payload["root_hash"] = merkle_root(forked).hex()
    roots[-1] = record_keys.server.sign("board-root", payload).to_json()
    _write(record_copy, ROOTS, roots)
    proofs = _read(record_copy, CONSISTENCY)
    first = proofs[-1]["first"]
    proofs[-1]["proof"] = [node.hex() for node in consistency_proof(forked, first)]
    _write(record_copy, CONSISTENCY, proofs)
    failure = _failure(record_copy)
    assert (failure.check, failure.code) == ("national roots", "inconsistent_roots")
    assert failure.location == f"{ROOTS}:{len(roots)}"


def test_a_consistency_proof_that_is_missing_or_altered_is_caught(record_copy: Path) -> None:
    proofs = _read(record_copy, CONSISTENCY)
    altered = [dict(proofs[0], proof=list(reversed(proofs[0]["proof"]))), *proofs[1:]]
    if altered[0]["proof"] == proofs[0]["proof"]:
        altered[0]["proof"] = [*proofs[0]["proof"], "00" * 32]
    _write(record_copy, CONSISTENCY, altered)
    assert _failure(record_copy).code == "inconsistent_roots"
    _write(record_copy, CONSISTENCY, proofs[1:])
    assert _failure(record_copy).code == "missing_consistency"


def test_entries_that_no_root_holds_are_named(record_copy: Path) -> None:
    roots = _read(record_copy, ROOTS)
    _write(record_copy, ROOTS, roots[:-1])
    _write(record_copy, CONSISTENCY, _read(record_copy, CONSISTENCY)[:-1])
    failure = _failure(record_copy)
    assert failure.code == "entry_not_in_root"
    assert failure.location.startswith(f"{ENTRIES}:")
