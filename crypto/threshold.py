"""Threshold keys: n trustees, any k of them decrypt.

Key ceremony (Pedersen-style distributed key generation with Feldman
commitments): each trustee i picks a random polynomial P_i of degree k−1,
publishes commitments C_ij = a_ij·G with a Schnorr proof for each coefficient,
and sends P_i(l) to every other trustee l encrypted with a NaCl Box. Each
recipient checks its share against the commitments; a bad share is
attributable to its sender. The joint key is K = Σ C_i0; trustee l's secret is
x_l = Σ_i P_i(l), and its public share X_l = Σ_i Σ_j l^j·C_ij is computable
by anyone, which is what lets anyone check a partial decryption.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import nacl.exceptions
import nacl.public

from crypto.elgamal import Ciphertext
from crypto.errors import BadTrusteeShare, DecodingError, InvalidProof, ThresholdError
from crypto.group import (
    ORDER,
    Point,
    base_mul,
    random_scalar,
    scalar_from_bytes,
    scalar_from_hex,
    scalar_hex,
    scalar_to_bytes,
)
from crypto.hexcodec import bytes_from_hex
from crypto.proofs import (
    ChaumPedersenProof,
    ScalarSource,
    SchnorrProof,
    prove_equal_logs,
    prove_schnorr,
    verify_equal_logs,
    verify_schnorr,
)


@dataclass(frozen=True)
class TrusteePublicKeys:
    """What a trustee publishes in the ceremony's first step."""

    index: int
    commitments: tuple[Point, ...]
    proofs: tuple[SchnorrProof, ...]
    box_public_key: bytes

    def verify(self, base_hash: bytes, quorum: int) -> None:
        """Check the coefficient proofs; raise BadTrusteeShare naming the trustee."""
        if len(self.commitments) != quorum or len(self.proofs) != quorum:
            raise BadTrusteeShare(
                f"trustee {self.index}: expected {quorum} commitments", trustee_index=self.index
            )
        for power, (commitment, proof) in enumerate(
            zip(self.commitments, self.proofs, strict=True)
        ):
            try:
                verify_schnorr(commitment, proof, base_hash, _coefficient_label(self.index, power))
            except InvalidProof as error:
                raise BadTrusteeShare(
                    f"trustee {self.index}: coefficient {power} proof fails",
                    trustee_index=self.index,
                ) from error

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "commitments": [point.hex() for point in self.commitments],
            "proofs": [proof.to_json() for proof in self.proofs],
            "box_public_key": self.box_public_key.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> TrusteePublicKeys:
        if not isinstance(data, dict) or set(data) != {
            "index",
            "commitments",
            "proofs",
            "box_public_key",
        }:
            raise DecodingError("trustee keys: expected index, commitments, proofs, box_public_key")
        index = data["index"]
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 255:
            raise DecodingError("trustee index must be an integer in 1..255")
        commitments, proofs = data["commitments"], data["proofs"]
        if not isinstance(commitments, list) or not isinstance(proofs, list):
            raise DecodingError("trustee keys: commitments and proofs are lists")
        return cls(
            index=index,
            commitments=tuple(Point.from_hex(item, allow_identity=False) for item in commitments),
            proofs=tuple(SchnorrProof.from_json(item) for item in proofs),
            box_public_key=bytes_from_hex(data["box_public_key"], 32, "box_public_key"),
        )


def _coefficient_label(index: int, power: int) -> str:
    return f"trustee/{index}/coefficient/{power}"


@dataclass(frozen=True)
class TrusteeSecrets:
    """A trustee's polynomial and box key. Never leaves the trustee's machine."""

    index: int
    # repr=False: the polynomial is the trustee's key; it must never reach a log.
    coefficients: tuple[int, ...] = field(repr=False)
    box_secret_key: bytes = field(repr=False)

    def evaluate(self, at: int) -> int:
        result = 0
        for coefficient in reversed(self.coefficients):
            result = (result * at + coefficient) % ORDER
        return result


