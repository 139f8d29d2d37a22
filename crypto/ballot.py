"""Ballot encryption and verification.

A ballot holds, per contest, one ciphertext per selection (proved 0 or 1), an
encrypted blank indicator (proved 0 or 1) and a limit proof that ties them:
with k votes allowed, Σ selections + k·blank encrypts a value in 1..k. That
single statement gives both rules at once: blank = 1 forces every selection to
0, and blank = 0 forces between 1 and k selections. Branch forms report blank
votes per contest, so the tally can sum blank indicators like any selection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from crypto.canonical import canonical_json
from crypto.elgamal import Ciphertext, encrypt, sum_ciphertexts
from crypto.errors import DecodingError, InvalidBallot, InvalidProof
from crypto.group import Point, random_scalar, scalar_from_hex, scalar_hex
from crypto.hashing import hash_bytes
from crypto.proofs import RangeProof, ScalarSource, prove_range, verify_range

BIT_VALUES = (0, 1)
TRACKING_DOMAIN = "evote/tracking-code/v1"
GENESIS_TRACKING_CODE = bytes(32)


@dataclass(frozen=True)
class ElectionContext:
    """What every proof is bound to: the election's base hash and joint public key."""

    base_hash: bytes
    public_key: Point

    def __post_init__(self) -> None:
        # An identity key would make every ciphertext's beta equal m·G: votes in the clear.
        if len(self.base_hash) != 32:
            raise ValueError("the base hash is 32 bytes")
        if self.public_key.is_identity:
            raise ValueError("the election key must not be the identity")


@dataclass(frozen=True)
class ContestSpec:
    """The shape of one contest as the ballot style presents it."""

    contest_id: str
    selection_ids: tuple[str, ...]
    votes_allowed: int

    def __post_init__(self) -> None:
        if not 1 <= self.votes_allowed <= len(self.selection_ids):
            raise ValueError(f"contest {self.contest_id}: votes_allowed out of range")
        if len(set(self.selection_ids)) != len(self.selection_ids):
            raise ValueError(f"contest {self.contest_id}: duplicate selection ids")
        # Proof labels are "contest/selection", "contest/@blank" and "contest/@limit":
        # refusing "/" and a leading "@" keeps every label naming exactly one position.
        for name in (self.contest_id, *self.selection_ids):
            if not name or "/" in name or name.startswith("@"):
                raise ValueError(
                    f"contest {self.contest_id}: id {name!r} is empty or has '/' or '@'"
                )

    @property
    def limit_values(self) -> tuple[int, ...]:
        return tuple(range(1, self.votes_allowed + 1))


@dataclass(frozen=True)
class EncryptedSelection:
    selection_id: str
    ciphertext: Ciphertext
    proof: RangeProof


@dataclass(frozen=True)
class EncryptedContest:
    contest_id: str
    selections: tuple[EncryptedSelection, ...]
    blank: Ciphertext
    blank_proof: RangeProof
    limit_proof: RangeProof

    def limit_ciphertext(self, votes_allowed: int) -> Ciphertext:
        """Σ selections + k·blank, the ciphertext the limit proof speaks about."""
        blank_times_k = sum_ciphertexts([self.blank] * votes_allowed)
        return sum_ciphertexts(item.ciphertext for item in self.selections) + blank_times_k


@dataclass(frozen=True)
class EncryptedBallot:
    ballot_style_id: str
    contests: tuple[EncryptedContest, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "ballot_style_id": self.ballot_style_id,
            "contests": [
                {
                    "contest_id": contest.contest_id,
                    "selections": [
                        {
                            "selection_id": item.selection_id,
                            "ciphertext": item.ciphertext.to_json(),
                            "proof": item.proof.to_json(),
                        }
                        for item in contest.selections
                    ],
                    "blank": contest.blank.to_json(),
                    "blank_proof": contest.blank_proof.to_json(),
                    "limit_proof": contest.limit_proof.to_json(),
                }
                for contest in self.contests
            ],
        }

    @classmethod
    def from_json(cls, data: object) -> EncryptedBallot:
        ballot = _expect_dict(data, {"ballot_style_id", "contests"}, "ballot")
        contests = _expect_list(ballot["contests"], "ballot.contests")
        return cls(
            ballot_style_id=_expect_str(ballot["ballot_style_id"], "ballot_style_id"),
            contests=tuple(_contest_from_json(item) for item in contests),
        )

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.to_json())


