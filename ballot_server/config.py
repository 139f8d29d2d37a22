"""Server configuration: databases, keys and time windows, from code or the environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ballot_server.keys import KeySet, load_keys

DEFAULT_DATA_DIR = "evote-data"


def _now() -> int:
    return int(time.time())


@dataclass
class ServerConfig:
    """Everything the app factory needs; ``clock`` is injectable so tests can move time."""

    database_url: str
    registry_database_url: str
    keys: KeySet
    checkpoint_interval: int = 100
    request_window_s: int = 300
    challenge_ttl_s: int = 120
    authorization_ttl_s: int = 900
    pass_ttl_s: int = 3600
    max_request_bytes: int = 512 * 1024
    run_migrations: bool = True
    clock: Callable[[], int] = field(default=_now)

    @classmethod
    def for_data_dir(cls, data_dir: Path, **overrides: object) -> ServerConfig:
        """Defaults: two SQLite files in ``data_dir``; EVOTE_DATABASE_URL and
        EVOTE_REGISTRY_DATABASE_URL override them (PostgreSQL in production)."""
        data_dir = Path(data_dir)
        database_url = os.environ.get(
            "EVOTE_DATABASE_URL", f"sqlite:///{(data_dir / 'ballot.sqlite').resolve()}"
        )
        registry_url = os.environ.get(
            "EVOTE_REGISTRY_DATABASE_URL", f"sqlite:///{(data_dir / 'registry.sqlite').resolve()}"
        )
        return cls(database_url, registry_url, load_keys(data_dir / "keys"), **overrides)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> ServerConfig:
        """For gunicorn: ``EVOTE_DATA_DIR`` names the data dir holding the keys."""
        return cls.for_data_dir(Path(os.environ.get("EVOTE_DATA_DIR", DEFAULT_DATA_DIR)))