def generate_trustee(
    index: int, quorum: int, base_hash: bytes, rng: ScalarSource = random_scalar
) -> tuple[TrusteeSecrets, TrusteePublicKeys]:
    """A trustee's random polynomial of degree quorum−1, its commitments and proofs.

    ``base_hash`` here is what the ceremony is bound to (the manifest hash): the
    election's full base hash includes these very commitments.
    """
    if not 1 <= index <= 255 or quorum < 1:
        raise ThresholdError("trustee index must be 1..255 and the quorum at least 1")
    coefficients = tuple(rng() for _ in range(quorum))
    commitments = tuple(base_mul(coefficient) for coefficient in coefficients)
    proofs = tuple(
        prove_schnorr(coefficient, commitment, base_hash, _coefficient_label(index, power), rng)
        for power, (coefficient, commitment) in enumerate(
            zip(coefficients, commitments, strict=True)
        )
    )
    box_key = nacl.public.PrivateKey(scalar_to_bytes(rng()))
    secrets = TrusteeSecrets(index, coefficients, bytes(box_key))
    return secrets, TrusteePublicKeys(index, commitments, proofs, bytes(box_key.public_key))


def commitment_value(commitments: Sequence[Point], at: int) -> Point:
    """Σ_j at^j·C_j: the public image of a polynomial at ``at``."""
    total = commitments[0]
    for power, commitment in enumerate(commitments[1:], start=1):
        total = total + commitment.multiply(pow(at, power, ORDER))
    return total


def _box(own_secret_key: bytes, other: TrusteePublicKeys) -> nacl.public.Box:
    """The Box between two trustees; a low-order box key of ``other`` is its fault."""
    try:
        return nacl.public.Box(
            nacl.public.PrivateKey(own_secret_key), nacl.public.PublicKey(other.box_public_key)
        )
    except nacl.exceptions.CryptoError as error:
        # libsodium refuses a key whose shared secret would be all zeros.
        raise BadTrusteeShare(
            f"trustee {other.index}: unusable box public key", trustee_index=other.index
        ) from error


def seal_share(sender: TrusteeSecrets, recipient: TrusteePublicKeys) -> bytes:
    """Sender's P(recipient) encrypted and authenticated for the recipient only."""
    box = _box(sender.box_secret_key, recipient)
    return bytes(box.encrypt(scalar_to_bytes(sender.evaluate(recipient.index))))


def open_share(recipient: TrusteeSecrets, sender: TrusteePublicKeys, sealed: bytes) -> int:
    """Decrypt a share and check it against the sender's commitments.

    Raises BadTrusteeShare naming the sender: this is the complaint evidence.
    """
    box = _box(recipient.box_secret_key, sender)
    try:
        share = scalar_from_bytes(box.decrypt(sealed))
    except (nacl.exceptions.CryptoError, DecodingError) as error:
        raise BadTrusteeShare(
            f"share from trustee {sender.index} does not decrypt", trustee_index=sender.index
        ) from error
    if base_mul(share) != commitment_value(sender.commitments, recipient.index):
        raise BadTrusteeShare(
            f"share from trustee {sender.index} does not match its commitments",
            trustee_index=sender.index,
        )
    return share


def joint_public_key(trustees: Sequence[TrusteePublicKeys]) -> Point:
    """K = Σ_i C_i0; sound only after every trustee's ``verify`` has passed.

    The proofs of knowledge of each C_i0 are what stop a rogue trustee from
    publishing C = K' − Σ others and so choosing the joint key alone.
    """
    if not trustees:
        raise ThresholdError("no trustees")
    total = trustees[0].commitments[0]
    for trustee in trustees[1:]:
        total = total + trustee.commitments[0]
    return total


def combine_secret_share(shares_received: Mapping[int, int]) -> int:
    """x_l = Σ_i P_i(l) over every trustee's share (own share included)."""
    return sum(shares_received.values()) % ORDER


def public_share(trustees: Sequence[TrusteePublicKeys], index: int) -> Point:
    """X_l = x_l·G computed from the published commitments only."""
    total = commitment_value(trustees[0].commitments, index)
    for trustee in trustees[1:]:
        total = total + commitment_value(trustee.commitments, index)
    return total


