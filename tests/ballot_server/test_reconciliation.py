"""Provisional ballots from stations cut off, through intake and the registry's
reconciliation: every double vote across the partition is excluded by the rule, the
counted voters cannot vote again online, and the resolution goes into the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from server_harness import Card, Election, Setup, make_setup
from sqlalchemy import insert
from test_server_cli import hq as hq  # noqa: F401  (the fixture, reused)

from ballot_server.cli import server
from ballot_server.reconciliation import reconcile
from ballot_server.record import export_record
from ballot_server.registry_models import RevokedCard
from ballot_server.snapshot import station_snapshot
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.signing import SignedEnvelope, SigningKey
from evote.client import ServerRefused
from evote.provisional import ProvisionalGrant
from evote.record_layout import PROVISIONAL_RESOLUTION
from evote.resolution import read_resolution
from evote.roll_snapshot import SnapshotOpener, load_snapshot
from firmware_sim.cards import holder_file
from terminal.devices.holder import CardHolder, parse_holder
from terminal.offline_roll import OfflineRefused
from terminal.offline_station import OfflineStation, StationIdentity
from terminal.station_register import RegisterStore

HOLDER_FIELDS = ("national_code", "name_fa", "name_en", "birth_date", "role", "station_id")


def holder_of(card: Card) -> CardHolder:
    certificate = SignedEnvelope.from_json(card.certificate)
    payload = certificate.payload
    assert isinstance(payload, dict)
    return parse_holder(holder_file({name: payload[name] for name in HOLDER_FIELDS}, certificate))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Station:
    """One terminal of a station cut off: its offline register and its ballot chain."""

    def __init__(
        self,
        setup: Setup,
        terminal: str,
        key: SigningKey,
        directory: Path,
        clock: Clock,
        snapshot: bytes | None = None,
    ) -> None:
        state, election = setup.state, setup.election
        station_id = {"T1": "S-101", "T2": "S-101", "T3": "S-102"}[terminal]
        data = snapshot if snapshot is not None else station_snapshot(state, station_id)[0]
        manifest = state.inquiry_manifest()
        registry = election.keys.registry_public
        opener = SnapshotOpener(registry, manifest.election_id, station_id, terminal, key)
        identity = StationIdentity(
            manifest.election_id, station_id, "tehran-1", terminal, key, registry
        )
        self.setup, self.terminal, self.key = setup, terminal, key
        self.offline = OfflineStation(
            directory / terminal / "offline.sqlite",
            identity,
            load_snapshot(data, opener),
            required_down_s=600,
            clock=clock,
        )
        self.official = election.card(election.people[0], "official", station_id)

    def go_offline(self, link_down_since: float) -> None:
        holder = holder_of(self.official)
        self.offline.enter(
            holder, b"c" * 32, self.official.key.sign_bytes(b"c" * 32), link_down_since
        )

    def check_in(self, card: Card) -> dict[str, Any]:
        return self.offline.check_in(holder_of(card), card.key.sign_bytes).to_json()


class Chains:
    """Each terminal's sequence and tracking-code chain, as its journal keeps them."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.heads: dict[str, tuple[int, bytes]] = {}

    def cast(self, terminal: str, authorization: dict[str, Any]) -> tuple[str, int]:
        sequence, previous = self.heads.get(terminal, (0, GENESIS_TRACKING_CODE))
        body = self.setup.ballot(terminal, authorization, sequence + 1, previous)
        receipt = self.setup.terminals[terminal].cast(body)
        self.heads[terminal] = (sequence + 1, bytes.fromhex(receipt.tracking_code))
        return receipt.station_id, receipt.board_position


@pytest.fixture
def cut_off(election: Election, database_urls: tuple[str, str], tmp_path: Path) -> Any:
    setup, keys = make_setup(election, database_urls)
    try:
        setup.poll("T1", "open")
        setup.poll("T3", "open")
        yield setup, dict(zip(("T1", "T2", "T3", "T4"), keys, strict=True))
    finally:
        setup.server.stop()


