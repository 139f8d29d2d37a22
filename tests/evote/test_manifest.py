"""The manifest accepts the sample election and names the field of every defect."""

from __future__ import annotations

import contextlib
import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.errors import ManifestError
from evote.manifest import Manifest
from evote.sample import sample_manifest

ELECTION_DAY = date(2026, 11, 23)


def sample() -> dict[str, Any]:
    return sample_manifest(ELECTION_DAY)


def test_sample_manifest_parses_with_its_hierarchy_and_ballot_style() -> None:
    manifest = Manifest.from_json(sample())
    assert [s.station_id for s in manifest.stations] == ["S-101", "S-102", "S-201"]
    assert {s.county_id for s in manifest.stations} == {"tehran-city", "rey"}
    specs = manifest.contest_specs("tehran-1")
    assert [(s.contest_id, len(s.selection_ids), s.votes_allowed) for s in specs] == [
        ("majlis", 10, 3),
        ("experts", 8, 1),
    ]
    assert manifest.station("S-201").province_id == "tehran"


def test_manifest_hash_changes_with_any_field() -> None:
    original = Manifest.from_json(sample()).manifest_hash
    changed = sample()
    changed["contests"][0]["candidates"][0]["name"]["fa"] = "دیگری"
    assert Manifest.from_json(changed).manifest_hash != original


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.pop("election_id"), "manifest.election_id"),
        (lambda m: m.update(format="other"), "manifest.format"),
        (lambda m: m.update(election_date="1405/09/02"), "manifest.election_date"),
        (lambda m: m["contests"][0].update(votes_allowed=11), "manifest.contests[0].votes_allowed"),
        (lambda m: m["contests"][1].update(rule="lottery"), "manifest.contests[1].rule"),
        (
            lambda m: m["contests"][0]["candidates"][1].update(code=1101),
            "manifest.contests[0].candidates[].code",
        ),
        (
            lambda m: m["ballot_styles"][0]["contest_ids"].append("senate"),
            "manifest.ballot_styles[0].contest_ids",
        ),
        (
            lambda m: m["provinces"][0]["counties"][1]["stations"][0].update(district_id="x"),
            "manifest.provinces[0].counties[1].stations[0].district_id",
        ),
        (lambda m: m["trustees"].update(quorum=4), "manifest.trustees.quorum"),
        (lambda m: m["contests"][0].update(seats="3"), "manifest.contests[0].seats"),
    ],
)
def test_defects_are_rejected_naming_the_field(mutate: Any, field: str) -> None:
    document = sample()
    mutate(document)
    with pytest.raises(ManifestError) as caught:
        Manifest.from_json(document)
    assert caught.value.field == field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(path_choice=st.integers(min_value=0, max_value=10_000), junk=json_values)
def test_junk_anywhere_gives_a_manifest_error_never_a_crash(path_choice: int, junk: object) -> None:
    document = sample()
    containers: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                containers.append((node, key))
                walk(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                containers.append((node, index))
                walk(value)

    walk(document)
    parent, key = containers[path_choice % len(containers)]
    before = copy.deepcopy(parent[key])
    parent[key] = junk
    if junk == before:
        return
    with contextlib.suppress(ManifestError):
        Manifest.from_json(document)
