"""Non-interactive zero-knowledge proofs (Fiat–Shamir over BLAKE2b).

Every challenge hashes a proof-specific domain tag, the election's base hash,
a caller-chosen label (which position in which ballot), the full statement and
every commitment — so a proof is valid for exactly one statement in exactly one
election. Proofs are stored in compact form (challenges and responses); the
verifier recomputes the commitments and the challenge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto.elgamal import Ciphertext
from crypto.errors import DecodingError, InvalidProof
from crypto.group import ORDER, Point, base_mul, random_scalar, scalar_from_hex, scalar_hex
from crypto.hashing import hash_to_scalar

ScalarSource = Callable[[], int]

SCHNORR_DOMAIN = "evote/proof/schnorr/v1"
CHAUM_PEDERSEN_DOMAIN = "evote/proof/chaum-pedersen/v1"
RANGE_DOMAIN = "evote/proof/range/v1"


def _scalar_list(data: object, what: str) -> tuple[int, ...]:
    if not isinstance(data, list) or not data:
        raise DecodingError(f"{what}: expected a non-empty list of scalars")
    return tuple(scalar_from_hex(item) for item in data)


@dataclass(frozen=True, slots=True)
class SchnorrProof:
    """Knowledge of x with X = x·G."""

    challenge: int
    response: int

    def to_json(self) -> dict[str, str]:
        return {"challenge": scalar_hex(self.challenge), "response": scalar_hex(self.response)}

    @classmethod
    def from_json(cls, data: object) -> SchnorrProof:
        if not isinstance(data, dict) or set(data) != {"challenge", "response"}:
            raise DecodingError("a Schnorr proof is exactly {challenge, response}")
        return cls(scalar_from_hex(data["challenge"]), scalar_from_hex(data["response"]))


def prove_schnorr(
    secret: int, public: Point, base_hash: bytes, label: str, rng: ScalarSource = random_scalar
) -> SchnorrProof:
    """Prove knowledge of ``secret`` = log_G(public); the label names what is proved."""
    nonce = rng()
    commitment = base_mul(nonce)
    challenge = hash_to_scalar(SCHNORR_DOMAIN, base_hash, label, public, commitment)
    return SchnorrProof(challenge, (nonce + challenge * secret) % ORDER)


def verify_schnorr(public: Point, proof: SchnorrProof, base_hash: bytes, label: str) -> None:
    """Raise InvalidProof unless ``proof`` shows knowledge of log_G(public).

    The identity is refused: its log is 0, which anyone knows, so a commitment
    equal to the identity would contribute nothing a trustee must keep secret.
    """
    if public.is_identity:
        raise InvalidProof(f"{label}: the public value is the identity")
    commitment = base_mul(proof.response) - public.multiply(proof.challenge)
    if hash_to_scalar(SCHNORR_DOMAIN, base_hash, label, public, commitment) != proof.challenge:
        raise InvalidProof(f"{label}: Schnorr proof does not verify")


@dataclass(frozen=True, slots=True)
class ChaumPedersenProof:
    """Equal discrete logs: X = x·G and D = x·A (used for correct partial decryption)."""

    challenge: int
    response: int

    def to_json(self) -> dict[str, str]:
        return {"challenge": scalar_hex(self.challenge), "response": scalar_hex(self.response)}

    @classmethod
    def from_json(cls, data: object) -> ChaumPedersenProof:
        if not isinstance(data, dict) or set(data) != {"challenge", "response"}:
            raise DecodingError("a Chaum–Pedersen proof is exactly {challenge, response}")
        return cls(scalar_from_hex(data["challenge"]), scalar_from_hex(data["response"]))


def prove_equal_logs(
    secret: int,
    public: Point,
    base: Point,
    result: Point,
    base_hash: bytes,
    label: str,
    rng: ScalarSource = random_scalar,
) -> ChaumPedersenProof:
    """Prove log_G(public) = log_base(result) = ``secret`` (a trustee's correct share)."""
    nonce = rng()
    commitment_g = base_mul(nonce)
    commitment_base = base.multiply(nonce)
    challenge = hash_to_scalar(
        CHAUM_PEDERSEN_DOMAIN, base_hash, label, public, base, result, commitment_g, commitment_base
    )
    return ChaumPedersenProof(challenge, (nonce + challenge * secret) % ORDER)


def verify_equal_logs(
    public: Point,
    base: Point,
    result: Point,
    proof: ChaumPedersenProof,
    base_hash: bytes,
    label: str,
) -> None:
    """Raise InvalidProof unless log_G(public) = log_base(result)."""
    commitment_g = base_mul(proof.response) - public.multiply(proof.challenge)
    commitment_base = base.multiply(proof.response) - result.multiply(proof.challenge)
    expected = hash_to_scalar(
        CHAUM_PEDERSEN_DOMAIN, base_hash, label, public, base, result, commitment_g, commitment_base
    )
    if expected != proof.challenge:
        raise InvalidProof(f"{label}: Chaum–Pedersen proof does not verify")


@dataclass(frozen=True, slots=True)
class RangeProof:
    """A ciphertext encrypts one of the allowed values (disjunctive Chaum–Pedersen).

    One (challenge, response) pair per allowed value; the challenges sum to the
    Fiat–Shamir hash. With allowed values (0, 1) this is the classic 0-or-1
    proof; with a single value it is a proof that the plaintext is that value.
    """

    challenges: tuple[int, ...]
    responses: tuple[int, ...]

    def to_json(self) -> dict[str, list[str]]:
        return {
            "challenges": [scalar_hex(value) for value in self.challenges],
            "responses": [scalar_hex(value) for value in self.responses],
        }

    @classmethod
    def from_json(cls, data: object) -> RangeProof:
        if not isinstance(data, dict) or set(data) != {"challenges", "responses"}:
            raise DecodingError("a range proof is exactly {challenges, responses}")
        challenges = _scalar_list(data["challenges"], "challenges")
        responses = _scalar_list(data["responses"], "responses")
        if len(challenges) != len(responses):
            raise DecodingError("a range proof has as many responses as challenges")
        return cls(challenges, responses)


def _range_challenge(
    base_hash: bytes,
    label: str,
    public_key: Point,
    ciphertext: Ciphertext,
    allowed: Sequence[int],
    commitments: list[Point],
) -> int:
    return hash_to_scalar(
        RANGE_DOMAIN,
        base_hash,
        label,
        public_key,
        ciphertext.alpha,
        ciphertext.beta,
        ",".join(str(value) for value in allowed),
        *commitments,
    )


def prove_range(
    ciphertext: Ciphertext,
    value: int,
    nonce: int,
    public_key: Point,
    allowed: Sequence[int],
    base_hash: bytes,
    label: str,
    rng: ScalarSource = random_scalar,
) -> RangeProof:
    """Prove that ``ciphertext`` = Enc(value; nonce) with value in ``allowed``.

    Simulated branches use the prover's knowledge of the nonce: with
    t = v − c·r, the commitments are t·G and t·K + c·(j − value)·G, which saves
    two variable-base multiplications per branch and is distributed exactly as
    the textbook simulation.
    """
    if value not in allowed:
        raise ValueError("the encrypted value is not among the allowed values")
    real = list(allowed).index(value)
    challenges: list[int] = []
    offsets: list[int] = []
    commitments: list[Point] = []
    real_nonce = rng()
    for index, candidate in enumerate(allowed):
        if index == real:
            challenges.append(0)
            offsets.append(real_nonce)
            commitments += [base_mul(real_nonce), public_key.multiply(real_nonce)]
            continue
        challenge, offset = rng(), rng()
        challenges.append(challenge)
        offsets.append(offset)
        commitments += [
            base_mul(offset),
            public_key.multiply(offset) + base_mul(challenge * (candidate - value)),
        ]
    total = _range_challenge(base_hash, label, public_key, ciphertext, allowed, commitments)
    challenges[real] = (total - sum(challenges)) % ORDER
    responses = [
        (offset + challenge * nonce) % ORDER
        for offset, challenge in zip(offsets, challenges, strict=True)
    ]
    return RangeProof(tuple(challenges), tuple(responses))


def verify_range(
    ciphertext: Ciphertext,
    public_key: Point,
    allowed: Sequence[int],
    proof: RangeProof,
    base_hash: bytes,
    label: str,
) -> None:
    """Raise InvalidProof unless ``proof`` shows the plaintext is in ``allowed``."""
    if len(proof.challenges) != len(allowed) or len(proof.responses) != len(allowed):
        raise InvalidProof(f"{label}: expected {len(allowed)} branches")
    commitments: list[Point] = []
    for candidate, challenge, response in zip(
        allowed, proof.challenges, proof.responses, strict=True
    ):
        # u·K − c·(β − v·G) equals u·K − c·β + c·v·G, and β − 1·G is a subtraction
        # where c·v·G would be a multiplication: most branches test v = 0 or 1.
        shifted_beta = ciphertext.beta - base_mul(candidate)
        commitments.append(base_mul(response) - ciphertext.alpha.multiply(challenge))
        commitments.append(public_key.multiply(response) - shifted_beta.multiply(challenge))
    expected = _range_challenge(base_hash, label, public_key, ciphertext, allowed, commitments)
    if sum(proof.challenges) % ORDER != expected:
        raise InvalidProof(f"{label}: range proof does not verify")
