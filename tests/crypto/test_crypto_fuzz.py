"""Decoders fed anything: a specific DecodingError or a value that still fails verification,
never a crash and never silent acceptance."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import STANDARD_CONTESTS, json_values

from crypto.ballot import (
    BallotSecrets,
    ElectionContext,
    EncryptedBallot,
    encrypt_ballot,
    verify_ballot,
)
from crypto.elgamal import Ciphertext
from crypto.errors import CryptoError, DecodingError
from crypto.proofs import ChaumPedersenProof, RangeProof, SchnorrProof
from crypto.signing import SignedEnvelope
from crypto.threshold import DecryptionShare, TrusteePublicKeys

DECODERS: list[Callable[[object], object]] = [
    Ciphertext.from_json,
    RangeProof.from_json,
    SchnorrProof.from_json,
    ChaumPedersenProof.from_json,
    EncryptedBallot.from_json,
    BallotSecrets.from_json,
    TrusteePublicKeys.from_json,
    DecryptionShare.from_json,
    SignedEnvelope.from_json,
]


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda decoder: decoder.__qualname__)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(document=json_values)
def test_decoders_raise_only_decoding_errors_on_arbitrary_json(
    decoder: Callable[[object], object], document: object
) -> None:
    with contextlib.suppress(DecodingError):
        decoder(document)


def _leaves(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _set(document: object, path: tuple[object, ...], new: object) -> None:
    for step in path[:-1]:
        document = document[step]  # a dict or list by construction of the path
    document[path[-1]] = new


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_ballot_with_any_leaf_replaced_is_refused(
    context: ElectionContext, data: st.DataObject
) -> None:
    ballot, _ = encrypt_ballot(context, "style-1", STANDARD_CONTESTS, {"A": ["A1"]})
    document = ballot.to_json()
    paths = _leaves(document)
    path = data.draw(st.sampled_from([p for p in paths if p != ("ballot_style_id",)]))
    replacement = data.draw(json_values)
    _set(document, path, replacement)
    try:
        decoded = EncryptedBallot.from_json(document)
    except DecodingError:
        return
    if decoded == ballot:
        return  # the replacement happened to equal the original value
    with pytest.raises(CryptoError):
        verify_ballot(context, STANDARD_CONTESTS, decoded)
