"""Offline mode and offline check-ins: who may open it and when, one check-in per voter
that survives a restart, and a provisional authorization only the registry can read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from crypto.signing import SignedEnvelope, SigningKey
from evote.provisional import ProvisionalError, open_check_in, read_grant
from evote.roll_snapshot import SnapshotOpener, build_snapshot, load_snapshot
from firmware_sim.cards import RollRow, holder_file, issue_card, write_card_file
from firmware_sim.reader import ReaderSimulator
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.holder import CardHolder, parse_holder
from terminal.errors import ConfigurationError, IllegalTransition
from terminal.offline_roll import OfflineRefused
from terminal.offline_station import LinkMode, OfflineStation, StationIdentity

REGISTRY = SigningKey.generate()
TERMINAL = SigningKey.generate()
IDENTITY = StationIdentity("E-1404", "S-101", "tehran-1", "T1", TERMINAL, REGISTRY.public_key)
VOTER = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")
OTHER_VOTER = RollRow("0499370899", "سارا نوری", "Sara Nouri", "1385-11-02", "voter", None, "1234")
OFFICIAL = RollRow(
    "1234567891", "مریم احمدی", "Maryam Ahmadi", "1360-01-30", "official", "S-101", "87654321"
)
ELSEWHERE = replace(OFFICIAL, station_id="S-102")
NOW = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def card(
    row: RollRow, registry: SigningKey = REGISTRY
) -> tuple[CardHolder, Callable[[bytes], bytes]]:
    """A card's holder file and its INTERNAL AUTHENTICATE, in memory (the pty test below
    goes through the reader)."""
    image = issue_card(registry, row, f"card-{row.national_code}-{row.role}")
    key = SigningKey(bytes.fromhex(image["private_key_seed"]))
    holder = parse_holder(
        holder_file(image["holder"], SignedEnvelope.from_json(image["certificate"]))
    )
    return holder, key.sign_bytes


def snapshot_file() -> bytes:
    return build_snapshot(
        REGISTRY,
        election_id="E-1404",
        station_id="S-101",
        ballot_style_id="tehran-1",
        as_of=int(NOW) - 86400,
        voters=[(row.national_code, row.birth_date) for row in (VOTER, OTHER_VOTER)],
        revoked_card_ids=[],
        terminal_keys={"T1": TERMINAL.public_key},
    )


SNAPSHOT = snapshot_file()


def station(path: Path, clock: Clock, data: bytes = SNAPSHOT) -> OfflineStation:
    snapshot = load_snapshot(
        data, SnapshotOpener(REGISTRY.public_key, "E-1404", "S-101", "T1", TERMINAL)
    )
    return OfflineStation(
        path / "offline.sqlite", IDENTITY, snapshot, required_down_s=600, clock=clock
    )


def enter(offline: OfflineStation, row: RollRow, down_since: float | None) -> None:
    holder, sign = card(row)
    offline.enter(holder, b"c" * 32, sign(b"c" * 32), down_since)


def test_offline_mode_opens_only_for_this_stations_official_after_the_link_was_down_long_enough(
    tmp_path: Path,
) -> None:
    clock = Clock()
    offline = station(tmp_path, clock)
    attempts = [
        (VOTER, NOW - 3600, "not_an_official"),
        (ELSEWHERE, NOW - 3600, "official_wrong_station"),
        (OFFICIAL, NOW - 599, "link_not_down_long_enough"),
        (OFFICIAL, None, "link_not_down_long_enough"),
    ]
    for row, down_since, code in attempts:
        with pytest.raises(OfflineRefused) as refused:
            enter(offline, row, down_since)
        assert refused.value.code == code
        assert offline.mode is LinkMode.ONLINE
    holder, sign = card(OFFICIAL)
    with pytest.raises(OfflineRefused) as forged:
        offline.enter(holder, b"c" * 32, sign(b"d" * 32), NOW - 3600)
    assert forged.value.code == "card_signature_invalid"
    forged_holder, forged_sign = card(OFFICIAL, SigningKey.generate())
    with pytest.raises(OfflineRefused) as other_registry:
        offline.enter(forged_holder, b"c" * 32, forged_sign(b"c" * 32), NOW - 3600)
    assert other_registry.value.code == "card_not_genuine"
    with pytest.raises(OfflineRefused) as online:
        offline.check_in(*card(VOTER))
    assert online.value.code == "not_offline"
    enter(offline, OFFICIAL, NOW - 600)
    assert offline.mode is LinkMode.OFFLINE
    with pytest.raises(IllegalTransition):
        enter(offline, OFFICIAL, NOW - 600)


def test_offline_mode_is_left_by_an_official_or_when_the_link_is_back(tmp_path: Path) -> None:
    clock = Clock()
    offline = station(tmp_path, clock)
    holder, sign = card(OFFICIAL)
    with pytest.raises(IllegalTransition):
        offline.leave(holder, b"c" * 32, sign(b"c" * 32))
    assert offline.link_restored() is LinkMode.ONLINE
    enter(offline, OFFICIAL, NOW - 3600)
    offline.leave(holder, b"c" * 32, sign(b"c" * 32))
    assert offline.mode is LinkMode.ONLINE
    enter(offline, OFFICIAL, NOW - 3600)
    assert offline.link_restored() is LinkMode.ONLINE
    with pytest.raises(OfflineRefused) as after:
        offline.check_in(*card(VOTER))
    assert after.value.code == "not_offline"


def test_a_voter_is_checked_in_once_with_card_and_pin_even_across_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    offline = station(tmp_path, clock)
    enter(offline, OFFICIAL, NOW - 3600)
    card_file = tmp_path / "voter.json"
    write_card_file(card_file, issue_card(REGISTRY, VOTER, "card-voter"))
    with ReaderSimulator() as simulator, SerialCardReader(simulator.path, timeout_s=0.5) as reader:
        simulator.insert(card_file)
        reader.wait_for_event(2.0)
        reader.power_on()
        holder = reader.read_holder()
        reader.verify_pin("1234")
        authorization = offline.check_in(holder, reader.authenticate)
        offline.close()
        restarted = station(tmp_path, clock)
        assert restarted.mode is LinkMode.OFFLINE
        with pytest.raises(OfflineRefused) as again:
            restarted.check_in(holder, reader.authenticate)
    assert again.value.code == "already_voted"
    restarted.close()
    with pytest.raises(ConfigurationError) as changed:
        station(tmp_path, clock, snapshot_file())
    assert changed.value.code == "roll_snapshot_changed"
    restarted = station(tmp_path, clock)
    assert restarted.checked_in_count() == 1
    grant, _ = read_grant(authorization, TERMINAL.public_key)
    assert grant.station_id == "S-101" and grant.checked_in_at % 60 == 0
    restarted.check_in(*card(OTHER_VOTER))
    assert restarted.checked_in_count() == 2
    restarted.close()
    stored = (tmp_path / "offline.sqlite").read_bytes() + b"".join(
        path.read_bytes() for path in tmp_path.glob("offline.sqlite-*")
    )
    assert grant.authorization_id.encode() not in stored
    assert bytes.fromhex(grant.authorization_id) not in stored


def test_an_unlisted_or_ineligible_card_gets_no_provisional_authorization(tmp_path: Path) -> None:
    offline = station(tmp_path, Clock())
    enter(offline, OFFICIAL, NOW - 3600)
    for row, code in (
        (replace(VOTER, birth_date="1370-05-13"), "not_in_roll_snapshot"),
        (replace(VOTER, national_code="0000000000"), "not_in_roll_snapshot"),
        (OFFICIAL, "not_a_voter_card"),
    ):
        with pytest.raises(OfflineRefused) as refused:
            offline.check_in(*card(row))
        assert refused.value.code == code
    assert offline.checked_in_count() == 0


def test_only_the_registry_reads_the_check_in_and_the_card_endorsed_exactly_this_authorization(
    tmp_path: Path,
) -> None:
    offline = station(tmp_path, Clock())
    enter(offline, OFFICIAL, NOW - 3600)
    first = offline.check_in(*card(VOTER))
    second = offline.check_in(*card(OTHER_VOTER))
    grant, sealed = read_grant(first, TERMINAL.public_key)
    opened = open_check_in(REGISTRY, grant, sealed)
    assert (opened.national_code, opened.birth_date) == (VOTER.national_code, VOTER.birth_date)
    assert VOTER.national_code.encode() not in str(first.to_json()).encode()
    with pytest.raises(ProvisionalError):
        open_check_in(SigningKey.generate(), grant, sealed)
    with pytest.raises(ProvisionalError):  # the card signed the original minute, not this one
        open_check_in(REGISTRY, replace(grant, checked_in_at=grant.checked_in_at - 60), sealed)
    other_grant, other_sealed = read_grant(second, TERMINAL.public_key)
    with pytest.raises(ProvisionalError, match="another authorization"):
        open_check_in(
            REGISTRY, replace(other_grant, authorization_id=grant.authorization_id), other_sealed
        )
    with pytest.raises(ProvisionalError):
        read_grant(first, SigningKey.generate().public_key)
