"""Known-answer vectors: the code reproduces tests/vectors/crypto-v2.json byte for byte,
and everything in the file checks out through the public API alone (as it would for
another implementation reading it)."""

from __future__ import annotations

from collections import Counter

import pytest
from vectors.generate import VECTOR_FILE, build_vectors, render

from crypto.ballot import (
    BallotSecrets,
    ContestSpec,
    ElectionContext,
    EncryptedBallot,
    tracking_code,
    verify_ballot,
    verify_challenge,
)
from crypto.canonical import parse_json
from crypto.elgamal import Ciphertext, DiscreteLogTable, encrypt, sum_ciphertexts
from crypto.group import Point, base_mul, derive_generator, scalar_from_hex
from crypto.proofs import (
    ChaumPedersenProof,
    RangeProof,
    SchnorrProof,
    verify_equal_logs,
    verify_range,
    verify_schnorr,
)
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from crypto.threshold import (
    DecryptionShare,
    TrusteePublicKeys,
    decrypt_with_shares,
    joint_public_key,
    public_share,
)

Document = dict[str, object]


@pytest.fixture(scope="module")
def vectors() -> Document:
    document = parse_json(VECTOR_FILE.read_bytes())
    assert isinstance(document, dict)
    return document


def test_the_code_reproduces_the_vector_file_byte_for_byte() -> None:
    assert render(build_vectors()) == VECTOR_FILE.read_bytes()


def test_group_vectors(vectors: Document) -> None:
    group = vectors["group"]
    for item in group["scalar_multiples"]:
        assert base_mul(scalar_from_hex(item["scalar"])).hex() == item["point"]
    for item in group["derived_generators"]:
        assert derive_generator(item["label"]).hex() == item["point"]


def test_elgamal_vectors(vectors: Document) -> None:
    elgamal = vectors["elgamal"]
    public = Point.from_hex(elgamal["public_key"])
    assert base_mul(scalar_from_hex(elgamal["secret_key"])) == public
    ciphertexts = []
    for item in elgamal["encryptions"]:
        ciphertext = Ciphertext.from_json(item["ciphertext"])
        assert encrypt(item["message"], public, scalar_from_hex(item["nonce"])) == ciphertext
        ciphertexts.append(ciphertext)
    expected_sum = Ciphertext.from_json(elgamal["sum"]["ciphertext"])
    assert sum_ciphertexts(ciphertexts) == expected_sum


def test_proof_vectors_verify(vectors: Document) -> None:
    proofs = vectors["proofs"]
    base_hash = bytes.fromhex(proofs["base_hash"])
    schnorr = proofs["schnorr"]
    verify_schnorr(
        Point.from_hex(schnorr["public"]),
        SchnorrProof.from_json(schnorr["proof"]),
        base_hash,
        schnorr["label"],
    )
    equal = proofs["chaum_pedersen"]
    verify_equal_logs(
        Point.from_hex(equal["public"]),
        Point.from_hex(equal["base"]),
        Point.from_hex(equal["result"]),
        ChaumPedersenProof.from_json(equal["proof"]),
        base_hash,
        equal["label"],
    )
    key = Point.from_hex(proofs["range"]["public_key"])
    for case in proofs["range"]["cases"]:
        ciphertext = Ciphertext.from_json(case["ciphertext"])
        assert encrypt(case["value"], key, scalar_from_hex(case["nonce"])) == ciphertext
        proof = RangeProof.from_json(case["proof"])
        verify_range(ciphertext, key, tuple(case["allowed"]), proof, base_hash, case["label"])


def test_ceremony_and_ballot_and_tally_vectors_check_out(vectors: Document) -> None:
    ceremony, election = vectors["ceremony"], vectors["election"]
    published = [TrusteePublicKeys.from_json(item) for item in ceremony["published"]]
    quorum = ceremony["quorum"]
    for trustee in published:
        trustee.verify(bytes.fromhex(ceremony["ceremony_hash"]), quorum)
    joint_key = joint_public_key(published)
    assert joint_key.hex() == ceremony["joint_public_key"] == election["public_key"]
    public_shares = {
        int(index): Point.from_hex(text) for index, text in ceremony["public_shares"].items()
    }
    for index, point in public_shares.items():
        assert public_share(published, index) == point
        secret = scalar_from_hex(ceremony["secret_shares"][str(index)])
        assert base_mul(secret) == point

    context = ElectionContext(bytes.fromhex(election["base_hash"]), joint_key)
    contests = tuple(
        ContestSpec(item["contest_id"], tuple(item["selection_ids"]), item["votes_allowed"])
        for item in election["contests"]
    )
    previous = bytes(32)
    counts: Counter[str] = Counter()
    for item in vectors["ballots"]:
        ballot = EncryptedBallot.from_json(item["encrypted"])
        verify_ballot(context, contests, ballot)
        revealed = verify_challenge(
            context, contests, ballot, BallotSecrets.from_json(item["secrets"])
        )
        assert revealed == item["choices"]
        assert item["previous_tracking_code"] == previous.hex()
        previous = tracking_code(ballot, previous)
        assert previous.hex() == item["tracking_code"]
        for contest_id, chosen in item["choices"].items():
            counts.update(f"{contest_id}/{selection_id}" for selection_id in chosen)
            counts[f"{contest_id}/@blank"] += not chosen

    table = DiscreteLogTable(len(vectors["ballots"]))
    for label, total in vectors["tally"]["totals"].items():
        shares = [DecryptionShare.from_json(share) for share in total["shares"]]
        ciphertext = Ciphertext.from_json(total["ciphertext"])
        element = decrypt_with_shares(
            ciphertext, shares, public_shares, quorum, context.base_hash, label
        )
        assert table.log(element) == total["count"] == counts[label]


def test_signature_vectors(vectors: Document) -> None:
    signature = vectors["signature"]
    key = SigningKey(bytes.fromhex(signature["seed"]))
    assert key.public_key == VerifyKey.from_hex(signature["public_key"])
    envelope = SignedEnvelope.from_json(signature["envelope"])
    assert envelope.verify("receipt", key.public_key) == signature["payload"]
