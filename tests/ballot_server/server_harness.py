"""A sample election on a real server (loopback), on SQLite and PostgreSQL: types and fixtures.

Imported by name (``from server_harness import Setup``); conftest.py only registers the fixtures.

PostgreSQL tests use ``EVOTE_TEST_DATABASE_URL`` and a fresh schema per test
(``evote_test_<random>``, dropped afterwards) so parallel suites never collide.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ballot_server import national
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.runner import RunningServer, start_server
from ballot_server.setup import (
    create_election,
    issue_card_certificate,
    register_terminal,
    sign_manifest,
)
from ballot_server.state import ServerState
from crypto.ballot import encrypt_ballot
from crypto.signing import SigningKey
from crypto.threshold import TrusteePublicKeys, generate_trustee
from evote import protocol
from evote.client import BallotServerClient
from evote.jalali import age_on, parse_jalali
from evote.manifest import Manifest
from evote.protocol import ballot_body
from evote.sample import Person, roll_csv, sample_manifest, sample_people

ELECTION_DATE = date(2028, 3, 1)
POSTGRES_URL = os.environ.get("EVOTE_TEST_DATABASE_URL")


@dataclass
class Card:
    key: SigningKey
    certificate: dict[str, Any]

    def sign(self, challenge_hex: str) -> bytes:
        return self.key.sign_bytes(bytes.fromhex(challenge_hex))


@dataclass
class Election:
    """Everything a test needs to play voters, officials and terminals."""

    keys: KeySet
    manifest_document: dict[str, Any]
    trustees: list[TrusteePublicKeys]
    people: list[Person]
    roll_csv: str

    def card(self, person: Person, role: str = "voter", station_id: str | None = None) -> Card:
        key = SigningKey.generate()
        assert self.keys.registry is not None
        certificate = issue_card_certificate(
            self.keys.registry,
            card_id=f"card-{person.national_code}",
            role=role,
            national_code=person.national_code,
            name_fa=person.name_fa,
            name_en=person.name_en,
            birth_date=person.birth_date,
            card_public_key=key.public_key,
            station_id=station_id,
        )
        return Card(key, certificate)

    def eligible(self) -> list[Person]:
        return [
            p
            for p in self.people
            if p.on_roll and p.alive and age_on(parse_jalali(p.birth_date), ELECTION_DATE) >= 18
        ]


@pytest.fixture(scope="session")
def election() -> Election:
    keys = KeySet.generate()
    document = sample_manifest(ELECTION_DATE)
    manifest = Manifest.from_json(document)
    trustees = [
        generate_trustee(index, manifest.quorum, manifest.manifest_hash)[1]
        for index in range(1, manifest.trustee_count + 1)
    ]
    people, _officials = sample_people(ELECTION_DATE, size=120)
    return Election(keys, document, trustees, people, roll_csv(people))


def _postgres_schema_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need EVOTE_TEST_DATABASE_URL")
    schema = f"evote_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ballot.sqlite'}", f"sqlite:///{tmp_path / 'registry.sqlite'}"
    else:
        for url in _postgres_schema_url():
            yield url, url


@pytest.fixture
def postgres_urls() -> Iterator[tuple[str, str]]:
    for url in _postgres_schema_url():
        yield url, url


class Clock:
    """A settable clock so tests can expire challenges and authorizations."""

    def __init__(self) -> None:
        import time

        self.now = int(time.time())

    def __call__(self) -> int:
        return self.now


@dataclass
class Setup:
    election: Election
    server: RunningServer
    clock: Clock
    terminals: dict[str, BallotServerClient]

    @property
    def state(self) -> Any:
        return self.server.state

    def official(self, station_id: str = "S-101") -> Card:
        person = self.election.people[0]
        return self.election.card(person, "official", station_id)

    def poll(self, terminal: str, action: str, card: Card | None = None) -> dict[str, Any]:
        client = self.terminals[terminal]
        card = card or self.official(client_station(self, terminal))
        challenge = client.official_challenge()
        return client.poll_action(
            action,
            card.certificate,
            card.sign(challenge["challenge"]),
            challenge["challenge_id"],
            poll_version=challenge["poll_version"] if action == "close" else None,
        )

    def poll_report(self, station_id: str, kind: str = "closing") -> dict[str, Any]:
        """The station's latest signed report of ``kind``, as published (its payload)."""
        path = protocol.PATH_STATION_EXPORT.replace("{station_id}", station_id)
        exported = self.terminals["T1"]._request("GET", path)
        payload: dict[str, Any] = exported["reports"][kind]["payload"]
        return payload

    def check_in(self, terminal: str, card: Card) -> dict[str, Any]:
        client = self.terminals[terminal]
        challenge = client.inquiry_challenge()
        return client.check_in(
            card.certificate, card.sign(challenge["challenge"]), challenge["challenge_id"]
        )

    def ballot(
        self,
        terminal: str,
        authorization: dict[str, Any],
        sequence: int,
        previous: bytes,
        choices: dict[str, list[str]] | None = None,
        challenge: bool = False,
    ) -> dict[str, Any]:
        info = self.state.election()
        specs = info.specs("tehran-1")
        ballot, secrets = encrypt_ballot(
            info.context, "tehran-1", specs, choices or {"majlis": ["1101"], "experts": ["2201"]}
        )
        return ballot_body(
            client_station(self, terminal),
            sequence,
            previous,
            ballot,
            authorization,
            secrets if challenge else None,
        )