def _expect_dict(data: object, keys: set[str], what: str) -> dict[str, object]:
    if not isinstance(data, dict) or set(data) != keys:
        raise DecodingError(f"{what}: expected exactly the fields {sorted(keys)}")
    return data


def _expect_list(data: object, what: str) -> list[object]:
    if not isinstance(data, list):
        raise DecodingError(f"{what}: expected a list")
    return data


def _expect_str(data: object, what: str) -> str:
    if not isinstance(data, str) or not data or len(data) > 200:
        raise DecodingError(f"{what}: expected a non-empty string")
    return data


def _contest_from_json(data: object) -> EncryptedContest:
    contest = _expect_dict(
        data, {"contest_id", "selections", "blank", "blank_proof", "limit_proof"}, "contest"
    )
    selections = []
    for item in _expect_list(contest["selections"], "contest.selections"):
        selection = _expect_dict(item, {"selection_id", "ciphertext", "proof"}, "selection")
        selections.append(
            EncryptedSelection(
                selection_id=_expect_str(selection["selection_id"], "selection_id"),
                ciphertext=Ciphertext.from_json(selection["ciphertext"]),
                proof=RangeProof.from_json(selection["proof"]),
            )
        )
    return EncryptedContest(
        contest_id=_expect_str(contest["contest_id"], "contest_id"),
        selections=tuple(selections),
        blank=Ciphertext.from_json(contest["blank"]),
        blank_proof=RangeProof.from_json(contest["blank_proof"]),
        limit_proof=RangeProof.from_json(contest["limit_proof"]),
    )


@dataclass(frozen=True)
class BallotSecrets:
    """Plaintexts and nonces of one ballot: revealed only when the voter challenges it.

    ``values[contest_id][selection_id]`` and ``nonces[...]`` hold each
    selection's 0/1 and its nonce; the key ``BLANK_KEY`` holds the blank indicator.
    """

    # repr=False: these are the vote itself and the keys to it; a traceback or a
    # log line that prints the object must not print them.
    values: dict[str, dict[str, int]] = field(repr=False)
    nonces: dict[str, dict[str, int]] = field(repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            contest_id: {
                key: {"value": value, "nonce": scalar_hex(self.nonces[contest_id][key])}
                for key, value in selections.items()
            }
            for contest_id, selections in self.values.items()
        }

    @classmethod
    def from_json(cls, data: object) -> BallotSecrets:
        if not isinstance(data, dict):
            raise DecodingError("revealed secrets: expected an object")
        values: dict[str, dict[str, int]] = {}
        nonces: dict[str, dict[str, int]] = {}
        for contest_id, selections in data.items():
            if not isinstance(selections, dict):
                raise DecodingError(f"revealed secrets of {contest_id}: expected an object")
            values[contest_id], nonces[contest_id] = {}, {}
            for key, item in selections.items():
                entry = _expect_dict(item, {"value", "nonce"}, f"revealed {contest_id}/{key}")
                value = entry["value"]
                if type(value) is not int or value not in BIT_VALUES:
                    raise DecodingError(f"revealed {contest_id}/{key}: value must be 0 or 1")
                values[contest_id][key] = value
                nonces[contest_id][key] = scalar_from_hex(entry["nonce"])
        return cls(values, nonces)


BLANK_KEY = "@blank"


def _selection_label(contest_id: str, selection_id: str) -> str:
    return f"{contest_id}/{selection_id}"


