"""Voids for a revoked terminal in the record: the verifier checks whose they were.

Another booth voids, for the voter, an authorization a dead and revoked booth
held (docs/server.md, "No voter locked out"). Such a void shows the key the
authorization's id derives from and the holder: server and voiding terminal
together cannot pass off a live terminal's authorization as a revoked one's.
(The accepted case, through real booths, is ``tests/faults/test_dead_booth.py``.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from record_tampering import read_document, read_lines, write_lines

from evote import protocol
from tally.errors import VerificationFailure
from tally.testing import RecordKeys
from tally.verifier import verify_record
from tally.verify_voids import VOIDS


def _void_for(
    keys: RecordKeys, root: Path, holder_id: str, authorization_id: str | None = None
) -> str:
    """Turn the first void into one its terminal made for ``holder_id``'s authorization,
    signed by that terminal and by the server, the file kept in order; its location."""
    voids = read_lines(root, VOIDS)
    payload = voids[0]["payload"]
    key = os.urandom(protocol.AUTHORIZATION_KEY_BYTES)
    derived = protocol.authorization_id(key, holder_id)
    body = protocol.void_body(
        payload["station_id"], derived, protocol.REVOKED_HOLDER, (holder_id, key)
    )
    if authorization_id is not None:
        body["authorization_id"] = authorization_id
    terminal_id = payload["terminal_id"]
    request = protocol.build_terminal_request(
        keys.terminals[terminal_id], terminal_id, protocol.ACTION_VOID, body, now=1_790_000_500
    )
    forged: dict[str, Any] = {
        **payload,
        "authorization_id": body["authorization_id"],
        "reason": protocol.REVOKED_HOLDER,
        "request": request,
    }
    voids[0] = keys.server.sign(protocol.VOID_KIND, forged).to_json()
    voids.sort(key=lambda item: (item["payload"]["voided_at"], item["payload"]["authorization_id"]))
    write_lines(root, VOIDS, voids)
    line = next(i for i, item in enumerate(voids, 1) if item["payload"] == forged)
    return f"{VOIDS}:{line}"


def _other_terminal(root: Path, voids_first: dict[str, Any]) -> str:
    """Another registered terminal of the first void's station."""
    terminals = read_document(root, "election.json")["terminals"]
    return next(
        terminal["terminal_id"]
        for terminal in terminals
        if terminal["station_id"] == voids_first["station_id"]
        and terminal["terminal_id"] != voids_first["terminal_id"]
    )


def _failure(root: Path) -> VerificationFailure:
    with pytest.raises(VerificationFailure) as caught:
        verify_record(root)
    return caught.value


def test_a_void_for_a_terminal_hq_never_revoked_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    holder = _other_terminal(record_copy, read_lines(record_copy, VOIDS)[0]["payload"])
    location = _void_for(record_keys, record_copy, holder)
    found = _failure(record_copy)
    assert (found.location, found.code) == (location, "void_for_unrevoked")


def test_a_void_whose_id_is_not_the_named_holders_is_caught(
    record_copy: Path, record_keys: RecordKeys
) -> None:
    holder = _other_terminal(record_copy, read_lines(record_copy, VOIDS)[0]["payload"])
    location = _void_for(record_keys, record_copy, holder, authorization_id="cd" * 16)
    found = _failure(record_copy)
    assert (found.location, found.code) == (location, "bad_void")