STATION_OF_TERMINAL = {"T1": "S-101", "T2": "S-101", "T3": "S-102", "T4": "S-201"}


def client_station(setup: Setup, terminal: str) -> str:
    return STATION_OF_TERMINAL[terminal]


def make_setup(
    election: Election, urls: tuple[str, str], **overrides: Any
) -> tuple[Setup, list[SigningKey]]:
    clock = Clock()
    config = ServerConfig(urls[0], urls[1], election.keys, clock=clock, **overrides)
    server = start_server(config)
    assert election.keys.hq is not None
    create_election(
        server.state,
        sign_manifest(election.keys.hq, election.manifest_document),
        election.trustees,
        election.roll_csv,
    )
    clients = {}
    keys = []
    for terminal_id, station_id in STATION_OF_TERMINAL.items():
        key = SigningKey.generate()
        keys.append(key)
        register_terminal(server.state, terminal_id, station_id, key.public_key)
        clients[terminal_id] = BallotServerClient(
            server.url, terminal_id, key, server_key=election.keys.server.public_key
        )
    return Setup(election, server, clock, clients), keys


@pytest.fixture
def setup(election: Election, database_urls: tuple[str, str]) -> Iterator[Setup]:
    built, _ = make_setup(election, database_urls)
    try:
        yield built
    finally:
        built.server.stop()


@pytest.fixture
def sqlite_setup(election: Election, tmp_path: Path) -> Iterator[Setup]:
    """SQLite only: for the many refusal tests whose logic does not depend on the database."""
    urls = f"sqlite:///{tmp_path / 'ballot.sqlite'}", f"sqlite:///{tmp_path / 'registry.sqlite'}"
    built, _ = make_setup(election, urls)
    try:
        yield built
    finally:
        built.server.stop()


def wait_for_roots(state: ServerState, count: int) -> list[dict[str, Any]]:
    """The signed roots, once there are ``count``: a worker publishes the periodic
    root after it has answered the ballot that made it due."""
    deadline = time.monotonic() + 30
    while len(found := national.roots(state)) < count:
        assert time.monotonic() < deadline, f"no root number {count} after 30 s"
        time.sleep(0.01)
    return found


@contextmanager
def held(setup: Setup, *statements: str) -> Iterator[None]:
    """Another transaction running ``statements`` (locks, typically) and holding
    what they took until the block ends; then it rolls back."""
    blocker = setup.state.engine.connect()
    try:
        for statement in statements:
            blocker.execute(text(statement))
        yield
    finally:
        blocker.rollback()
        blocker.close()
