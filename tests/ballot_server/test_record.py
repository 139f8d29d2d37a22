"""The exported record follows docs/record.md and its chains check out from files alone."""

from __future__ import annotations

import json
from pathlib import Path

from server_harness import Setup

from ballot_server.audit import entry_hash as audit_hash
from ballot_server.board import entry_hash
from ballot_server.chains import GENESIS_HASH
from ballot_server.polls import open_station_ids
from ballot_server.record import export_record
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.canonical import canonical_json
from crypto.signing import SignedEnvelope, VerifyKey


def test_record_export_has_the_documented_layout_and_verifiable_chains(
    sqlite_setup: Setup, tmp_path: Path
) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    authorization = setup.check_in("T1", setup.election.card(setup.election.eligible()[0]))[
        "authorization"
    ]
    receipt = setup.terminals["T1"].cast(
        setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
    )
    setup.poll("T1", "close")
    record = export_record(setup.state, tmp_path / "record")
    assert (record / "FORMAT").read_text() == "evote-record/3\n"
    election = json.loads((record / "election.json").read_text())
    server_key = VerifyKey.from_hex(election["server_public_key"])
    assert election["terminals"][0]["terminal_id"] == "T1"
    manifest = SignedEnvelope.from_json(json.loads((record / "manifest.json").read_text()))
    manifest.verify("manifest", VerifyKey.from_hex(election["hq_public_key"]))
    previous = GENESIS_HASH
    lines = (record / "board" / "entries.jsonl").read_bytes().splitlines()
    for position, line in enumerate(lines):
        entry = json.loads(line)
        assert canonical_json(entry) == line
        assert entry["previous_hash"] == previous
        previous = entry_hash(
            previous, "S-101", position, entry["kind"], canonical_json(entry["payload"])
        )
        assert entry["entry_hash"] == previous
    receipts = (record / "board" / "receipts.jsonl").read_text().splitlines()
    assert json.loads(receipts[0]) == receipt.envelope
    root = json.loads((record / "board" / "roots.jsonl").read_text().splitlines()[-1])
    signed = SignedEnvelope.from_json(root).verify("board-root", server_key)
    assert signed["shards"][-1] == {"station_id": "S-101", "length": 1, "head_hash": previous}
    assert signed["tree_size"] == len(lines)
    for kind in ("opening", "closing"):
        report = json.loads((record / "reports" / f"S-101-{kind}.json").read_text())
        SignedEnvelope.from_json(report).verify("poll-report", server_key)
    audit_previous = GENESIS_HASH
    events = []
    for line in (record / "audit.jsonl").read_text().splitlines():
        item = json.loads(line)
        expected = audit_hash(
            audit_previous, item["position"], item["event_id"], item["at"], item["fields"]
        )
        assert item["entry_hash"] == expected and item["previous_hash"] == audit_previous
        server_key.verify_bytes(bytes.fromhex(expected), bytes.fromhex(item["signature"]))
        audit_previous = expected
        events.append(item["event_id"])
    assert events[0] == "election.created" and "poll.closed" in events
    turnout = setup.terminals["T1"]._request("GET", "/api/v1/turnout")
    assert turnout["total"]["ballots_cast"] == 1 and turnout["total"]["check_ins"] == 1


def test_a_station_is_open_for_the_export_until_it_closes(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    assert open_station_ids(setup.state) == []
    setup.poll("T1", "open")
    assert open_station_ids(setup.state) == ["S-101"]
    setup.poll("T1", "pause")
    assert open_station_ids(setup.state) == ["S-101"]
    setup.poll("T1", "resume")
    setup.poll("T1", "close")
    assert open_station_ids(setup.state) == []
