"""What one server process holds: configuration, the engines, cached election data.

An intake server opens both databases; an inquiry-only server (``services``
without ``intake``) opens just the registry database, where it finds the
manifest and terminal keys HQ wrote for it.

Each database has a durable engine and an "ephemeral" one (``db.make_ephemeral_engine``:
autocommit without waiting for the WAL flush on PostgreSQL, the durable engine
itself on SQLite) for nonces, pruning and single reads. The election
(manifest, trustees, context, contest specs) never changes once created, so it
is read from the database once and cached; terminal keys and revocations are
cached for ``config.terminal_cache_s`` (a terminal registered later is found on
the next miss, one revoked is refused within that time). The caches
live in this object, never at module level, so two servers in one process
(tests, the demo) never see each other's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ballot_server import db, replay
from ballot_server.challenges import ChallengeKey
from ballot_server.config import ServerConfig
from ballot_server.errors import ServerError
from ballot_server.keys import KeyMismatch
from ballot_server.models import Election, RequestNonce, Terminal
from ballot_server.registry_models import InquiryElection, InquiryNonce, InquiryTerminal
from crypto.ballot import ContestSpec, ElectionContext
from crypto.group import Point
from crypto.signing import SignedEnvelope, VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote.manifest import Manifest
from evote.protocol import TerminalRequest


@dataclass(frozen=True)
class ElectionInfo:
    election_id: str
    manifest: Manifest
    manifest_envelope: dict[str, Any]
    trustees: tuple[TrusteePublicKeys, ...]
    context: ElectionContext
    row: dict[str, str]

    def specs(self, ballot_style_id: str) -> tuple[ContestSpec, ...]:
        return self.manifest.contest_specs(ballot_style_id)


@dataclass(frozen=True)
class TerminalKey:
    terminal_id: str
    station_id: str
    public_key: VerifyKey
    revoked: bool = False


@dataclass(frozen=True)
class RequestGate:
    """Where one service checks terminal requests (``requests.authenticate``): its own
    terminal directory and replay records, so the inquiry can run without the
    intake database and the intake without the registry's nonces."""

    terminal: Callable[[str], TerminalKey]
    nonce_engine: Engine
    nonce_table: type[RequestNonce] | type[InquiryNonce]
    nonce_row: Callable[[TerminalRequest], dict[str, object]]
    clock: Callable[[], int]
    window_s: int


class _TerminalDirectory:
    """Terminal keys and revocations of one database's terminal table, each cached for
    ``max_age_s`` seconds: a terminal registered later by the CLI is found on the next
    miss, and one revoked (by another process: the CLI, another worker) is refused by
    this worker once its copy is that old."""

    def __init__(
        self,
        engine: Engine,
        table: type[Terminal] | type[InquiryTerminal],
        max_age_s: float,
    ) -> None:
        self.engine = engine
        self.table = table
        self.max_age_s = max_age_s
        self._found: dict[str, tuple[float, TerminalKey]] = {}

    def __call__(self, terminal_id: str) -> TerminalKey:
        held = self._found.get(terminal_id)
        now = time.monotonic()
        if held is not None and now - held[0] < self.max_age_s:
            return held[1]
        table = self.table
        query = select(table.terminal_id, table.station_id, table.public_key, table.revoked_at)
        # Outside any transaction: callers may hold one open on this database.
        with db.lone_read(self.engine) as connection:
            row = connection.execute(query.where(table.terminal_id == terminal_id)).first()
        if row is None:
            raise ServerError("unknown_terminal", terminal_id)
        found = TerminalKey(
            row.terminal_id,
            row.station_id,
            VerifyKey.from_hex(row.public_key),
            revoked=row.revoked_at is not None,
        )
        self._found[terminal_id] = (now, found)
        return found