def encrypt_ballot(
    context: ElectionContext,
    ballot_style_id: str,
    contests: Sequence[ContestSpec],
    choices: Mapping[str, Sequence[str]],
    rng: ScalarSource = random_scalar,
) -> tuple[EncryptedBallot, BallotSecrets]:
    """Encrypt a voter's choices (contest id → chosen selection ids) with all proofs.

    Error messages name the contest but never the choices: an invalid ballot is
    still a voter's intent, and exceptions end up in logs.
    """
    unknown = set(choices) - {contest.contest_id for contest in contests}
    if unknown:
        raise InvalidBallot("choices for a contest that is not on this ballot")
    encrypted_contests = []
    values: dict[str, dict[str, int]] = {}
    nonces: dict[str, dict[str, int]] = {}
    key = context.public_key
    for contest in contests:
        chosen_list = list(choices.get(contest.contest_id, ()))
        chosen = set(chosen_list)
        if len(chosen) != len(chosen_list):
            raise InvalidBallot(f"{contest.contest_id}: a selection is chosen twice")
        if not chosen <= set(contest.selection_ids):
            raise InvalidBallot(f"{contest.contest_id}: a choice is not on the ballot")
        if len(chosen) > contest.votes_allowed:
            raise InvalidBallot(
                f"{contest.contest_id}: more than {contest.votes_allowed} selections chosen"
            )
        contest_values = {sid: int(sid in chosen) for sid in contest.selection_ids}
        contest_values[BLANK_KEY] = int(not chosen)
        contest_nonces = {name: rng() for name in contest_values}
        selections = []
        for selection_id in contest.selection_ids:
            value, nonce = contest_values[selection_id], contest_nonces[selection_id]
            ciphertext = encrypt(value, key, nonce)
            label = _selection_label(contest.contest_id, selection_id)
            proof = prove_range(
                ciphertext, value, nonce, key, BIT_VALUES, context.base_hash, label, rng
            )
            selections.append(EncryptedSelection(selection_id, ciphertext, proof))
        blank_value, blank_nonce = contest_values[BLANK_KEY], contest_nonces[BLANK_KEY]
        blank = encrypt(blank_value, key, blank_nonce)
        blank_label = _selection_label(contest.contest_id, BLANK_KEY)
        blank_proof = prove_range(
            blank, blank_value, blank_nonce, key, BIT_VALUES, context.base_hash, blank_label, rng
        )
        partial = EncryptedContest(
            contest.contest_id, tuple(selections), blank, blank_proof, blank_proof
        )
        limit_value = len(chosen) + contest.votes_allowed * blank_value
        limit_nonce = sum(contest_nonces[sid] for sid in contest.selection_ids)
        limit_nonce += contest.votes_allowed * blank_nonce
        limit_proof = prove_range(
            partial.limit_ciphertext(contest.votes_allowed),
            limit_value,
            limit_nonce,
            key,
            contest.limit_values,
            context.base_hash,
            f"{contest.contest_id}/@limit",
            rng,
        )
        encrypted_contests.append(
            EncryptedContest(contest.contest_id, tuple(selections), blank, blank_proof, limit_proof)
        )
        values[contest.contest_id] = contest_values
        nonces[contest.contest_id] = contest_nonces
    return EncryptedBallot(ballot_style_id, tuple(encrypted_contests)), BallotSecrets(
        values, nonces
    )


def _check_shape(contests: Sequence[ContestSpec], ballot: EncryptedBallot) -> None:
    if [c.contest_id for c in ballot.contests] != [c.contest_id for c in contests]:
        raise InvalidBallot("the ballot's contests do not match its ballot style")
    for spec, contest in zip(contests, ballot.contests, strict=True):
        if tuple(s.selection_id for s in contest.selections) != spec.selection_ids:
            raise InvalidBallot(f"{spec.contest_id}: selections do not match the ballot style")
        for ciphertext in [contest.blank, *(s.ciphertext for s in contest.selections)]:
            if ciphertext.alpha.is_identity or ciphertext.beta.is_identity:
                raise InvalidBallot(f"{spec.contest_id}: a ciphertext holds the identity")


