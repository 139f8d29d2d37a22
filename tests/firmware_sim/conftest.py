"""Fixtures for the simulators' own tests: a registry key and a voter card image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crypto.signing import SigningKey
from firmware_sim.card import SimulatedCard
from firmware_sim.cards import RollRow, issue_card, write_card_file

VOTER = RollRow("0012345679", "علی رضایی", "Ali Rezaei", "1370-05-12", "voter", None, "1234")


@pytest.fixture
def registry() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def card_image(registry: SigningKey) -> dict[str, Any]:
    return issue_card(registry, VOTER, "card-0012345679")


@pytest.fixture
def card_file(card_image: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "card.json"
    write_card_file(path, card_image)
    return path


@pytest.fixture
def card(card_file: Path) -> SimulatedCard:
    return SimulatedCard.load(card_file)
