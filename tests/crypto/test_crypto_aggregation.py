"""The aggregation core: homomorphic sums decrypt to plaintext sums, however they are formed."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import STANDARD_CONTESTS, KeyPair, ballot_choices, small_messages

from crypto.ballot import BLANK_KEY, ElectionContext, EncryptedBallot, encrypt_ballot
from crypto.elgamal import (
    ZERO_CIPHERTEXT,
    Ciphertext,
    DiscreteLogTable,
    decrypt_with_secret,
    encrypt,
    sum_ciphertexts,
)
from crypto.errors import DiscreteLogOutOfRange
from crypto.group import IDENTITY, base_mul, random_scalar

TABLE = DiscreteLogTable(1000, baby_steps=64)


def _positions(ballot: EncryptedBallot) -> dict[str, Ciphertext]:
    """Every summable ciphertext of a ballot: selections and blank indicators."""
    result = {}
    for contest in ballot.contests:
        for selection in contest.selections:
            result[f"{contest.contest_id}/{selection.selection_id}"] = selection.ciphertext
        result[f"{contest.contest_id}/{BLANK_KEY}"] = contest.blank
    return result


def _tally(ballots: list[EncryptedBallot]) -> dict[str, Ciphertext]:
    keys = _positions(ballots[0]) if ballots else {}
    return {key: sum_ciphertexts(_positions(ballot)[key] for ballot in ballots) for key in keys}


def _expected_counts(choices: list[dict[str, list[str]]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ballot in choices:
        for contest_id, chosen in ballot.items():
            counts.update(f"{contest_id}/{selection_id}" for selection_id in chosen)
            if not chosen:
                counts[f"{contest_id}/{BLANK_KEY}"] += 1
    return counts


@settings(max_examples=8, deadline=None)
@given(st.lists(ballot_choices(), min_size=1, max_size=5))
def test_decrypted_homomorphic_sum_equals_the_plaintext_sum(
    context: ElectionContext, election_key: KeyPair, choices: list[dict[str, list[str]]]
) -> None:
    ballots = [encrypt_ballot(context, "style", STANDARD_CONTESTS, ballot)[0] for ballot in choices]
    expected = _expected_counts(choices)
    for key, total in _tally(ballots).items():
        assert TABLE.log(decrypt_with_secret(total, election_key.secret)) == expected[key]


@settings(max_examples=15, deadline=None)
@given(
    st.lists(small_messages, min_size=1, max_size=12),
    st.randoms(use_true_random=False),
    st.integers(min_value=1, max_value=4),
)
def test_sum_does_not_depend_on_order_or_grouping(
    election_key: KeyPair, messages: list[int], shuffler: object, stations: int
) -> None:
    ciphertexts = [encrypt(message, election_key.public, random_scalar()) for message in messages]
    total = sum_ciphertexts(ciphertexts)
    shuffled = list(ciphertexts)
    shuffler.shuffle(shuffled)
    station_subtotals = [sum_ciphertexts(shuffled[index::stations]) for index in range(stations)]
    assert sum_ciphertexts(shuffled) == total
    assert sum_ciphertexts(station_subtotals) == total
    assert decrypt_with_secret(total, election_key.secret) == base_mul(sum(messages))


def test_zero_totals_decrypt_to_zero(election_key: KeyPair) -> None:
    zeros = [encrypt(0, election_key.public, random_scalar()) for _ in range(5)]
    assert decrypt_with_secret(sum_ciphertexts(zeros), election_key.secret) == IDENTITY
    assert TABLE.log(decrypt_with_secret(sum_ciphertexts(zeros), election_key.secret)) == 0
    assert sum_ciphertexts([]) == ZERO_CIPHERTEXT
    assert TABLE.log(decrypt_with_secret(ZERO_CIPHERTEXT, election_key.secret)) == 0


def test_a_vote_and_its_negation_cancel_to_zero(election_key: KeyPair) -> None:
    vote = encrypt(1, election_key.public, random_scalar())
    negation = encrypt(-1, election_key.public, random_scalar())
    assert TABLE.log(decrypt_with_secret(vote + negation, election_key.secret)) == 0


@pytest.mark.parametrize("message", [0, 1, 63, 64, 65, 999, 1000])
def test_discrete_log_finds_every_value_up_to_the_bound(message: int) -> None:
    assert TABLE.log(base_mul(message)) == message


@pytest.mark.parametrize("message", [1001, 5000, -1])
def test_discrete_log_beyond_the_bound_raises(message: int) -> None:
    with pytest.raises(DiscreteLogOutOfRange):
        TABLE.log(base_mul(message))


def test_discrete_log_works_up_to_ten_to_the_eighth() -> None:
    table = DiscreteLogTable(10**8, baby_steps=2**14)
    assert table.log(base_mul(10**8)) == 10**8
    assert table.log(base_mul(12_345_678)) == 12_345_678


def test_discrete_log_table_with_a_zero_bound_knows_only_zero() -> None:
    table = DiscreteLogTable(0)
    assert table.log(IDENTITY) == 0
    with pytest.raises(DiscreteLogOutOfRange):
        table.log(base_mul(1))
