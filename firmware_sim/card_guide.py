"""What the reader simulator tells a person at start and on ``help``.

A newcomer starting ``evote firmware-sim reader`` sees a bare device path and
has to guess how to put a card in and which card opens the officials' screen.
This module lists the card files of a cards directory by role, so the guide
can name the official's card (and its PIN: these are simulated cards whose
image holds the PIN anyway).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

READER_COMMANDS = (
    "insert FILE     put a card in (a card file written by `evote firmware-sim issue-cards`)",
    "remove          pull the card out",
    "fault KIND [R]  corrupt R | drop R | mute | remove-during-apdu | clear",
    "help            this text",
    "quit            stop the reader",
)


@dataclass(frozen=True)
class CardFile:
    path: Path
    role: str
    station_id: str | None
    name_en: str
    pin: str


def card_files(directory: Path) -> list[CardFile]:
    """The card files in ``directory`` (unreadable files are skipped: this is only a guide)."""
    cards = []
    for path in sorted(directory.glob("card-*.json")):
        try:
            image = json.loads(path.read_text(encoding="utf-8"))
            holder = image["holder"]
            cards.append(
                CardFile(
                    path,
                    str(holder["role"]),
                    holder.get("station_id"),
                    str(holder.get("name_en", "")),
                    str(image.get("pin", "")),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return cards


def _station(card: CardFile) -> str:
    return card.station_id or ""


def reader_guide(cards_directory: Path | None) -> list[str]:
    """Lines telling how to drive the reader and which cards are whose."""
    lines = ["Type a command and Enter:", *(f"  {line}" for line in READER_COMMANDS)]
    cards = card_files(cards_directory) if cards_directory is not None else []
    if not cards:
        where = cards_directory or "--cards DIR"
        lines.append(
            f"No card files found in {where}; issue them with `evote firmware-sim issue-cards`."
        )
        return lines
    officials = sorted((card for card in cards if card.role == "official"), key=_station)
    voters = [card for card in cards if card.role == "voter"]
    for card in officials:
        where = f"Official's card for {card.station_id}"
        lines.append(f"{where}: insert {card.path}  (PIN {card.pin}, {card.name_en})")
    if voters:
        lines.append(
            f"{len(voters)} voter cards, e.g.: insert {voters[0].path}  (PIN {voters[0].pin})"
        )
    return lines