@dataclass(frozen=True)
class DecryptionShare:
    """D = x_l·alpha with a proof that log_G(X_l) = log_alpha(D)."""

    trustee_index: int
    share: Point
    proof: ChaumPedersenProof

    def to_json(self) -> dict[str, object]:
        return {
            "trustee_index": self.trustee_index,
            "share": self.share.hex(),
            "proof": self.proof.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> DecryptionShare:
        if not isinstance(data, dict) or set(data) != {"trustee_index", "share", "proof"}:
            raise DecodingError("decryption share: expected trustee_index, share, proof")
        index = data["trustee_index"]
        if not isinstance(index, int) or isinstance(index, bool) or not 1 <= index <= 255:
            raise DecodingError("trustee index must be an integer in 1..255")
        return cls(
            index, Point.from_hex(data["share"]), ChaumPedersenProof.from_json(data["proof"])
        )


def _decryption_label(index: int, label: str) -> str:
    return f"decrypt/{index}/{label}"


def partial_decrypt(
    index: int,
    secret_share: int,
    ciphertext: Ciphertext,
    base_hash: bytes,
    label: str,
    rng: ScalarSource = random_scalar,
) -> DecryptionShare:
    """Trustee ``index``'s share x·alpha of a total, with its Chaum–Pedersen proof.

    ``label`` names the total (e.g. "contest/selection"); the proof is bound to
    it, to the trustee and to the base hash, so it cannot be replayed elsewhere.
    """
    share = ciphertext.alpha.multiply(secret_share)
    proof = prove_equal_logs(
        secret_share,
        base_mul(secret_share),
        ciphertext.alpha,
        share,
        base_hash,
        _decryption_label(index, label),
        rng,
    )
    return DecryptionShare(index, share, proof)


def verify_decryption_share(
    share: DecryptionShare, public: Point, ciphertext: Ciphertext, base_hash: bytes, label: str
) -> None:
    """Raise BadTrusteeShare naming the trustee unless its share is proven correct."""
    try:
        verify_equal_logs(
            public,
            ciphertext.alpha,
            share.share,
            share.proof,
            base_hash,
            _decryption_label(share.trustee_index, label),
        )
    except InvalidProof as error:
        raise BadTrusteeShare(
            f"{label}: decryption share of trustee {share.trustee_index} fails its proof",
            trustee_index=share.trustee_index,
        ) from error


def lagrange_coefficient(index: int, indices: Sequence[int]) -> int:
    """λ_index at 0 for the interpolation set ``indices``.

    Indices must be distinct and in 1..255: index 0 is where the secret lives,
    and a repeated index would make the denominator zero.
    """
    _check_indices(indices)
    if index not in indices:
        raise ThresholdError("the index is not in the interpolation set")
    numerator, denominator = 1, 1
    for other in indices:
        if other != index:
            numerator = numerator * other % ORDER
            denominator = denominator * (other - index) % ORDER
    return numerator * pow(denominator, -1, ORDER) % ORDER


def _check_indices(indices: Sequence[int]) -> None:
    if len(set(indices)) != len(indices):
        raise ThresholdError("two shares from the same trustee")
    for index in indices:
        if type(index) is not int or not 1 <= index <= 255:
            raise ThresholdError("trustee index must be an integer in 1..255")


def combine_decryption_shares(
    ciphertext: Ciphertext, shares: Sequence[DecryptionShare], quorum: int
) -> Point:
    """m·G from any ``quorum`` shares (the lowest ``quorum`` indices are used).

    Does not check the shares' proofs: use ``decrypt_with_shares`` unless every
    share has already passed ``verify_decryption_share``.
    """
    indices = sorted(share.trustee_index for share in shares)
    _check_indices(indices)
    if quorum < 1:
        raise ThresholdError("the quorum is at least 1")
    if len(indices) < quorum:
        raise ThresholdError(f"{len(indices)} shares given, {quorum} needed")
    chosen = sorted(shares, key=lambda share: share.trustee_index)[:quorum]
    chosen_indices = [share.trustee_index for share in chosen]
    total = ciphertext.beta
    for share in chosen:
        total = total - share.share.multiply(
            lagrange_coefficient(share.trustee_index, chosen_indices)
        )
    return total


def decrypt_with_shares(
    ciphertext: Ciphertext,
    shares: Sequence[DecryptionShare],
    public_shares: Mapping[int, Point],
    quorum: int,
    base_hash: bytes,
    label: str,
) -> Point:
    """Check every share's proof against its trustee's public share, then combine.

    The one call a tally needs per total: a share that fails (or comes from a
    trustee with no published public share) raises BadTrusteeShare naming that
    trustee, so the tally can drop it and retry with another quorum.
    """
    for share in shares:
        public = public_shares.get(share.trustee_index)
        if public is None:
            raise BadTrusteeShare(
                f"{label}: share from unknown trustee {share.trustee_index}",
                trustee_index=share.trustee_index,
            )
        verify_decryption_share(share, public, ciphertext, base_hash, label)
    return combine_decryption_shares(ciphertext, shares, quorum)


def secret_share_to_hex(share: int) -> str:
    return scalar_hex(share)


def secret_share_from_hex(text: object) -> int:
    return scalar_from_hex(text)
