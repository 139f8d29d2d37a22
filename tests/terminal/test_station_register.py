"""The booths of one station share one offline register over the station LAN: a voter
checked in at any booth is refused at every other, a booth that cannot reach the register
refuses rather than decide alone, and nobody without the snapshot's key can claim a voter."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crypto.signing import SignedEnvelope, SigningKey
from evote.roll_snapshot import RollSnapshot, SnapshotOpener, build_snapshot, load_snapshot
from evote.serving import serve_in_thread
from firmware_sim.cards import RollRow, holder_file, issue_card
from terminal.devices.holder import CardHolder, parse_holder
from terminal.errors import ConfigurationError
from terminal.offline_roll import OfflineRefused
from terminal.offline_station import LinkMode, OfflineStation, StationIdentity
from terminal.station_register import (
    CLAIM_PATH,
    Register,
    RegisterStore,
    RemoteRegister,
    parse_listen,
    serve_register,
)

REGISTRY = SigningKey.generate()
BOOTH_KEYS = {f"T{number}": SigningKey.generate() for number in (1, 2, 3)}
VOTER = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")
OTHER = RollRow("0499370899", "سارا نوری", "Sara Nouri", "1385-11-02", "voter", None, "1234")
OFFICIAL = RollRow(
    "1234567891", "مریم احمدی", "Maryam Ahmadi", "1360-01-30", "official", "S-101", "87654321"
)
NOW = 1_900_000_000.0
SNAPSHOT = build_snapshot(
    REGISTRY,
    election_id="E-1404",
    station_id="S-101",
    ballot_style_id="tehran-1",
    as_of=int(NOW) - 86400,
    voters=[(row.national_code, row.birth_date) for row in (VOTER, OTHER)],
    revoked_card_ids=[],
    terminal_keys={terminal_id: key.public_key for terminal_id, key in BOOTH_KEYS.items()},
)


def card(row: RollRow) -> tuple[CardHolder, Callable[[bytes], bytes]]:
    image = issue_card(REGISTRY, row, f"card-{row.national_code}-{row.role}")
    key = SigningKey(bytes.fromhex(image["private_key_seed"]))
    holder = parse_holder(
        holder_file(image["holder"], SignedEnvelope.from_json(image["certificate"]))
    )
    return holder, key.sign_bytes


def opened(terminal_id: str) -> RollSnapshot:
    return load_snapshot(
        SNAPSHOT,
        SnapshotOpener(
            REGISTRY.public_key, "E-1404", "S-101", terminal_id, BOOTH_KEYS[terminal_id]
        ),
    )


class Station:
    """Three booths of S-101: T1 holds the register and serves it on loopback."""

    def __init__(self, root: Path) -> None:
        self.root = root
        snapshot = opened("T1")
        self.store = RegisterStore(root / "T1" / "station-register.sqlite", snapshot)
        self.serve()
        self.booths = {terminal_id: self.booth(terminal_id) for terminal_id in BOOTH_KEYS}

    def serve(self, port: int = 0) -> None:
        self.server = serve_register(self.store, "127.0.0.1", port)
        self.port = self.server.server_port
        serve_in_thread(self.server, "station-register").start()

    def stop_serving(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def booth(self, terminal_id: str) -> OfflineStation:
        snapshot = opened(terminal_id)
        register: Register = (
            self.store if terminal_id == "T1" else RemoteRegister(self.url, snapshot, timeout_s=2)
        )
        identity = StationIdentity(
            "E-1404", "S-101", "tehran-1", terminal_id, BOOTH_KEYS[terminal_id], REGISTRY.public_key
        )
        booth = OfflineStation(
            self.root / terminal_id / "offline.sqlite",
            identity,
            snapshot,
            required_down_s=600,
            clock=lambda: NOW,
            register=register,
        )
        if booth.mode is LinkMode.ONLINE:
            official, sign = card(OFFICIAL)
            booth.enter(official, b"c" * 32, sign(b"c" * 32), NOW - 3600)
        return booth

    def close(self) -> None:
        self.stop_serving()
        for booth in self.booths.values():
            booth.close()
        self.store.close()


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    place = Station(tmp_path)
    yield place
    place.close()


def refusal(booth: OfflineStation, row: RollRow) -> str:
    with pytest.raises(OfflineRefused) as refused:
        booth.check_in(*card(row))
    return refused.value.code


def test_a_voter_checked_in_at_one_booth_is_refused_at_every_other_booth_of_the_station(
    station: Station,
) -> None:
    booths = station.booths
    booths["T2"].check_in(*card(VOTER))
    assert refusal(booths["T3"], VOTER) == "already_voted"
    assert refusal(booths["T1"], VOTER) == "already_voted"  # the register's own booth too
    assert refusal(booths["T2"], VOTER) == "already_voted"
    booths["T1"].check_in(*card(OTHER))
    assert refusal(booths["T3"], OTHER) == "already_voted"
    assert station.store.count() == 2
    assert [booths[t].checked_in_count() for t in ("T1", "T2", "T3")] == [1, 1, 0]


def test_the_register_survives_its_booth_restarting(station: Station) -> None:
    station.booths["T3"].check_in(*card(VOTER))
    station.stop_serving()
    station.store.close()
    station.store = RegisterStore(station.root / "T1" / "station-register.sqlite", opened("T1"))
    station.serve(station.port)
    assert refusal(station.booths["T2"], VOTER) == "already_voted"


def test_a_booth_that_cannot_reach_the_register_refuses_and_keeps_no_check_in(
    station: Station,
) -> None:
    station.stop_serving()
    assert refusal(station.booths["T2"], VOTER) == "station_register_unreachable"
    assert station.booths["T2"].checked_in_count() == 0
    station.serve(station.port)
    station.booths["T2"].check_in(*card(VOTER))  # the same voter, once the register is back
    assert refusal(station.booths["T3"], VOTER) == "already_voted"


def post(url: str, message: object) -> int:
    request = urllib.request.Request(
        url + CLAIM_PATH, data=json.dumps(message).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_a_machine_without_the_snapshot_key_can_claim_no_voter(station: Station) -> None:
    tag = opened("T2").voter_tag(VOTER.national_code, VOTER.birth_date)
    forged = {"tag": tag.hex(), "minute": 0, "nonce": "00", "mac": "00" * 32}
    assert post(station.url, forged) == 403
    assert post(station.url, {"tag": tag.hex()}) == 403
    assert post(station.url, "not an object") == 403
    assert station.store.count() == 0
    station.booths["T2"].check_in(*card(VOTER))


def test_an_answer_from_a_machine_without_the_key_is_not_believed(station: Station) -> None:
    impostor = RegisterStore(
        station.root / "impostor.sqlite",
        load_snapshot(
            build_snapshot(
                REGISTRY,
                election_id="E-1404",
                station_id="S-101",
                ballot_style_id="tehran-1",
                as_of=int(NOW) - 86400,
                voters=[(VOTER.national_code, VOTER.birth_date)],
                revoked_card_ids=[],
                terminal_keys={"T1": BOOTH_KEYS["T1"].public_key},
            ),
            SnapshotOpener(REGISTRY.public_key, "E-1404", "S-101", "T1", BOOTH_KEYS["T1"]),
        ),
    )
    server = serve_register(impostor, "127.0.0.1", 0)
    serve_in_thread(server, "impostor-register").start()
    try:
        remote = RemoteRegister(f"http://127.0.0.1:{server.server_port}", opened("T2"))
        with pytest.raises(OfflineRefused) as refused:
            remote.claim(b"\x00" * 16, 0)
        assert refused.value.code == "station_register_unreachable"
    finally:
        server.shutdown()
        server.server_close()
        impostor.close()


def test_a_register_address_must_be_host_and_port() -> None:
    assert parse_listen("0.0.0.0:8790") == ("0.0.0.0", 8790)
    for bad in ("8790", "host:", "host:port", "host:70000"):
        with pytest.raises(ConfigurationError):
            parse_listen(bad)