def verify_ballot(
    context: ElectionContext, contests: Sequence[ContestSpec], ballot: EncryptedBallot
) -> None:
    """Raise InvalidBallot or InvalidProof unless every proof of the ballot verifies."""
    _check_shape(contests, ballot)
    key, base_hash = context.public_key, context.base_hash
    for spec, contest in zip(contests, ballot.contests, strict=True):
        for selection in contest.selections:
            label = _selection_label(spec.contest_id, selection.selection_id)
            verify_range(selection.ciphertext, key, BIT_VALUES, selection.proof, base_hash, label)
        blank_label = _selection_label(spec.contest_id, BLANK_KEY)
        verify_range(contest.blank, key, BIT_VALUES, contest.blank_proof, base_hash, blank_label)
        verify_range(
            contest.limit_ciphertext(spec.votes_allowed),
            key,
            spec.limit_values,
            contest.limit_proof,
            base_hash,
            f"{spec.contest_id}/@limit",
        )


def verify_challenge(
    context: ElectionContext,
    contests: Sequence[ContestSpec],
    ballot: EncryptedBallot,
    secrets: BallotSecrets,
) -> dict[str, list[str]]:
    """Re-encrypt a challenged ballot from its revealed nonces; return what it says.

    This is the Benaloh check: a terminal that encrypted something other than
    the voter's choice is caught because the revealed plaintexts and nonces
    must reproduce every ciphertext exactly.
    """
    _check_shape(contests, ballot)
    choices: dict[str, list[str]] = {}
    for spec, contest in zip(contests, ballot.contests, strict=True):
        values = secrets.values.get(spec.contest_id)
        nonces = secrets.nonces.get(spec.contest_id)
        expected_keys = {*spec.selection_ids, BLANK_KEY}
        if values is None or nonces is None or set(values) != expected_keys:
            raise InvalidBallot(f"{spec.contest_id}: revealed secrets do not cover the contest")
        if set(nonces) != expected_keys:
            raise InvalidBallot(f"{spec.contest_id}: revealed nonces do not cover the contest")
        if any(type(value) is not int or value not in BIT_VALUES for value in values.values()):
            raise InvalidBallot(f"{spec.contest_id}: a revealed value is not 0 or 1")
        pairs = [(s.selection_id, s.ciphertext) for s in contest.selections]
        for name, ciphertext in [*pairs, (BLANK_KEY, contest.blank)]:
            if encrypt(values[name], context.public_key, nonces[name]) != ciphertext:
                raise InvalidProof(f"{spec.contest_id}/{name}: revealed nonce does not match")
        chosen = [sid for sid in spec.selection_ids if values[sid]]
        # The rules the limit proof enforces, re-checked on the opened values, so a
        # challenge of a ballot that was never verified still cannot show an illegal vote.
        if len(chosen) > spec.votes_allowed or values[BLANK_KEY] != int(not chosen):
            raise InvalidBallot(f"{spec.contest_id}: revealed values break the contest's rules")
        choices[spec.contest_id] = chosen
    return choices


def tracking_code(ballot: EncryptedBallot, previous: bytes) -> bytes:
    """H(previous tracking code ‖ canonical ballot): one chain per terminal."""
    return tracking_code_of_bytes(ballot.canonical_bytes(), previous)


def tracking_code_of_bytes(canonical_ballot: bytes, previous: bytes) -> bytes:
    """``tracking_code`` from the ballot's canonical JSON, for a reader that holds
    those bytes already (cut out of a signed request's): decoding a ballot is strict
    (exact fields, canonical hex, reduced scalars), so the JSON of a decoded ballot
    has exactly the canonical bytes of the ``to_json()`` it decodes to."""
    if not isinstance(previous, bytes) or len(previous) != 32:
        raise DecodingError("a tracking code is 32 bytes")
    return hash_bytes(TRACKING_DOMAIN, previous, canonical_ballot)
