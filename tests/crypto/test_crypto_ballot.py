"""Ballots: honest ballots verify; every tampered, illegal or misplaced ballot is rejected."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import STANDARD_CONTESTS, ballot_choices, contest_choices, contest_specs

from crypto.ballot import (
    BLANK_KEY,
    BallotSecrets,
    ContestSpec,
    ElectionContext,
    EncryptedBallot,
    EncryptedContest,
    EncryptedSelection,
    encrypt_ballot,
    tracking_code,
    tracking_code_of_bytes,
    verify_ballot,
    verify_challenge,
)
from crypto.canonical import canonical_json
from crypto.elgamal import Ciphertext, encrypt
from crypto.errors import DecodingError, InvalidBallot, InvalidProof
from crypto.group import IDENTITY, G, random_scalar, scalar_from_hex, scalar_hex
from crypto.proofs import prove_range

CHOICES = {"A": ["A3"], "B": ["B2", "B7"]}


@pytest.fixture(scope="module")
def honest(context: ElectionContext) -> tuple[EncryptedBallot, BallotSecrets]:
    return encrypt_ballot(context, "style-1", STANDARD_CONTESTS, CHOICES)


@settings(max_examples=10, deadline=None)
@given(ballot_choices())
def test_honest_ballots_verify_and_their_challenge_reveals_the_choices(
    context: ElectionContext, choices: dict[str, list[str]]
) -> None:
    ballot, secrets = encrypt_ballot(context, "style-1", STANDARD_CONTESTS, choices)
    verify_ballot(context, STANDARD_CONTESTS, ballot)
    revealed = verify_challenge(context, STANDARD_CONTESTS, ballot, secrets)
    assert {contest_id: sorted(chosen) for contest_id, chosen in revealed.items()} == choices


def _leaf_paths(value: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))
    else:
        yield path


def _replaced(document: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {**document, head: _replaced(document[head], rest, new)}
    assert isinstance(document, list) and isinstance(head, int)
    return [
        _replaced(item, rest, new) if index == head else item for index, item in enumerate(document)
    ]


def _another_value(path: tuple[object, ...], old: str) -> str:
    """A different value that still decodes: a valid point, a canonical scalar, another id.

    So every change reaches verify_ballot, and the test shows the proofs (or the
    shape check) catch it, not merely the decoder.
    """
    if path[-1] in ("alpha", "beta"):
        return G.hex() if old != G.hex() else (G + G).hex()
    if path[-2] in ("challenges", "responses"):
        return scalar_hex(scalar_from_hex(old) + 1)
    return old + "x"


def test_changing_any_field_of_a_ballot_is_rejected(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    document = honest[0].to_json()
    paths = list(_leaf_paths(document))
    assert len(paths) > 100
    for path in paths:
        if path == ("ballot_style_id",):
            continue  # not a proof input: bound by the signature and the tracking code
        value: object = document
        for step in path:
            value = value[step]
        assert isinstance(value, str)
        tampered = EncryptedBallot.from_json(_replaced(document, path, _another_value(path, value)))
        with pytest.raises((InvalidProof, InvalidBallot)):
            verify_ballot(context, STANDARD_CONTESTS, tampered)


def test_a_ballot_verifies_only_in_its_own_election(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    other_election = dataclasses.replace(context, base_hash=bytes(32))
    other_key = dataclasses.replace(context, public_key=context.public_key + G)
    for wrong in (other_election, other_key):
        with pytest.raises(InvalidProof):
            verify_ballot(wrong, STANDARD_CONTESTS, honest[0])


def _forged_contest(
    context: ElectionContext,
    spec: ContestSpec,
    values: list[int],
    blank: int,
    limit_allowed: tuple[int, ...],
) -> EncryptedContest:
    """A contest with arbitrary plaintexts and the proofs an honest prover could make.

    Each proof is made over a range wide enough to contain the lie, so it is a
    real proof of a different statement: exactly what a cheating terminal can do.
    """
    key, base_hash = context.public_key, context.base_hash
    nonces = [random_scalar() for _ in values]
    selections = []
    for selection_id, value, nonce in zip(spec.selection_ids, values, nonces, strict=True):
        ciphertext = encrypt(value, key, nonce)
        allowed = (0, 1) if value in (0, 1) else (0, 1, value)
        proof = prove_range(
            ciphertext, value, nonce, key, allowed, base_hash, f"{spec.contest_id}/{selection_id}"
        )
        selections.append(EncryptedSelection(selection_id, ciphertext, proof))
    blank_nonce = random_scalar()
    blank_ciphertext = encrypt(blank, key, blank_nonce)
    blank_proof = prove_range(
        blank_ciphertext, blank, blank_nonce, key, (0, 1), base_hash, f"{spec.contest_id}/@blank"
    )
    partial = EncryptedContest(
        spec.contest_id, tuple(selections), blank_ciphertext, blank_proof, blank_proof
    )
    limit_value = sum(values) + spec.votes_allowed * blank
    limit_nonce = sum(nonces) + spec.votes_allowed * blank_nonce
    limit_proof = prove_range(
        partial.limit_ciphertext(spec.votes_allowed),
        limit_value,
        limit_nonce,
        key,
        limit_allowed,
        base_hash,
        f"{spec.contest_id}/@limit",
    )
    return dataclasses.replace(partial, limit_proof=limit_proof)


def _ballot_with_contest_b(
    context: ElectionContext, honest: EncryptedBallot, contest: EncryptedContest
) -> EncryptedBallot:
    """The honest ballot with contest B replaced."""
    return EncryptedBallot(honest.ballot_style_id, (honest.contests[0], contest))


@pytest.mark.parametrize(
    ("values", "blank"),
    [
        ([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], 0),
        ([1] * 10, 0),
        ([0] * 10, 0),
        ([1, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1),
        ([0] * 10, 2),
        ([2, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0),
        ([1, 1, -1, 0, 0, 0, 0, 0, 0, 0], 0),
    ],
    ids=[
        "over-limit",
        "all-selected",
        "empty-without-blank",
        "blank-with-a-vote",
        "blank-of-two",
        "selection-of-two",
        "negative-selection",
    ],
)
def test_illegal_contests_are_rejected_even_with_real_proofs_of_wider_ranges(
    context: ElectionContext,
    honest: tuple[EncryptedBallot, BallotSecrets],
    values: list[int],
    blank: int,
) -> None:
    spec = STANDARD_CONTESTS[1]
    wide = tuple(range(-1, 2 * len(values) + 2))
    if blank not in (0, 1):
        with pytest.raises(ValueError):
            _forged_contest(context, spec, values, blank, wide)
        return
    contest = _forged_contest(context, spec, values, blank, wide)
    forged = _ballot_with_contest_b(context, honest[0], contest)
    with pytest.raises(InvalidProof):
        verify_ballot(context, STANDARD_CONTESTS, forged)


def test_the_forging_helper_makes_legal_contests_that_verify(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    spec = STANDARD_CONTESTS[1]
    for values, blank in (([0] * 10, 1), ([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], 0)):
        contest = _forged_contest(context, spec, values, blank, spec.limit_values)
        verify_ballot(
            context, STANDARD_CONTESTS, _ballot_with_contest_b(context, honest[0], contest)
        )


@pytest.mark.parametrize(
    "reshape",
    [
        lambda ballot: EncryptedBallot(ballot.ballot_style_id, ballot.contests[:1]),
        lambda ballot: EncryptedBallot(ballot.ballot_style_id, ballot.contests[::-1]),
        lambda ballot: EncryptedBallot(
            ballot.ballot_style_id,
            (
                dataclasses.replace(
                    ballot.contests[0], selections=ballot.contests[0].selections[::-1]
                ),
                ballot.contests[1],
            ),
        ),
        lambda ballot: EncryptedBallot(
            ballot.ballot_style_id,
            (
                dataclasses.replace(
                    ballot.contests[0], selections=ballot.contests[0].selections[:-1]
                ),
                ballot.contests[1],
            ),
        ),
        lambda ballot: EncryptedBallot(
            ballot.ballot_style_id,
            (
                dataclasses.replace(
                    ballot.contests[0], blank=Ciphertext(IDENTITY, ballot.contests[0].blank.beta)
                ),
                ballot.contests[1],
            ),
        ),
    ],
    ids=[
        "missing-contest",
        "contests-reordered",
        "selections-reordered",
        "missing-selection",
        "identity-nonce",
    ],
)
def test_ballots_that_do_not_match_the_ballot_style_are_rejected(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets], reshape: object
) -> None:
    with pytest.raises(InvalidBallot):
        verify_ballot(context, STANDARD_CONTESTS, reshape(honest[0]))


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"A": ["A1", "A2"]}, "more than 1"),
        ({"B": ["B1", "B2", "B3", "B4"]}, "more than 3"),
        ({"A": ["Z9"]}, "not on the ballot"),
        ({"C": ["C1"]}, "not on this ballot"),
        ({"A": ["A1", "A1"]}, "chosen twice"),
    ],
)
def test_illegal_choices_are_refused_without_naming_them(
    context: ElectionContext, choices: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(InvalidBallot, match=message) as caught:
        encrypt_ballot(context, "style-1", STANDARD_CONTESTS, choices)
    for chosen in choices.values():
        for selection_id in chosen:
            assert selection_id not in str(caught.value)


def test_a_challenge_with_a_wrong_nonce_or_value_is_caught(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    ballot, secrets = honest
    wrong_nonce = BallotSecrets(
        secrets.values, {**secrets.nonces, "A": {**secrets.nonces["A"], "A3": 5}}
    )
    wrong_value = BallotSecrets(
        {**secrets.values, "A": {**secrets.values["A"], "A3": 0, "A4": 1}}, secrets.nonces
    )
    for revealed in (wrong_nonce, wrong_value):
        with pytest.raises(InvalidProof):
            verify_challenge(context, STANDARD_CONTESTS, ballot, revealed)


@pytest.mark.parametrize(
    "damage",
    [
        lambda values, nonces: ({"B": values["B"]}, nonces),
        lambda values, nonces: (values, {**nonces, "A": {}}),
        lambda values, nonces: ({**values, "A": {**values["A"], "A3": 2}}, nonces),
    ],
    ids=["contest-missing", "nonces-missing", "value-two"],
)
def test_incomplete_or_illegal_revealed_secrets_are_refused(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets], damage: object
) -> None:
    ballot, secrets = honest
    values, nonces = damage(secrets.values, secrets.nonces)
    with pytest.raises(InvalidBallot):
        verify_challenge(context, STANDARD_CONTESTS, ballot, BallotSecrets(values, nonces))


def test_revealed_secrets_round_trip_and_stay_out_of_repr(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    ballot, secrets = honest
    decoded = BallotSecrets.from_json(secrets.to_json())
    assert verify_challenge(context, STANDARD_CONTESTS, ballot, decoded) == CHOICES
    text = repr(secrets)
    assert "A3" not in text and str(secrets.nonces["A"]["A3"]) not in text


@pytest.mark.parametrize("value", [2, -1, True, 1.0, "1", None])
def test_revealed_values_other_than_0_or_1_are_refused(
    honest: tuple[EncryptedBallot, BallotSecrets], value: object
) -> None:
    document = honest[1].to_json()
    document["A"]["A3"]["value"] = value
    with pytest.raises(DecodingError):
        BallotSecrets.from_json(document)


def test_encrypted_ballots_round_trip_through_canonical_json(
    context: ElectionContext, honest: tuple[EncryptedBallot, BallotSecrets]
) -> None:
    ballot = honest[0]
    decoded = EncryptedBallot.from_json(ballot.to_json())
    assert decoded == ballot
    assert decoded.canonical_bytes() == canonical_json(ballot.to_json())


def test_the_tracking_code_from_the_ballots_bytes_is_the_ballots_tracking_code(
    honest: tuple[EncryptedBallot, BallotSecrets],
) -> None:
    ballot, previous = honest[0], bytes(range(32))
    encoded = canonical_json(ballot.to_json())
    assert tracking_code_of_bytes(encoded, previous) == tracking_code(ballot, previous)
    assert tracking_code_of_bytes(encoded, bytes(32)) != tracking_code(ballot, previous)


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {},
        {"ballot_style_id": "s"},
        {"ballot_style_id": "", "contests": []},
        {"ballot_style_id": "s", "contests": {}},
        {"ballot_style_id": "s", "contests": [{}]},
    ],
)
def test_malformed_ballot_documents_are_decoding_errors(document: object) -> None:
    with pytest.raises(DecodingError):
        EncryptedBallot.from_json(document)


def test_tracking_codes_chain_per_terminal(honest: tuple[EncryptedBallot, BallotSecrets]) -> None:
    ballot = honest[0]
    first = tracking_code(ballot, bytes(32))
    assert tracking_code(ballot, bytes(32)) == first
    assert tracking_code(ballot, first) != first
    tampered = EncryptedBallot("style-2", ballot.contests)
    assert tracking_code(tampered, bytes(32)) != first
    for previous in (bytes(31), bytes(33), "00" * 16):
        with pytest.raises(DecodingError):
            tracking_code(ballot, previous)


@pytest.mark.parametrize(
    ("selection_ids", "votes_allowed"),
    [
        (("a", "b"), 0),
        (("a", "b"), 3),
        (("a", "a"), 1),
        (("a/b",), 1),
        (("@blank",), 1),
        (("",), 1),
    ],
)
def test_contest_specs_refuse_impossible_limits_and_ambiguous_ids(
    selection_ids: tuple[str, ...], votes_allowed: int
) -> None:
    with pytest.raises(ValueError):
        ContestSpec("C", selection_ids, votes_allowed)


def test_the_blank_indicator_is_one_exactly_when_nothing_is_chosen(
    context: ElectionContext,
) -> None:
    _, empty = encrypt_ballot(context, "s", STANDARD_CONTESTS, {})
    _, full = encrypt_ballot(context, "s", STANDARD_CONTESTS, CHOICES)
    assert empty.values["A"][BLANK_KEY] == empty.values["B"][BLANK_KEY] == 1
    assert full.values["A"][BLANK_KEY] == full.values["B"][BLANK_KEY] == 0


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_contest_shape_encrypts_verifies_and_opens(
    context: ElectionContext, data: st.DataObject
) -> None:
    spec = data.draw(contest_specs())
    choices = {spec.contest_id: data.draw(contest_choices(spec))}
    ballot, secrets = encrypt_ballot(context, "style-x", (spec,), choices)
    verify_ballot(context, (spec,), ballot)
    revealed = verify_challenge(context, (spec,), ballot, secrets)
    assert sorted(revealed[spec.contest_id]) == choices[spec.contest_id]
