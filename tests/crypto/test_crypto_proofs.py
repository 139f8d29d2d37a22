"""Proofs: honest ones verify; any change to proof, statement or context is rejected."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.elgamal import encrypt
from crypto.errors import InvalidProof
from crypto.group import ORDER, G, base_mul, random_scalar
from crypto.proofs import (
    ChaumPedersenProof,
    RangeProof,
    SchnorrProof,
    prove_equal_logs,
    prove_range,
    prove_schnorr,
    verify_equal_logs,
    verify_range,
    verify_schnorr,
)

BASE_HASH = bytes(range(32))
OTHER_HASH = bytes(range(1, 33))
KEY = base_mul(random_scalar())


def _bump(value: int) -> int:
    return (value + 1) % ORDER


def test_schnorr_proofs_verify_and_any_change_is_rejected() -> None:
    secret = random_scalar()
    public = base_mul(secret)
    proof = prove_schnorr(secret, public, BASE_HASH, "label")
    verify_schnorr(public, proof, BASE_HASH, "label")
    changed = [
        (public + G, proof, BASE_HASH, "label"),
        (public, SchnorrProof(_bump(proof.challenge), proof.response), BASE_HASH, "label"),
        (public, SchnorrProof(proof.challenge, _bump(proof.response)), BASE_HASH, "label"),
        (public, proof, OTHER_HASH, "label"),
        (public, proof, BASE_HASH, "other"),
    ]
    for arguments in changed:
        with pytest.raises(InvalidProof):
            verify_schnorr(*arguments)


def test_chaum_pedersen_proofs_verify_and_any_change_is_rejected() -> None:
    secret = random_scalar()
    public, base = base_mul(secret), base_mul(random_scalar())
    result = base.multiply(secret)
    proof = prove_equal_logs(secret, public, base, result, BASE_HASH, "label")
    verify_equal_logs(public, base, result, proof, BASE_HASH, "label")
    statement = (public, base, result)
    for position in range(3):
        altered = list(statement)
        altered[position] = altered[position] + G
        with pytest.raises(InvalidProof):
            verify_equal_logs(*altered, proof, BASE_HASH, "label")
    for forged in (
        ChaumPedersenProof(_bump(proof.challenge), proof.response),
        ChaumPedersenProof(proof.challenge, _bump(proof.response)),
    ):
        with pytest.raises(InvalidProof):
            verify_equal_logs(public, base, result, forged, BASE_HASH, "label")
    with pytest.raises(InvalidProof):
        verify_equal_logs(public, base, result, proof, OTHER_HASH, "label")
    with pytest.raises(InvalidProof):
        verify_equal_logs(public, base, result, proof, BASE_HASH, "other")


def test_chaum_pedersen_rejects_a_wrong_result_even_with_a_real_secret() -> None:
    secret = random_scalar()
    public, base = base_mul(secret), base_mul(random_scalar())
    wrong = base.multiply(secret + 1)
    proof = prove_equal_logs(secret, public, base, wrong, BASE_HASH, "label")
    with pytest.raises(InvalidProof):
        verify_equal_logs(public, base, wrong, proof, BASE_HASH, "label")


@settings(max_examples=10, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda k: st.tuples(st.just(k), st.integers(0, k))
    )
)
def test_range_proofs_verify_for_every_allowed_value(limit_and_value: tuple[int, int]) -> None:
    limit, value = limit_and_value
    allowed = tuple(range(limit + 1))
    nonce = random_scalar()
    ciphertext = encrypt(value, KEY, nonce)
    proof = prove_range(ciphertext, value, nonce, KEY, allowed, BASE_HASH, "C/S")
    verify_range(ciphertext, KEY, allowed, proof, BASE_HASH, "C/S")


def test_any_change_to_a_range_proof_or_its_statement_is_rejected() -> None:
    nonce = random_scalar()
    ciphertext = encrypt(1, KEY, nonce)
    allowed = (0, 1)
    proof = prove_range(ciphertext, 1, nonce, KEY, allowed, BASE_HASH, "C/S")
    cases: list[tuple[object, ...]] = []
    for position in range(2):
        challenges, responses = list(proof.challenges), list(proof.responses)
        challenges[position] = _bump(challenges[position])
        cases.append((ciphertext, KEY, allowed, RangeProof(tuple(challenges), proof.responses)))
        responses[position] = _bump(responses[position])
        cases.append((ciphertext, KEY, allowed, RangeProof(proof.challenges, tuple(responses))))
    swapped = RangeProof(proof.challenges[::-1], proof.responses[::-1])
    cases += [
        (ciphertext, KEY, allowed, swapped),
        (dataclasses.replace(ciphertext, alpha=ciphertext.alpha + G), KEY, allowed, proof),
        (dataclasses.replace(ciphertext, beta=ciphertext.beta + G), KEY, allowed, proof),
        (ciphertext, KEY + G, allowed, proof),
        (ciphertext, KEY, (1, 2), proof),
        (ciphertext, KEY, (0, 1, 2), proof),
        (ciphertext, KEY, (0,), proof),
        (ciphertext, KEY, allowed, RangeProof(proof.challenges, proof.responses[:1])),
    ]
    for statement in cases:
        with pytest.raises(InvalidProof):
            verify_range(*statement, BASE_HASH, "C/S")
    for base_hash, label in ((OTHER_HASH, "C/S"), (BASE_HASH, "C/T")):
        with pytest.raises(InvalidProof):
            verify_range(ciphertext, KEY, allowed, proof, base_hash, label)


def test_a_ciphertext_of_two_cannot_pass_as_zero_or_one() -> None:
    nonce = random_scalar()
    two = encrypt(2, KEY, nonce)
    with pytest.raises(ValueError):
        prove_range(two, 2, nonce, KEY, (0, 1), BASE_HASH, "C/S")
    for claimed in (0, 1):
        lie = prove_range(two, claimed, nonce, KEY, (0, 1), BASE_HASH, "C/S")
        with pytest.raises(InvalidProof):
            verify_range(two, KEY, (0, 1), lie, BASE_HASH, "C/S")
    wider = prove_range(two, 2, nonce, KEY, (0, 1, 2), BASE_HASH, "C/S")
    verify_range(two, KEY, (0, 1, 2), wider, BASE_HASH, "C/S")
    for trimmed in (
        RangeProof(wider.challenges[:2], wider.responses[:2]),
        RangeProof(wider.challenges[1:], wider.responses[1:]),
    ):
        with pytest.raises(InvalidProof):
            verify_range(two, KEY, (0, 1), trimmed, BASE_HASH, "C/S")


def test_proofs_round_trip_through_json() -> None:
    nonce = random_scalar()
    ciphertext = encrypt(0, KEY, nonce)
    proof = prove_range(ciphertext, 0, nonce, KEY, (0, 1), BASE_HASH, "C/S")
    assert RangeProof.from_json(proof.to_json()) == proof
    schnorr = prove_schnorr(nonce, base_mul(nonce), BASE_HASH, "x")
    assert SchnorrProof.from_json(schnorr.to_json()) == schnorr
