"""Homomorphic totals equal a plaintext count at every level, for any quorum, in any order.

Random elections (hierarchy shape, ballots, choices) are encrypted under the
session ceremony's joint key; the decrypted totals must equal counting the
plaintext choices, station by station and summed up the hierarchy.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.ballot import BLANK_KEY, ElectionContext, encrypt_ballot
from crypto.signing import SigningKey
from evote.manifest import Manifest
from tally.ceremony import CeremonyResult
from tally.decryption import decrypt_totals, make_decryption_shares
from tally.testing import synthetic_manifest
from tally.totals import EncryptedTotals, StationAccumulator, roll_up

SIGNERS = {index: SigningKey.generate() for index in (1, 2, 3)}
_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def elections(draw: st.DrawFn) -> tuple[Manifest, list[tuple[str, dict[str, list[str]]]]]:
    stations = draw(st.integers(1, 4))
    document = synthetic_manifest(
        stations, provinces=draw(st.integers(1, 2)), counties_per_province=draw(st.integers(1, 2))
    )
    manifest = Manifest.from_json(document)
    ballots = []
    for _ in range(draw(st.integers(0, 6))):
        station = draw(st.sampled_from(manifest.stations))
        choices = {}
        for spec in manifest.contest_specs(station.ballot_style_id):
            size = draw(st.integers(0, spec.votes_allowed))
            choices[spec.contest_id] = draw(
                st.lists(
                    st.sampled_from(spec.selection_ids), min_size=size, max_size=size, unique=True
                )
            )
        ballots.append((station.station_id, choices))
    return manifest, ballots


def _encrypt(ceremony: CeremonyResult, manifest: Manifest, ballots: list[Any]) -> list[Any]:
    context = ElectionContext(ceremony.base_hash, ceremony.joint_public_key)
    encrypted = []
    for station_id, choices in ballots:
        style = manifest.station(station_id).ballot_style_id
        ballot, _ = encrypt_ballot(context, style, manifest.contest_specs(style), choices)
        encrypted.append((station_id, ballot.to_json()))
    return encrypted


def _totals(
    ceremony: CeremonyResult, manifest: Manifest, groups: list[list[tuple[str, Any]]]
) -> EncryptedTotals:
    accumulator = StationAccumulator()
    for group in groups:
        partial = StationAccumulator()
        for station_id, ballot in group:
            partial.add_ballot(station_id, ballot)
        accumulator.merge(partial)
    units = roll_up(manifest, accumulator.station_units(manifest))
    return EncryptedTotals(manifest.election_id, ceremony.base_hash, tuple(units))


def _plaintext_counts(manifest: Manifest, ballots: list[Any]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for station_id, choices in ballots:
        station = manifest.station(station_id)
        units = [
            ("station", station_id),
            ("county", station.county_id),
            ("province", station.province_id),
            ("national", "national"),
        ]
        for level, unit_id in units:
            for contest_id, chosen in choices.items():
                for key in chosen or [BLANK_KEY]:
                    counts[f"{level}/{unit_id}/{contest_id}/{key}"] += 1
    return counts


@_SETTINGS
@given(election=elections(), quorum_set=st.sampled_from([(1, 2), (1, 3), (2, 3), (1, 2, 3)]))
def test_decrypted_totals_equal_a_plaintext_count_at_every_level_for_any_quorum(
    ceremony: CeremonyResult,
    secret_shares: dict[int, int],
    election: tuple[Manifest, list[Any]],
    quorum_set: tuple[int, ...],
) -> None:
    manifest, ballots = election
    totals = _totals(ceremony, manifest, [_encrypt(ceremony, manifest, ballots)])
    envelopes = [
        make_decryption_shares(index, secret_shares[index], SIGNERS[index], totals)
        for index in quorum_set
    ]
    signers = {index: key.public_key for index, key in SIGNERS.items()}
    decryption = decrypt_totals(totals, envelopes, ceremony.trustees, signers, quorum=2)
    expected = _plaintext_counts(manifest, ballots)
    assert decryption.rejected == []
    for label, value in decryption.counts.items():
        assert value == expected[label], label
    assert {label for label, value in expected.items() if value} <= set(decryption.counts)


@_SETTINGS
@given(election=elections(), seed=st.integers(0, 2**32 - 1))
def test_order_and_grouping_never_change_the_encrypted_totals(
    ceremony: CeremonyResult, election: tuple[Manifest, list[Any]], seed: int
) -> None:
    manifest, ballots = election
    encrypted = _encrypt(ceremony, manifest, ballots)
    shuffled = list(encrypted)
    rng = random.Random(seed)
    rng.shuffle(shuffled)
    cut = sorted(rng.sample(range(len(shuffled) + 1), k=min(2, len(shuffled) + 1)))
    groups = [shuffled[: cut[0]], shuffled[cut[0] : cut[-1]], shuffled[cut[-1] :]]
    one = _totals(ceremony, manifest, [encrypted])
    other = _totals(ceremony, manifest, groups)
    assert one.to_json() == other.to_json()
