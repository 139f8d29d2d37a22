"""Threshold keys: the ceremony, share checks, and decryption by any quorum of trustees."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import nacl.public
import pytest

from crypto.elgamal import Ciphertext, DiscreteLogTable, encrypt
from crypto.errors import BadTrusteeShare, DecodingError, ThresholdError
from crypto.group import ORDER, Point, base_mul, random_scalar, scalar_to_bytes
from crypto.proofs import ChaumPedersenProof, SchnorrProof
from crypto.threshold import (
    DecryptionShare,
    TrusteePublicKeys,
    TrusteeSecrets,
    combine_decryption_shares,
    combine_secret_share,
    decrypt_with_shares,
    generate_trustee,
    joint_public_key,
    lagrange_coefficient,
    open_share,
    partial_decrypt,
    public_share,
    seal_share,
    verify_decryption_share,
)

CEREMONY_HASH = bytes(range(100, 132))
BASE_HASH = bytes(range(32))
TOTAL = 4321
TABLE = DiscreteLogTable(10_000, baby_steps=128)


@dataclass(frozen=True)
class Ceremony:
    quorum: int
    published: tuple[TrusteePublicKeys, ...]
    secrets: tuple[TrusteeSecrets, ...]
    secret_shares: dict[int, int]
    joint_key: Point
    public_shares: dict[int, Point]


def run_ceremony(trustee_count: int, quorum: int) -> Ceremony:
    """The whole key ceremony as every trustee runs it, every check included."""
    generated = [
        generate_trustee(index, quorum, CEREMONY_HASH) for index in range(1, trustee_count + 1)
    ]
    secrets = tuple(secret for secret, _ in generated)
    published = tuple(public for _, public in generated)
    for trustee in published:
        trustee.verify(CEREMONY_HASH, quorum)
    secret_shares = {}
    for recipient in secrets:
        received = {
            sender_public.index: open_share(
                recipient, sender_public, seal_share(sender_secret, published[recipient.index - 1])
            )
            for sender_secret, sender_public in zip(secrets, published, strict=True)
        }
        secret_shares[recipient.index] = combine_secret_share(received)
    public_shares = {index: public_share(published, index) for index in secret_shares}
    return Ceremony(
        quorum, published, secrets, secret_shares, joint_public_key(published), public_shares
    )


@pytest.fixture(scope="module")
def ceremony() -> Ceremony:
    return run_ceremony(5, 3)


@pytest.fixture(scope="module")
def total(ceremony: Ceremony) -> Ciphertext:
    return encrypt(TOTAL, ceremony.joint_key, random_scalar())


def _shares(
    ceremony: Ceremony, total: Ciphertext, indices: tuple[int, ...]
) -> list[DecryptionShare]:
    return [
        partial_decrypt(index, ceremony.secret_shares[index], total, BASE_HASH, "A/A1")
        for index in indices
    ]


def test_public_shares_match_the_secret_shares_and_interpolate_to_the_joint_key(
    ceremony: Ceremony,
) -> None:
    for index, secret in ceremony.secret_shares.items():
        assert base_mul(secret) == ceremony.public_shares[index]
    indices = [1, 2, 3]
    joint_secret = sum(
        lagrange_coefficient(index, indices) * ceremony.secret_shares[index] for index in indices
    )
    assert base_mul(joint_secret) == ceremony.joint_key


def test_any_quorum_of_trustees_decrypts_to_the_same_total(
    ceremony: Ceremony, total: Ciphertext
) -> None:
    every_share = _shares(ceremony, total, (1, 2, 3, 4, 5))
    for size in (3, 4, 5):
        for subset in itertools.combinations(every_share, size):
            element = decrypt_with_shares(
                total, subset, ceremony.public_shares, ceremony.quorum, BASE_HASH, "A/A1"
            )
            assert TABLE.log(element) == TOTAL


def test_fewer_than_quorum_shares_are_refused(ceremony: Ceremony, total: Ciphertext) -> None:
    shares = _shares(ceremony, total, (2, 5))
    with pytest.raises(ThresholdError, match="3 needed"):
        combine_decryption_shares(total, shares, ceremony.quorum)


def test_fewer_than_quorum_shares_do_not_determine_the_plaintext(
    ceremony: Ceremony, total: Ciphertext
) -> None:
    shares = _shares(ceremony, total, (2, 5))
    forced = combine_decryption_shares(total, shares, quorum=2)
    assert forced != base_mul(TOTAL)


def test_a_share_that_does_not_match_the_commitments_names_its_sender(
    ceremony: Ceremony,
) -> None:
    sender, recipient = ceremony.secrets[1], ceremony.secrets[3]
    box = nacl.public.Box(
        nacl.public.PrivateKey(sender.box_secret_key),
        nacl.public.PublicKey(ceremony.published[3].box_public_key),
    )
    wrong = bytes(box.encrypt(scalar_to_bytes(sender.evaluate(recipient.index) + 1)))
    with pytest.raises(BadTrusteeShare) as caught:
        open_share(recipient, ceremony.published[1], wrong)
    assert caught.value.trustee_index == 2


def test_a_tampered_sealed_share_names_its_sender(ceremony: Ceremony) -> None:
    sealed = bytearray(seal_share(ceremony.secrets[0], ceremony.published[2]))
    sealed[-1] ^= 1
    with pytest.raises(BadTrusteeShare) as caught:
        open_share(ceremony.secrets[2], ceremony.published[0], bytes(sealed))
    assert caught.value.trustee_index == 1


def test_a_share_sealed_for_someone_else_does_not_open(ceremony: Ceremony) -> None:
    sealed = seal_share(ceremony.secrets[0], ceremony.published[1])
    with pytest.raises(BadTrusteeShare) as caught:
        open_share(ceremony.secrets[2], ceremony.published[0], sealed)
    assert caught.value.trustee_index == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda share: dataclasses.replace(share, share=share.share + base_mul(1)),
        lambda share: dataclasses.replace(
            share,
            proof=ChaumPedersenProof(share.proof.challenge, (share.proof.response + 1) % ORDER),
        ),
        lambda share: dataclasses.replace(
            share,
            proof=ChaumPedersenProof((share.proof.challenge + 1) % ORDER, share.proof.response),
        ),
        lambda share: dataclasses.replace(share, trustee_index=4),
    ],
    ids=["share-point", "response", "challenge", "claimed-index"],
)
def test_a_wrong_decryption_share_or_proof_is_rejected_naming_the_trustee(
    ceremony: Ceremony, total: Ciphertext, tamper: object
) -> None:
    shares = _shares(ceremony, total, (1, 3, 5))
    shares[1] = tamper(shares[1])
    with pytest.raises(BadTrusteeShare) as caught:
        decrypt_with_shares(
            total, shares, ceremony.public_shares, ceremony.quorum, BASE_HASH, "A/A1"
        )
    assert caught.value.trustee_index == shares[1].trustee_index


def test_a_decryption_share_for_another_total_or_election_is_rejected(
    ceremony: Ceremony, total: Ciphertext
) -> None:
    share = _shares(ceremony, total, (2,))[0]
    public = ceremony.public_shares[2]
    verify_decryption_share(share, public, total, BASE_HASH, "A/A1")
    with pytest.raises(BadTrusteeShare):
        verify_decryption_share(share, public, total, BASE_HASH, "A/A2")
    with pytest.raises(BadTrusteeShare):
        verify_decryption_share(share, public, total, bytes(32), "A/A1")


def test_a_share_from_an_unknown_trustee_is_rejected(ceremony: Ceremony, total: Ciphertext) -> None:
    shares = _shares(ceremony, total, (1, 2, 3))
    with pytest.raises(BadTrusteeShare) as caught:
        decrypt_with_shares(total, shares, {1: ceremony.public_shares[1]}, 3, BASE_HASH, "A/A1")
    assert caught.value.trustee_index == 2


def test_two_shares_from_one_trustee_are_refused(ceremony: Ceremony, total: Ciphertext) -> None:
    shares = _shares(ceremony, total, (1, 1, 2))
    with pytest.raises(ThresholdError, match="same trustee"):
        combine_decryption_shares(total, shares, ceremony.quorum)


def test_a_coefficient_proof_that_fails_names_the_trustee(ceremony: Ceremony) -> None:
    honest = ceremony.published[2]
    forged = dataclasses.replace(
        honest,
        proofs=(SchnorrProof(honest.proofs[0].challenge, 1), *honest.proofs[1:]),
    )
    with pytest.raises(BadTrusteeShare) as caught:
        forged.verify(CEREMONY_HASH, 3)
    assert caught.value.trustee_index == 3


def test_coefficient_proofs_cannot_be_copied_to_another_trustee(ceremony: Ceremony) -> None:
    copied = dataclasses.replace(ceremony.published[0], index=2)
    with pytest.raises(BadTrusteeShare) as caught:
        copied.verify(CEREMONY_HASH, 3)
    assert caught.value.trustee_index == 2


def test_coefficient_proofs_are_bound_to_the_ceremony(ceremony: Ceremony) -> None:
    with pytest.raises(BadTrusteeShare):
        ceremony.published[0].verify(bytes(32), 3)


def test_the_wrong_number_of_commitments_names_the_trustee(ceremony: Ceremony) -> None:
    with pytest.raises(BadTrusteeShare) as caught:
        ceremony.published[4].verify(CEREMONY_HASH, 2)
    assert caught.value.trustee_index == 5


def test_published_keys_and_shares_round_trip_through_json(
    ceremony: Ceremony, total: Ciphertext
) -> None:
    for trustee in ceremony.published:
        assert TrusteePublicKeys.from_json(trustee.to_json()) == trustee
    share = _shares(ceremony, total, (4,))[0]
    assert DecryptionShare.from_json(share.to_json()) == share


@pytest.mark.parametrize("index", [0, 256, -1, True, "1", 1.0])
def test_trustee_indices_outside_1_to_255_are_refused_when_decoding(
    ceremony: Ceremony, index: object
) -> None:
    data = ceremony.published[0].to_json() | {"index": index}
    with pytest.raises(DecodingError):
        TrusteePublicKeys.from_json(data)


def test_a_published_commitment_equal_to_the_identity_is_refused(ceremony: Ceremony) -> None:
    data = ceremony.published[0].to_json()
    data["commitments"] = ["01" + "00" * 31, *data["commitments"][1:]]
    with pytest.raises(DecodingError):
        TrusteePublicKeys.from_json(data)


def test_lagrange_refuses_index_zero_and_repeats() -> None:
    with pytest.raises(ThresholdError):
        lagrange_coefficient(0, [0, 1])
    with pytest.raises(ThresholdError):
        lagrange_coefficient(1, [1, 2, 2])
    with pytest.raises(ThresholdError):
        lagrange_coefficient(3, [1, 2])


def test_a_one_of_one_ceremony_works() -> None:
    single = run_ceremony(1, 1)
    ciphertext = encrypt(7, single.joint_key, random_scalar())
    shares = [partial_decrypt(1, single.secret_shares[1], ciphertext, BASE_HASH, "x")]
    element = decrypt_with_shares(ciphertext, shares, single.public_shares, 1, BASE_HASH, "x")
    assert TABLE.log(element) == 7


def test_trustee_secrets_do_not_appear_in_their_repr(ceremony: Ceremony) -> None:
    secret = ceremony.secrets[0]
    text = repr(secret)
    assert secret.box_secret_key.hex() not in text
    assert all(str(coefficient) not in text for coefficient in secret.coefficients)


@pytest.mark.parametrize("sealed", [b"", b"\x00" * 10, b"\x00" * 40])
def test_truncated_sealed_shares_name_their_sender(ceremony: Ceremony, sealed: bytes) -> None:
    with pytest.raises(BadTrusteeShare) as caught:
        open_share(ceremony.secrets[0], ceremony.published[1], sealed)
    assert caught.value.trustee_index == 2


def test_a_low_order_box_key_names_its_trustee(ceremony: Ceremony) -> None:
    broken = dataclasses.replace(ceremony.published[2], box_public_key=bytes(32))
    with pytest.raises(BadTrusteeShare) as caught:
        seal_share(ceremony.secrets[0], broken)
    assert caught.value.trustee_index == 3
    with pytest.raises(BadTrusteeShare) as caught:
        open_share(ceremony.secrets[0], broken, b"\x00" * 60)
    assert caught.value.trustee_index == 3
