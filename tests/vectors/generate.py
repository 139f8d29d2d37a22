"""Generate the crypto core's known-answer vectors: tests/vectors/crypto-v2.json.

Usage (from the repository root, in the project's venv):

    python tests/vectors/generate.py           # rewrite the file
    python tests/vectors/generate.py --check   # exit 1 if the file differs

Everything is deterministic: every scalar the core would draw from the OS is
drawn instead from a named stream (see ``seeded_scalars``), and the output is
JSON with sorted keys and two-space indentation, so the same code always
writes the same bytes. ``tests/crypto/test_crypto_vectors.py`` checks that the
current code reproduces the file byte for byte. The format is documented in
docs/crypto.md ("Known-answer vectors") for other implementations.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path

from crypto.ballot import ContestSpec, ElectionContext, encrypt_ballot, tracking_code
from crypto.elgamal import Ciphertext, DiscreteLogTable, encrypt, sum_ciphertexts
from crypto.group import ORDER, G, base_mul, derive_generator, random_scalar, scalar_hex
from crypto.hashing import hash_bytes, hash_to_scalar
from crypto.proofs import prove_equal_logs, prove_range, prove_schnorr
from crypto.signing import SigningKey, signing_message
from crypto.threshold import (
    combine_decryption_shares,
    combine_secret_share,
    generate_trustee,
    joint_public_key,
    partial_decrypt,
    public_share,
)

SEED = "evote/vectors/crypto-v2"
VECTOR_FILE = Path(__file__).with_name("crypto-v2.json")
STANDARD_CONTESTS = (
    ContestSpec("A", tuple(f"A{number}" for number in range(1, 9)), 1),
    ContestSpec("B", tuple(f"B{number}" for number in range(1, 11)), 3),
)
BALLOT_CHOICES = (
    {"A": ["A3"], "B": ["B2", "B7"]},
    {"A": [], "B": ["B1", "B2", "B10"]},
    {"A": ["A8"], "B": []},
)


def seeded_scalars(stream: str) -> Callable[[], int]:
    """Scalar number i of ``stream``: random_scalar(UTF-8(SEED "/" stream) ‖ i as u64 BE).

    That is BLAKE2b-512 of those bytes, read little-endian, reduced mod ℓ (0 → 1):
    exactly what the core does with 64 bytes of OS randomness.
    """
    prefix = f"{SEED}/{stream}".encode()
    counter = itertools.count()
    return lambda: random_scalar(prefix + next(counter).to_bytes(8, "big"))


def _group() -> dict[str, object]:
    draw = seeded_scalars("group")
    scalars = [1, 2, ORDER - 1, draw(), draw()]
    return {
        "name": "ristretto255",
        "order": str(ORDER),
        "generator": G.hex(),
        "scalar_multiples": [
            {"scalar": scalar_hex(scalar), "point": base_mul(scalar).hex()} for scalar in scalars
        ],
        "derived_generators": [
            {"label": label, "point": derive_generator(label).hex()} for label in ("H", "evote")
        ],
    }


def _hashing() -> list[dict[str, object]]:
    point = base_mul(7)
    parts_json = [
        {"type": "bytes", "hex": "00ff"},
        {"type": "text", "value": "رأی/A1"},
        {"type": "scalar", "hex": scalar_hex(5)},
        {"type": "point", "hex": point.hex()},
    ]
    parts = (bytes.fromhex("00ff"), "رأی/A1", 5, point)
    return [
        {
            "domain": "evote/test/v1",
            "parts": parts_json,
            "hash_bytes_32": hash_bytes("evote/test/v1", *parts).hex(),
            "hash_to_scalar": scalar_hex(hash_to_scalar("evote/test/v1", *parts)),
        },
        {
            "domain": "evote/test/v1",
            "parts": [],
            "hash_bytes_32": hash_bytes("evote/test/v1").hex(),
            "hash_to_scalar": scalar_hex(hash_to_scalar("evote/test/v1")),
        },
    ]


def _elgamal() -> dict[str, object]:
    draw = seeded_scalars("elgamal")
    secret = draw()
    public = base_mul(secret)
    messages = [0, 1, 1, 5]
    encryptions = []
    ciphertexts = []
    for message in messages:
        nonce = draw()
        ciphertext = encrypt(message, public, nonce)
        ciphertexts.append(ciphertext)
        encryptions.append(
            {"message": message, "nonce": scalar_hex(nonce), "ciphertext": ciphertext.to_json()}
        )
    return {
        "secret_key": scalar_hex(secret),
        "public_key": public.hex(),
        "encryptions": encryptions,
        "sum": {"message": sum(messages), "ciphertext": sum_ciphertexts(ciphertexts).to_json()},
    }


def _proofs(base_hash: bytes) -> dict[str, object]:
    draw = seeded_scalars("proofs")
    secret = draw()
    public = base_mul(secret)
    schnorr = prove_schnorr(secret, public, base_hash, "vector/schnorr", draw)
    base = base_mul(draw())
    result = base.multiply(secret)
    equal_logs = prove_equal_logs(secret, public, base, result, base_hash, "vector/cp", draw)
    key = base_mul(draw())
    ranges = []
    for allowed, value in (((0, 1), 0), ((0, 1), 1), ((1, 2, 3), 2), ((1,), 1)):
        nonce = draw()
        ciphertext = encrypt(value, key, nonce)
        label = f"vector/range/{value}-of-{len(allowed)}"
        proof = prove_range(ciphertext, value, nonce, key, allowed, base_hash, label, draw)
        ranges.append(
            {
                "label": label,
                "allowed": list(allowed),
                "value": value,
                "nonce": scalar_hex(nonce),
                "ciphertext": ciphertext.to_json(),
                "proof": proof.to_json(),
            }
        )
    return {
        "base_hash": base_hash.hex(),
        "schnorr": {
            "label": "vector/schnorr",
            "secret": scalar_hex(secret),
            "public": public.hex(),
            "proof": schnorr.to_json(),
        },
        "chaum_pedersen": {
            "label": "vector/cp",
            "public": public.hex(),
            "base": base.hex(),
            "result": result.hex(),
            "proof": equal_logs.to_json(),
        },
        "range": {"public_key": key.hex(), "cases": ranges},
    }


def build_vectors() -> dict[str, object]:
    """The whole vector document; every value is a pure function of SEED."""
    ceremony_hash = hash_bytes("evote/vectors/ceremony", SEED)
    quorum, trustee_count = 2, 3
    generated = [
        generate_trustee(index, quorum, ceremony_hash, seeded_scalars(f"trustee/{index}"))
        for index in range(1, trustee_count + 1)
    ]
    secrets = [secret for secret, _ in generated]
    published = [public for _, public in generated]
    shares = {
        f"{sender.index}->{recipient.index}": scalar_hex(sender.evaluate(recipient.index))
        for sender in secrets
        for recipient in secrets
    }
    secret_shares = {
        recipient.index: combine_secret_share(
            {sender.index: sender.evaluate(recipient.index) for sender in secrets}
        )
        for recipient in secrets
    }
    joint_key = joint_public_key(published)
    base_hash = hash_bytes("evote/vectors/base-hash", ceremony_hash, joint_key)
    context = ElectionContext(base_hash, joint_key)

    ballot_draw = seeded_scalars("ballots")
    ballots, previous = [], bytes(32)
    encrypted_ballots = []
    for choices in BALLOT_CHOICES:
        ballot, ballot_secrets = encrypt_ballot(
            context, "style-1", STANDARD_CONTESTS, choices, ballot_draw
        )
        code = tracking_code(ballot, previous)
        ballots.append(
            {
                "ballot_style_id": "style-1",
                "choices": choices,
                "encrypted": ballot.to_json(),
                "secrets": ballot_secrets.to_json(),
                "previous_tracking_code": previous.hex(),
                "tracking_code": code.hex(),
            }
        )
        encrypted_ballots.append(ballot)
        previous = code

    totals: dict[str, Ciphertext] = {}
    for ballot in encrypted_ballots:
        for contest in ballot.contests:
            for selection in contest.selections:
                key = f"{contest.contest_id}/{selection.selection_id}"
                totals[key] = totals.get(key, sum_ciphertexts([])) + selection.ciphertext
            blank_key = f"{contest.contest_id}/@blank"
            totals[blank_key] = totals.get(blank_key, sum_ciphertexts([])) + contest.blank
    decrypt_draw = seeded_scalars("decryption")
    table = DiscreteLogTable(len(BALLOT_CHOICES))
    tally = {}
    for label, total in totals.items():
        decryption_shares = [
            partial_decrypt(index, secret_shares[index], total, base_hash, label, decrypt_draw)
            for index in (1, 3)
        ]
        element = combine_decryption_shares(total, decryption_shares, quorum)
        tally[label] = {
            "ciphertext": total.to_json(),
            "shares": [share.to_json() for share in decryption_shares],
            "count": table.log(element),
        }

    signing_key = SigningKey.generate(hash_bytes("evote/vectors/signing", SEED))
    payload = {"election_id": "E-1", "sequence": 1, "tracking_code": ballots[0]["tracking_code"]}
    envelope = signing_key.sign("receipt", payload)

    return {
        "format": "evote/crypto-vectors/v2",
        "seed": SEED,
        "group": _group(),
        "hashing": _hashing(),
        "elgamal": _elgamal(),
        "proofs": _proofs(base_hash),
        "ceremony": {
            "ceremony_hash": ceremony_hash.hex(),
            "trustee_count": trustee_count,
            "quorum": quorum,
            "published": [trustee.to_json() for trustee in published],
            "polynomial_shares": shares,
            "secret_shares": {
                str(index): scalar_hex(value) for index, value in secret_shares.items()
            },
            "public_shares": {
                str(index): public_share(published, index).hex() for index in secret_shares
            },
            "joint_public_key": joint_key.hex(),
        },
        "election": {
            "base_hash": base_hash.hex(),
            "public_key": joint_key.hex(),
            "contests": [
                {
                    "contest_id": spec.contest_id,
                    "selection_ids": list(spec.selection_ids),
                    "votes_allowed": spec.votes_allowed,
                }
                for spec in STANDARD_CONTESTS
            ],
        },
        "ballots": ballots,
        "tally": {"trustees": [1, 3], "totals": tally},
        "signature": {
            "seed": signing_key.seed.hex(),
            "public_key": signing_key.public_key.hex(),
            "kind": "receipt",
            "payload": payload,
            "signed_message": signing_message("receipt", payload).hex(),
            "envelope": envelope.to_json(),
        },
    }


def render(vectors: dict[str, object]) -> bytes:
    """The file's exact bytes: sorted keys, two-space indent, UTF-8, final newline."""
    return (json.dumps(vectors, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    arguments = parser.parse_args(argv)
    expected = render(build_vectors())
    if arguments.check:
        if VECTOR_FILE.read_bytes() != expected:
            print(f"{VECTOR_FILE}: differs from what the code generates", file=sys.stderr)
            return 1
        return 0
    VECTOR_FILE.write_bytes(expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
