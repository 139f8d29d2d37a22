"""Registers the server fixtures; the fixtures and types live in server_harness.py.

Tests import types from ``server_harness``, never from ``conftest``: several test
directories have a conftest, and which one ``import conftest`` finds depends on
the order pytest happens to collect them in.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_harness import (  # noqa: E402
    database_urls,
    election,
    postgres_urls,
    setup,
    sqlite_setup,
)

__all__ = ["database_urls", "election", "postgres_urls", "setup", "sqlite_setup"]
