"""What one server process holds: configuration, the engines, cached election data.

Each database has a durable engine and an "ephemeral" one (``db.make_ephemeral_engine``:
autocommit without waiting for the WAL flush on PostgreSQL, the durable engine
itself on SQLite) for nonces, challenges and single reads. The election
(manifest, trustees, context, contest specs) never changes once created, so it
is read from the database once and cached; terminal keys are cached once seen
(a terminal registered later by the CLI is found on the next miss). The caches
live in this object, never at module level, so two servers in one process
(tests, the demo) never see each other's.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from ballot_server import db
from ballot_server.config import ServerConfig
from ballot_server.errors import ServerError
from ballot_server.models import Election, Terminal
from crypto.ballot import ContestSpec, ElectionContext
from crypto.group import Point
from crypto.signing import VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote.manifest import Manifest


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


class ServerState:
    """Per-process state shared by the blueprints (``app.extensions["evote"]``)."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.engine: Engine = db.make_engine(config.database_url)
        self.registry_engine: Engine = db.make_engine(config.registry_database_url)
        if config.run_migrations:
            db.upgrade(self.engine, "main")
            db.upgrade(self.registry_engine, "registry")
        self.ephemeral_engine = db.make_ephemeral_engine(config.database_url, self.engine)
        self.registry_ephemeral_engine = db.make_ephemeral_engine(
            config.registry_database_url, self.registry_engine
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.registry_sessions = sessionmaker(self.registry_engine, expire_on_commit=False)
        self._election: ElectionInfo | None = None
        self._specs: dict[str, tuple[ContestSpec, ...]] = {}
        self._terminals: dict[str, TerminalKey] = {}
        self._lock = threading.Lock()

    def now(self) -> int:
        return self.config.clock()

    def election(self) -> ElectionInfo:
        if self._election is None:
            with Session(self.engine) as session:
                row = session.execute(select(Election)).scalar_one_or_none()
            if row is None:
                raise ServerError("election_not_ready")
            with self._lock:
                self._election = load_election_info(row)
        return self._election

    def specs(self, ballot_style_id: str) -> tuple[ContestSpec, ...]:
        specs = self._specs.get(ballot_style_id)
        if specs is None:
            specs = self.election().specs(ballot_style_id)
            self._specs[ballot_style_id] = specs
        return specs

    def terminal(self, terminal_id: str) -> TerminalKey:
        found = self._terminals.get(terminal_id)
        if found is None:
            with Session(self.engine) as session:
                row = session.get(Terminal, terminal_id)
            if row is None:
                raise ServerError("unknown_terminal", terminal_id)
            found = TerminalKey(row.terminal_id, row.station_id, VerifyKey.from_hex(row.public_key))
            self._terminals[terminal_id] = found
        return found

    def dispose(self) -> None:
        for engine in {
            self.engine,
            self.registry_engine,
            self.ephemeral_engine,
            self.registry_ephemeral_engine,
        }:
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
