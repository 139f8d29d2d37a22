"""Server configuration: databases, keys and time windows, from code or the environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ballot_server.keys import KeySet, load_keys

DEFAULT_DATA_DIR = "evote-data"
SERVICES = ("intake", "inquiry")


def parse_services(text: str) -> tuple[str, ...]:
    """``"inquiry"``, ``"intake,inquiry"`` …: the services one server process runs."""
    services = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(services) - set(SERVICES))
    if unknown or not services:
        raise ValueError(f"services: expected some of {', '.join(SERVICES)}, got {text!r}")
    return services


def _now() -> int:
    return int(time.time())


@dataclass
class ServerConfig:
    """Everything the app factory needs; ``clock`` is injectable so tests can move time.

    ``services`` says what this process serves: ``intake`` (ballots, polls, board,
    turnout, admin: needs both databases) and ``inquiry`` (challenges, check-ins,
    passes: needs only the registry database), or both (the default)."""

    database_url: str
    registry_database_url: str
    keys: KeySet
    root_interval_s: int = 60
    request_window_s: int = 300
    challenge_ttl_s: int = 120
    authorization_ttl_s: int = 900
    pass_ttl_s: int = 3600
    # How long a worker trusts its cached copy of a terminal's key and revocation: a
    # terminal revoked by `evote server revoke-terminal` is refused by every worker
    # within this many seconds.
    terminal_cache_s: float = 2.0
    max_request_bytes: int = 512 * 1024
    run_migrations: bool = True
    clock: Callable[[], int] = field(default=_now)
    services: tuple[str, ...] = SERVICES

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: object) -> ServerConfig:
        """Defaults: two SQLite files in ``data_dir``; EVOTE_DATABASE_URL and
        EVOTE_REGISTRY_DATABASE_URL override them (PostgreSQL in production), and
        EVOTE_SERVICES (e.g. ``inquiry``) says which services run."""
        data_dir = Path(data_dir)
        database_url = os.environ.get(
            "EVOTE_DATABASE_URL", f"sqlite:///{(data_dir / 'ballot.sqlite').resolve()}"
        )
        registry_url = os.environ.get(
            "EVOTE_REGISTRY_DATABASE_URL", f"sqlite:///{(data_dir / 'registry.sqlite').resolve()}"
        )
        if "EVOTE_SERVICES" in os.environ:
            overrides.setdefault("services", parse_services(os.environ["EVOTE_SERVICES"]))
        return cls(database_url, registry_url, load_keys(data_dir / "keys"), **overrides)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> ServerConfig:
        """For gunicorn: ``EVOTE_DATA_DIR`` names the data dir holding the keys."""
        return cls.for_data_dir(Path(os.environ.get("EVOTE_DATA_DIR", DEFAULT_DATA_DIR)))
