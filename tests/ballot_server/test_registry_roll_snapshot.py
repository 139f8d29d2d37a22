"""The registry's roll snapshot lists exactly whom the online inquiry would admit."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from server_harness import Election, make_setup
from sqlalchemy import insert
from test_server_cli import hq as hq  # noqa: F401  (the fixture, reused)

from ballot_server.cli import server
from ballot_server.keys import load_keys
from ballot_server.registry_models import RevokedCard
from ballot_server.snapshot import station_snapshot
from crypto.signing import SigningKey
from evote.client import ServerRefused
from evote.roll_snapshot import RollSnapshot, SnapshotOpener, load_snapshot


def open_for(
    data: bytes,
    station_id: str,
    terminal_id: str,
    key: SigningKey,
    registry: SigningKey,
    election_id: str,
) -> RollSnapshot:
    opener = SnapshotOpener(registry.public_key, election_id, station_id, terminal_id, key)
    return load_snapshot(data, opener)


def test_the_snapshot_lists_exactly_the_voters_the_inquiry_admits_at_the_station(
    election: Election, tmp_path: Path
) -> None:
    urls = f"sqlite:///{tmp_path / 'ballot.sqlite'}", f"sqlite:///{tmp_path / 'registry.sqlite'}"
    setup, terminal_keys = make_setup(election, urls)
    try:
        setup.poll("T1", "open")
        setup.poll("T3", "open")
        eligible = election.eligible()
        setup.check_in("T3", election.card(eligible[0]))  # checked in before the snapshot
        revoked = eligible[1]
        with setup.state.registry_engine.begin() as connection:
            connection.execute(
                insert(RevokedCard).values(card_id=f"card-{revoked.national_code}", revoked_at=0)
            )
        data, count = station_snapshot(setup.state, "S-101")
        assert election.keys.registry is not None
        snapshot = open_for(
            data,
            "S-101",
            "T2",
            terminal_keys[1],
            election.keys.registry,
            setup.state.inquiry_manifest().election_id,
        )
        assert snapshot.voter_count == count
        assert snapshot.card_revoked(f"card-{revoked.national_code}")
        admitted = listed = 0
        for person in election.people:
            if person is revoked:
                continue
            tag = snapshot.voter_tag(person.national_code, person.birth_date)
            try:
                setup.check_in("T1", election.card(person))
                online = True
            except ServerRefused:
                online = False
            assert snapshot.lists(tag) == online, (person, online)
            admitted += online
            listed += snapshot.lists(tag)
        assert admitted == listed == count - 1  # the revoked card's holder is listed
        assert 0 < admitted < len(election.people) - 1
    finally:
        setup.server.stop()


def test_the_command_writes_a_snapshot_the_registered_terminal_opens(
    hq: Path, tmp_path: Path
) -> None:  # noqa: F811
    terminal = SigningKey.generate()
    runner = CliRunner()
    out = tmp_path / "S-101.snapshot"
    for station_id, reason in (("S-101", "no terminal registered"), ("S-999", "not a station")):
        refused = runner.invoke(
            server, ["roll-snapshot", "--data-dir", str(hq), station_id, str(out)]
        )
        assert refused.exit_code == 1 and refused.output.count("\n") == 1
        assert f"{station_id}: {reason}" in refused.output and not out.exists()
    registered = runner.invoke(
        server,
        ["register-terminal", "--data-dir", str(hq), "T9", "S-101", terminal.public_key.hex()],
    )
    assert registered.exit_code == 0, registered.output
    result = runner.invoke(server, ["roll-snapshot", "--data-dir", str(hq), "S-101", str(out)])
    assert result.exit_code == 0, result.output
    keys = load_keys(hq / "keys")
    assert keys.registry is not None
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    snapshot = open_for(
        out.read_bytes(), "S-101", "T9", terminal, keys.registry, manifest["election_id"]
    )
    assert f"{snapshot.voter_count} voters" in result.output and snapshot.voter_count > 0
