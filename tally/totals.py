"""Homomorphic totals: per station from ballots, then county → province → national.

Adding ciphertexts adds the votes inside them, so every level's totals are
computed without opening a single ballot. The verifier sums the ballots it has
fully decoded (``add_encrypted``). The tally sums raw encodings from the record
(``add_ballot``): validating every ballot point first would add about 40 % to
the tally (a decoding per point beside each addition), and it is the
verifier's job, which re-derives every station total from fully validated
ballots through this same accumulator. Either way the sums go through
``Point`` addition (libsodium via cffi, which refuses bytes that decode to no
ristretto255 element), and every sum is decoded with full validation before
anything is built on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from crypto.ballot import BLANK_KEY, EncryptedBallot
from crypto.canonical import canonical_json
from crypto.elgamal import ZERO_CIPHERTEXT, Ciphertext
from crypto.errors import DecodingError, InvalidPoint
from crypto.group import Point
from crypto.hashing import hash_bytes
from crypto.hexcodec import bytes_from_hex
from evote.manifest import Manifest
from tally.errors import TallyError

TOTALS_FORMAT: Final = "evote-encrypted-totals/1"
LEVELS: Final = ("station", "county", "province", "national")
NATIONAL_ID: Final = "national"


def _summand(text: object) -> Point:
    """A ballot point for summing only: 32 bytes of hex, not yet validated.

    libsodium's addition refuses bytes that decode to no element (InvalidPoint),
    and ``station_units`` validates every sum with ``Point.from_bytes``; the
    verifier, which validates every ballot point, re-derives the same sums.
    """
    return Point(bytes_from_hex(text, 32, "point"))


def _validated(ciphertext: Ciphertext) -> Ciphertext:
    return Ciphertext(
        Point.from_bytes(ciphertext.alpha.to_bytes()), Point.from_bytes(ciphertext.beta.to_bytes())
    )


class StationAccumulator:
    """Running sums per (station, contest, selection-or-blank) and ballot counts.

    Picklable and mergeable, so worker processes can each sum a chunk.
    """

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str, str], Ciphertext] = {}
        self.ballots: Counter[tuple[str, str]] = Counter()

    def _add(self, key: tuple[str, str, str], ciphertext: Ciphertext) -> None:
        current = self.sums.get(key)
        try:
            self.sums[key] = ciphertext if current is None else current + ciphertext
        except InvalidPoint as error:
            raise TallyError("a ballot point is not on the curve", code="bad_point") from error

    def add_ballot(self, station_id: str, ballot: Mapping[str, Any]) -> None:
        """Add one cast ballot given as ``EncryptedBallot.to_json()`` (points unvalidated)."""
        try:
            for contest in ballot["contests"]:
                contest_id = contest["contest_id"]
                items = [(s["selection_id"], s["ciphertext"]) for s in contest["selections"]]
                for key, ciphertext in [*items, (BLANK_KEY, contest["blank"])]:
                    summand = Ciphertext(
                        _summand(ciphertext["alpha"]), _summand(ciphertext["beta"])
                    )
                    self._add((station_id, contest_id, key), summand)
                self.ballots[(station_id, contest_id)] += 1
        except (KeyError, TypeError, DecodingError) as error:
            raise TallyError(f"malformed ballot: {error}", code="malformed_ballot") from error

    def add_encrypted(self, station_id: str, ballot: EncryptedBallot) -> None:
        """Add one cast ballot already decoded (and so validated) by the verifier."""
        for contest in ballot.contests:
            contest_id = contest.contest_id
            for selection in contest.selections:
                self._add((station_id, contest_id, selection.selection_id), selection.ciphertext)
            self._add((station_id, contest_id, BLANK_KEY), contest.blank)
            self.ballots[(station_id, contest_id)] += 1

    def merge(self, other: StationAccumulator) -> None:
        for key, ciphertext in other.sums.items():
            self._add(key, ciphertext)
        self.ballots.update(other.ballots)

    def station_units(self, manifest: Manifest) -> list[UnitTotals]:
        """Validated station totals, in manifest order, zero where a station had no ballots."""
        units, used = [], set()
        for station in manifest.stations:
            contests: dict[str, ContestTotals] = {}
            for spec in manifest.contest_specs(station.ballot_style_id):
                ciphertexts = {}
                for key in (*spec.selection_ids, BLANK_KEY):
                    triple = (station.station_id, spec.contest_id, key)
                    used.add(triple)
                    total = self.sums.get(triple)
                    ciphertexts[key] = ZERO_CIPHERTEXT if total is None else _validated(total)
                count = self.ballots[(station.station_id, spec.contest_id)]
                contests[spec.contest_id] = ContestTotals(count, ciphertexts)
            units.append(UnitTotals("station", station.station_id, station.county_id, contests))
        stray = sorted(set(self.sums) - used)
        if stray:
            raise TallyError(
                f"ballots for a contest or selection not on the station's ballot: {stray[0]}",
                code="stray_selection",
            )
        return units


@dataclass(frozen=True)
class ContestTotals:
    """One contest's encrypted sums in one unit; ``ballots`` is public (entries counted)."""

    ballots: int
    ciphertexts: Mapping[str, Ciphertext]

    def __add__(self, other: ContestTotals) -> ContestTotals:
        keys = self.ciphertexts.keys() | other.ciphertexts.keys()
        return ContestTotals(
            self.ballots + other.ballots,
            {
                key: self.ciphertexts.get(key, ZERO_CIPHERTEXT)
                + other.ciphertexts.get(key, ZERO_CIPHERTEXT)
                for key in keys
            },
        )


