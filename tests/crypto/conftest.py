"""Fixtures for the crypto core's tests: one election key, reused by every test."""

from __future__ import annotations

import pytest
from strategies import KeyPair

from crypto.ballot import ElectionContext
from crypto.group import base_mul, random_scalar


@pytest.fixture(scope="session")
def election_key() -> KeyPair:
    secret = random_scalar()
    return KeyPair(secret, base_mul(secret))


@pytest.fixture(scope="session")
def context(election_key: KeyPair) -> ElectionContext:
    return ElectionContext(bytes(range(32)), election_key.public)
