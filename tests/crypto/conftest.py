"""Fixtures for the crypto core's tests: one election key, reused by every test."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from crypto.ballot import ElectionContext
from crypto.group import Point, base_mul, random_scalar


@dataclass(frozen=True)
class KeyPair:
    secret: int = field(repr=False)
    public: Point


@pytest.fixture(scope="session")
def election_key() -> KeyPair:
    secret = random_scalar()
    return KeyPair(secret, base_mul(secret))


@pytest.fixture(scope="session")
def context(election_key: KeyPair) -> ElectionContext:
    return ElectionContext(bytes(range(32)), election_key.public)