@dataclass(frozen=True)
class UnitTotals:
    """A station, county, province or the nation, with its contests' sums."""

    level: str
    unit_id: str
    parent_id: str | None
    contests: Mapping[str, ContestTotals]

    def label(self, contest_id: str, key: str) -> str:
        """The name every decryption share and result row uses for one total."""
        return f"{self.level}/{self.unit_id}/{contest_id}/{key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "unit_id": self.unit_id,
            "parent_id": self.parent_id,
            "contests": [
                {
                    "contest_id": contest_id,
                    "ballots": totals.ballots,
                    "ciphertexts": {k: c.to_json() for k, c in sorted(totals.ciphertexts.items())},
                }
                for contest_id, totals in self.contests.items()
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> UnitTotals:
        contests = {}
        for item in data["contests"]:
            ballots = item["ballots"]
            if not isinstance(ballots, int) or isinstance(ballots, bool) or ballots < 0:
                raise DecodingError("ballots must be a non-negative integer")
            ciphertexts = {k: Ciphertext.from_json(v) for k, v in item["ciphertexts"].items()}
            contests[str(item["contest_id"])] = ContestTotals(ballots, ciphertexts)
        if data["level"] not in LEVELS:
            raise DecodingError(f"unknown level {data['level']!r}")
        return cls(str(data["level"]), str(data["unit_id"]), data["parent_id"], contests)


def _sum_units(
    level: str, unit_id: str, parent_id: str | None, children: Iterable[UnitTotals]
) -> UnitTotals:
    contests: dict[str, ContestTotals] = {}
    for child in children:
        for contest_id, totals in child.contests.items():
            previous = contests.get(contest_id)
            contests[contest_id] = totals if previous is None else previous + totals
    return UnitTotals(level, unit_id, parent_id, contests)


def roll_up(manifest: Manifest, stations: Sequence[UnitTotals]) -> list[UnitTotals]:
    """Station totals plus county, province and national sums, in manifest order."""
    by_station = {unit.unit_id: unit for unit in stations}
    counties = [
        _sum_units(
            "county",
            county.county_id,
            county.province_id,
            (by_station[s.station_id] for s in manifest.stations_in_county(county.county_id)),
        )
        for county in manifest.counties
    ]
    provinces = [
        _sum_units(
            "province",
            province.province_id,
            NATIONAL_ID,
            (
                unit
                for unit, c in zip(counties, manifest.counties, strict=True)
                if c.province_id == province.province_id
            ),
        )
        for province in manifest.provinces
    ]
    national = _sum_units("national", NATIONAL_ID, None, provinces)
    return [*stations, *counties, *provinces, national]


@dataclass(frozen=True)
class EncryptedTotals:
    """``tally/encrypted_totals.json``: what the trustees decrypt."""

    election_id: str
    base_hash: bytes
    units: tuple[UnitTotals, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": TOTALS_FORMAT,
            "election_id": self.election_id,
            "base_hash": self.base_hash.hex(),
            "units": [unit.to_json() for unit in self.units],
        }

    @classmethod
    def from_json(cls, data: Any) -> EncryptedTotals:
        if not isinstance(data, dict) or data.get("format") != TOTALS_FORMAT:
            raise DecodingError(f"not an {TOTALS_FORMAT} document")
        try:
            return cls(
                election_id=str(data["election_id"]),
                base_hash=bytes_from_hex(data["base_hash"], 32, "base_hash"),
                units=tuple(UnitTotals.from_json(unit) for unit in data["units"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise DecodingError(f"encrypted totals: malformed ({error})") from error

    def digest(self) -> bytes:
        """What each trustee's decryption shares are bound to."""
        return hash_bytes("evote/encrypted-totals/v1", canonical_json(self.to_json()))

    def unit(self, level: str, unit_id: str) -> UnitTotals:
        for unit in self.units:
            if unit.level == level and unit.unit_id == unit_id:
                return unit
        raise KeyError(f"{level}/{unit_id}")
