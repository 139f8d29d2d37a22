"""The election manifest: what is being decided, where, and on which ballots.

HQ writes it once and signs it; its hash is part of the election's base hash,
so every proof, ballot and decryption is bound to exactly this definition.
Schema: docs/manifest.md. Validation names the offending field so that an
operator can fix the file without reading code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from crypto.ballot import ContestSpec
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from evote.errors import ManifestError

MANIFEST_FORMAT = "evote-manifest/1"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
RULES = ("majlis", "plurality", "majority")


@dataclass(frozen=True)
class Name:
    fa: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"fa": self.fa, "en": self.en}


@dataclass(frozen=True)
class Candidate:
    code: int
    name: Name

    @property
    def selection_id(self) -> str:
        return str(self.code)


@dataclass(frozen=True)
class Contest:
    contest_id: str
    name: Name
    rule: str
    seats: int
    votes_allowed: int
    candidates: tuple[Candidate, ...]
    threshold_percent: int

    def spec(self) -> ContestSpec:
        return ContestSpec(
            self.contest_id, tuple(c.selection_id for c in self.candidates), self.votes_allowed
        )

    def candidate(self, code: int) -> Candidate:
        for candidate in self.candidates:
            if candidate.code == code:
                return candidate
        raise KeyError(code)


@dataclass(frozen=True)
class BallotStyle:
    ballot_style_id: str
    contest_ids: tuple[str, ...]


@dataclass(frozen=True)
class District:
    """A constituency: the unit that decides which ballot style its voters get."""

    district_id: str
    name: Name
    ballot_style_id: str


@dataclass(frozen=True)
class Station:
    station_id: str
    name: Name
    county_id: str
    province_id: str
    district_id: str
    ballot_style_id: str


@dataclass(frozen=True)
class County:
    county_id: str
    name: Name
    province_id: str


@dataclass(frozen=True)
class Province:
    province_id: str
    name: Name


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``document`` keeps the exact JSON that was signed."""

    document: dict[str, Any]
    election_id: str
    name: Name
    election_date: date
    provinces: tuple[Province, ...]
    counties: tuple[County, ...]
    districts: tuple[District, ...]
    stations: tuple[Station, ...]
    contests: tuple[Contest, ...]
    ballot_styles: tuple[BallotStyle, ...]
    trustee_count: int
    quorum: int

    @property
    def manifest_hash(self) -> bytes:
        return hash_bytes("evote/manifest/v1", canonical_json(self.document))

    def station(self, station_id: str) -> Station:
        for station in self.stations:
            if station.station_id == station_id:
                return station
        raise KeyError(station_id)

    def district(self, district_id: str) -> District:
        for district in self.districts:
            if district.district_id == district_id:
                return district
        raise KeyError(district_id)

    def contest(self, contest_id: str) -> Contest:
        for contest in self.contests:
            if contest.contest_id == contest_id:
                return contest
        raise KeyError(contest_id)

    def ballot_style(self, ballot_style_id: str) -> BallotStyle:
        for style in self.ballot_styles:
            if style.ballot_style_id == ballot_style_id:
                return style
        raise KeyError(ballot_style_id)

    def contests_of_style(self, ballot_style_id: str) -> tuple[Contest, ...]:
        return tuple(self.contest(cid) for cid in self.ballot_style(ballot_style_id).contest_ids)

    def contest_specs(self, ballot_style_id: str) -> tuple[ContestSpec, ...]:
        return tuple(contest.spec() for contest in self.contests_of_style(ballot_style_id))

    def stations_in_county(self, county_id: str) -> Iterator[Station]:
        return (s for s in self.stations if s.county_id == county_id)

    @classmethod
    def from_json(cls, document: object) -> Manifest:
        return _parse_manifest(document)