class _IntakeDatabase:
    """The ballot-intake database: engines, terminal keys, the intake's request gate
    (absent on an inquiry-only server)."""

    def __init__(self, config: ServerConfig) -> None:
        self.engine: Engine = db.make_engine(config.database_url)
        if config.run_migrations:
            db.upgrade(self.engine, "main")
        self.ephemeral_engine = db.make_ephemeral_engine(config.database_url, self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.terminals = _TerminalDirectory(self.engine, Terminal, config.terminal_cache_s)
        self.gate = RequestGate(
            self.terminals,
            self.ephemeral_engine,
            RequestNonce,
            replay.intake_nonce_row,
            config.clock,
            config.request_window_s,
        )


class ServerState:
    """Per-process state shared by the blueprints (``app.extensions["evote"]``).

    The registry database is always open (the inquiry's own, and the intake's
    closing reports and turnout count its check-ins); the intake database only
    when ``config.services`` includes ``intake``."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        # Fail at start, before any database is touched, on a host missing a key.
        if "intake" in config.services:
            config.keys.server  # noqa: B018 (raises MissingKey)
        self._challenge_key = (
            ChallengeKey.from_seed(config.keys.inquiry.seed)
            if "inquiry" in config.services
            else None
        )
        self.registry_engine: Engine = db.make_engine(config.registry_database_url)
        if config.run_migrations:
            db.upgrade(self.registry_engine, "registry")
        self.registry_ephemeral_engine = db.make_ephemeral_engine(
            config.registry_database_url, self.registry_engine
        )
        self.registry_sessions = sessionmaker(self.registry_engine, expire_on_commit=False)
        self._intake = _IntakeDatabase(config) if "intake" in config.services else None
        self.inquiry_pruned_at = 0  # when this process last pruned the inquiry's replay records
        self._election: ElectionInfo | None = None
        self._inquiry_manifest: Manifest | None = None
        self._specs: dict[str, tuple[ContestSpec, ...]] = {}
        self._lock = threading.Lock()
        self._next_root_at = 0
        self.inquiry_gate = RequestGate(
            _TerminalDirectory(self.registry_engine, InquiryTerminal, config.terminal_cache_s),
            self.registry_ephemeral_engine,
            InquiryNonce,
            replay.inquiry_nonce_row,
            config.clock,
            config.request_window_s,
        )

    def _intake_database(self) -> _IntakeDatabase:
        if self._intake is None:
            raise RuntimeError("this server runs the inquiry only: no intake database")
        return self._intake

    @property
    def engine(self) -> Engine:
        return self._intake_database().engine

    @property
    def ephemeral_engine(self) -> Engine:
        return self._intake_database().ephemeral_engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._intake_database().sessions

    @property
    def challenge_key(self) -> ChallengeKey:
        if self._challenge_key is None:
            raise RuntimeError("this server does not run the inquiry")
        return self._challenge_key

    @property
    def intake_gate(self) -> RequestGate:
        return self._intake_database().gate

    def terminal(self, terminal_id: str) -> TerminalKey:
        """A terminal registered with the intake (its key, its station)."""
        return self._intake_database().terminals(terminal_id)

    def now(self) -> int:
        return self.config.clock()

    def root_due(self) -> bool:
        """Whether this process should try to publish a national root now: once
        every ``root_interval_s`` by the server's clock (other workers may too;
        whoever holds the publisher's lock wins and the others skip)."""
        now = self.now()
        with self._lock:
            if now < self._next_root_at:
                return False
            self._next_root_at = now + self.config.root_interval_s
            return True

    def election(self) -> ElectionInfo:
        if self._election is None:
            with Session(self.engine) as session:
                row = session.execute(select(Election)).scalar_one_or_none()
            if row is None:
                raise ServerError("election_not_ready")
            keys = self.config.keys
            for role, held, named in (
                ("inquiry", keys.inquiry_public, row.inquiry_public_key),
                ("server", keys.server_public, row.server_public_key),
            ):
                if held.hex() != named:
                    raise KeyMismatch(role, "the key the election names")
            with self._lock:
                self._election = load_election_info(row)
        return self._election

    def inquiry_manifest(self) -> Manifest:
        """The manifest as the inquiry holds it (registry database), HQ's signature
        checked on load: whoever can write that database still cannot change it."""
        if self._inquiry_manifest is None:
            with Session(self.registry_engine) as session:
                row = session.execute(select(InquiryElection)).scalar_one_or_none()
            if row is None:
                raise ServerError("election_not_ready")
            envelope = SignedEnvelope.from_json(json.loads(row.manifest_envelope))
            manifest = Manifest.from_json(envelope.verify("manifest", self.config.keys.hq_public))
            with self._lock:
                self._inquiry_manifest = manifest
        return self._inquiry_manifest

    def specs(self, ballot_style_id: str) -> tuple[ContestSpec, ...]:
        specs = self._specs.get(ballot_style_id)
        if specs is None:
            specs = self.election().specs(ballot_style_id)
            self._specs[ballot_style_id] = specs
        return specs

    def dispose(self) -> None:
        engines = {self.registry_engine, self.registry_ephemeral_engine}
        if self._intake is not None:
            engines |= {self._intake.engine, self._intake.ephemeral_engine}
        for engine in engines:
            engine.dispose()


def load_election_info(row: Election) -> ElectionInfo:
    envelope = json.loads(row.manifest_envelope)
    trustees = tuple(TrusteePublicKeys.from_json(item) for item in json.loads(row.trustees))
    context = ElectionContext(bytes.fromhex(row.base_hash), Point.from_hex(row.joint_public_key))
    columns = {
        name: getattr(row, name)
        for name in (
            "election_id",
            "manifest_hash",
            "base_hash",
            "joint_public_key",
            "hq_public_key",
            "registry_public_key",
            "inquiry_public_key",
            "server_public_key",
        )
    }
    return ElectionInfo(
        row.election_id,
        Manifest.from_json(envelope["payload"]),
        envelope,
        trustees,
        context,
        columns,
    )