def test_a_partition_is_reconciled_by_the_rule_and_counted_voters_stay_checked_in(
    cut_off: tuple[Setup, dict[str, SigningKey]], tmp_path: Path
) -> None:
    setup, keys = cut_off
    election = setup.election
    a, b, c, d, e = (election.card(person) for person in election.eligible()[:5])
    clock = Clock(setup.clock.now)
    north = Station(setup, "T1", keys["T1"], tmp_path, clock)  # S-101
    south = Station(setup, "T3", keys["T3"], tmp_path, clock)  # S-102
    chains = Chains(setup)
    online = setup.check_in("T2", c)["authorization"]  # C votes online, then offline
    chains.cast("T2", online)
    north.go_offline(clock.now - 3600)
    south.go_offline(clock.now - 3600)

    a_north = north.check_in(a)
    b_north = north.check_in(b)
    d_north = north.check_in(d)
    clock.now += 60
    b_south = south.check_in(b)  # the same voter at a second offline station, later
    c_south = south.check_in(c)
    grant = ProvisionalGrant.fresh(  # a terminal minting a ballot E's card never endorsed
        election_id=setup.state.inquiry_manifest().election_id,
        station_id="S-102",
        ballot_style_id="tehran-1",
        terminal_id="T3",
        checked_in_at=int(clock.now) // 60 * 60,
        snapshot_id=south.offline.snapshot.snapshot_id,
    )
    e_forged = grant.sign(
        keys["T3"],
        election.keys.registry_public,
        national_code=holder_of(e).national_code,
        birth_date=holder_of(e).birth_date,
        card_certificate=SignedEnvelope.from_json(e.certificate),
        card_signature=e.key.sign_bytes(b"\0" * 32),
    ).to_json()

    # The link is back: the south syncs first, so board order is not check-in order.
    expected = {
        chains.cast("T3", b_south): "checked_in_earlier",
        chains.cast("T3", c_south): "voted_online",
        chains.cast("T3", e_forged): "check_in_invalid",
        chains.cast("T1", a_north): None,
        chains.cast("T1", b_north): None,
        chains.cast("T1", d_north): "card_revoked",
    }
    with pytest.raises(ServerRefused) as foreign:
        chains.cast("T2", a_north)
    assert foreign.value.code == "authorization_invalid"
    with pytest.raises(ServerRefused) as twice:
        chains.cast("T1", a_north)
    assert twice.value.code == "authorization_used"
    with setup.state.registry_engine.begin() as connection:
        connection.execute(
            insert(RevokedCard).values(card_id=holder_of(d).card_id, revoked_at=int(clock.now))
        )

    manifest = setup.state.inquiry_manifest()
    registry = election.keys.registry_public
    first = read_resolution(reconcile(setup.state), registry, manifest.election_id)
    assert {(item.station_id, item.board_position): item.reason for item in first} == expected
    assert [item.counted for item in first] == [
        reason is None for _, reason in sorted(expected.items())
    ]
    for voter in (a, b):
        with pytest.raises(ServerRefused) as again:
            setup.check_in("T2", voter)
        assert again.value.code == "already_voted"
    second = read_resolution(reconcile(setup.state), registry, manifest.election_id)
    assert second == first

    record = export_record(setup.state, tmp_path / "record")
    published = SignedEnvelope.from_json(json.loads((record / PROVISIONAL_RESOLUTION).read_text()))
    assert read_resolution(published, registry, manifest.election_id) == first


def test_a_station_cut_off_for_two_hours_with_two_booths_casts_for_every_eligible_voter(
    cut_off: tuple[Setup, dict[str, SigningKey]], tmp_path: Path
) -> None:
    """The issue's "done when": two hours offline (a simulated clock), every eligible
    voter who comes checks in at one of the station's booths and casts; a second try at
    the other booth and an unlisted card are refused; after sync every one counts."""
    setup, keys = cut_off
    election = setup.election
    clock = Clock(setup.clock.now)
    data, _ = station_snapshot(setup.state, "S-101")  # one snapshot for the station's booths
    booths = [
        Station(setup, terminal, keys[terminal], tmp_path, clock, snapshot=data)
        for terminal in ("T1", "T2")
    ]
    register = RegisterStore(tmp_path / "station-register.sqlite", booths[0].offline.snapshot)
    for booth in booths:
        booth.offline.register = register
    for booth in booths:
        booth.go_offline(clock.now - 3600)
    chains = Chains(setup)
    voters = election.eligible()[:24]
    cast: dict[tuple[str, int], str] = {}
    for number, person in enumerate(voters):  # one voter every five minutes, two hours
        clock.now += 300
        card = election.card(person)
        booth, other = booths[number % 2], booths[1 - number % 2]
        authorization = booth.check_in(card)
        with pytest.raises(OfflineRefused) as again:
            other.check_in(card)
        assert again.value.code == "already_voted"
        cast[chains.cast(booth.terminal, authorization)] = person.national_code
    stranger = next(p for p in election.people if not p.on_roll)
    with pytest.raises(OfflineRefused) as unlisted:
        booths[0].check_in(election.card(stranger))
    assert unlisted.value.code == "not_in_roll_snapshot"
    assert clock.now - setup.clock.now == 2 * 3600
    assert register.count() == len(voters)

    manifest = setup.state.inquiry_manifest()
    decisions = read_resolution(
        reconcile(setup.state), election.keys.registry_public, manifest.election_id
    )
    assert {(d.station_id, d.board_position) for d in decisions} == set(cast)
    assert all(decision.counted for decision in decisions)
    for person in voters[:3]:
        with pytest.raises(ServerRefused) as online:
            setup.check_in("T2", election.card(person))
        assert online.value.code == "already_voted"
    register.close()


def test_the_command_prints_the_counts_and_refuses_without_the_registry_key(
    hq: Path,  # noqa: F811
) -> None:
    runner = CliRunner()
    result = runner.invoke(server, ["reconcile", "--data-dir", str(hq)])
    assert result.exit_code == 0, result.output
    assert result.output == "provisional: 0 counted, 0 excluded\n"
    (hq / "keys" / "registry.key").unlink()
    refused = runner.invoke(server, ["reconcile", "--data-dir", str(hq)])
    assert refused.exit_code == 1 and "registry.key" in refused.output
    assert refused.output.count("\n") == 1