class _Reader:
    """Typed access to a JSON object that names the path of every failure."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ManifestError("expected an object", field=path)
        self.data: dict[str, Any] = data
        self.path = path

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise ManifestError("is required", field=f"{self.path}.{key}")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ManifestError("expected a non-empty string", field=f"{self.path}.{key}")
        return value

    def identifier(self, key: str) -> str:
        value = self.text(key)
        if not _ID.fullmatch(value):
            raise ManifestError(
                "expected an identifier (letters, digits, _ . -)", field=f"{self.path}.{key}"
            )
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ManifestError(f"expected an integer in {low}..{high}", field=f"{self.path}.{key}")
        return value

    def name(self, key: str = "name") -> Name:
        inner = self.child(key)
        return Name(fa=inner.text("fa"), en=inner.text("en"))

    def child(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def items(self, key: str) -> list[_Reader]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise ManifestError("expected a non-empty list", field=f"{self.path}.{key}")
        return [_Reader(item, f"{self.path}.{key}[{index}]") for index, item in enumerate(value)]

    def identifiers(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not value:
            raise ManifestError("expected a non-empty list", field=f"{self.path}.{key}")
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not _ID.fullmatch(item):
                raise ManifestError("expected an identifier", field=f"{self.path}.{key}[{index}]")
            result.append(item)
        return tuple(result)


def _unique(values: list[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ManifestError(f"duplicate identifier {value!r}", field=field)
        seen.add(value)


def _parse_contest(reader: _Reader) -> Contest:
    contest_id = reader.identifier("id")
    rule = reader.text("rule")
    if rule not in RULES:
        raise ManifestError(f"expected one of {', '.join(RULES)}", field=f"{reader.path}.rule")
    candidates = []
    for item in reader.items("candidates"):
        candidates.append(Candidate(code=item.integer("code", 1, 99999), name=item.name()))
    codes = [str(c.code) for c in candidates]
    _unique(codes, f"{reader.path}.candidates[].code")
    votes_allowed = reader.integer("votes_allowed", 1, len(candidates))
    seats = reader.integer("seats", 1, len(candidates))
    if votes_allowed > seats:
        raise ManifestError("cannot exceed seats", field=f"{reader.path}.votes_allowed")
    threshold = reader.integer("threshold_percent", 0, 100) if rule == "majlis" else 0
    return Contest(
        contest_id, reader.name(), rule, seats, votes_allowed, tuple(candidates), threshold
    )


def _parse_manifest(document: object) -> Manifest:
    root = _Reader(document, "manifest")
    if root.text("format") != MANIFEST_FORMAT:
        raise ManifestError(f"expected {MANIFEST_FORMAT!r}", field="manifest.format")
    try:
        election_date = date.fromisoformat(root.text("election_date"))
    except ValueError as error:
        raise ManifestError("expected YYYY-MM-DD", field="manifest.election_date") from error
    contests = [_parse_contest(item) for item in root.items("contests")]
    _unique([c.contest_id for c in contests], "manifest.contests[].id")
    contest_ids = {c.contest_id for c in contests}
    styles = []
    for item in root.items("ballot_styles"):
        style = BallotStyle(item.identifier("id"), item.identifiers("contest_ids"))
        for contest_id in style.contest_ids:
            if contest_id not in contest_ids:
                raise ManifestError(
                    f"unknown contest {contest_id!r}", field=f"{item.path}.contest_ids"
                )
        _unique(list(style.contest_ids), f"{item.path}.contest_ids")
        styles.append(style)
    _unique([s.ballot_style_id for s in styles], "manifest.ballot_styles[].id")
    style_ids = {s.ballot_style_id for s in styles}
    districts = []
    for item in root.items("districts"):
        style_id = item.identifier("ballot_style_id")
        if style_id not in style_ids:
            raise ManifestError(
                f"unknown ballot style {style_id!r}", field=f"{item.path}.ballot_style_id"
            )
        districts.append(District(item.identifier("id"), item.name(), style_id))
    _unique([d.district_id for d in districts], "manifest.districts[].id")
    style_of_district = {d.district_id: d.ballot_style_id for d in districts}
    provinces, counties, stations = [], [], []
    for province_reader in root.items("provinces"):
        province = Province(province_reader.identifier("id"), province_reader.name())
        provinces.append(province)
        for county_reader in province_reader.items("counties"):
            county = County(
                county_reader.identifier("id"), county_reader.name(), province.province_id
            )
            counties.append(county)
            for station_reader in county_reader.items("stations"):
                district_id = station_reader.identifier("district_id")
                if district_id not in style_of_district:
                    raise ManifestError(
                        f"unknown district {district_id!r}",
                        field=f"{station_reader.path}.district_id",
                    )
                stations.append(
                    Station(
                        station_reader.identifier("id"),
                        station_reader.name(),
                        county.county_id,
                        province.province_id,
                        district_id,
                        style_of_district[district_id],
                    )
                )
    _unique([p.province_id for p in provinces], "manifest.provinces[].id")
    _unique([c.county_id for c in counties], "manifest.provinces[].counties[].id")
    _unique([s.station_id for s in stations], "manifest.provinces[].counties[].stations[].id")
    trustees = root.child("trustees")
    count = trustees.integer("count", 1, 255)
    quorum = trustees.integer("quorum", 1, count)
    return Manifest(
        document=root.data,
        election_id=root.identifier("election_id"),
        name=root.name(),
        election_date=election_date,
        provinces=tuple(provinces),
        counties=tuple(counties),
        districts=tuple(districts),
        stations=tuple(stations),
        contests=tuple(contests),
        ballot_styles=tuple(styles),
        trustee_count=count,
        quorum=quorum,
    )
