"""Decryption of the totals: trustees' shares with proofs, combined by any quorum.

A trustee signs one envelope holding a Chaum–Pedersen-proved share for every
non-trivial total. The tally checks each share against the trustee's public
share X_i (computable by anyone from the published commitments), skips and
names bad ones, and needs only ``quorum`` good shares per total. Totals whose
alpha is the identity (units without ballots) hold their value in the clear
and need no shares.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from crypto.elgamal import Ciphertext, DiscreteLogTable
from crypto.errors import CryptoError, DiscreteLogOutOfRange, ThresholdError
from crypto.group import Point
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from crypto.threshold import (
    BadTrusteeShare,
    DecryptionShare,
    TrusteePublicKeys,
    decrypt_with_shares,
    partial_decrypt,
    public_share,
)
from tally.errors import DecryptionError
from tally.totals import EncryptedTotals

SHARES_KIND: Final = "decryption-shares"
ALL_LABELS: Final = "*"
_MAX_BABY_STEPS: Final = 4096


def totals_to_decrypt(totals: EncryptedTotals) -> Iterator[tuple[str, Ciphertext, int]]:
    """(label, ciphertext, bound) for every total, bound = ballots carrying the contest."""
    for unit in totals.units:
        for contest_id, contest in unit.contests.items():
            for key, ciphertext in sorted(contest.ciphertexts.items()):
                yield unit.label(contest_id, key), ciphertext, contest.ballots


def make_decryption_shares(
    index: int, secret_share: int, signing_key: SigningKey, totals: EncryptedTotals
) -> SignedEnvelope:
    """A trustee's signed shares for every non-trivial total of ``totals``."""
    shares = {
        label: partial_decrypt(index, secret_share, ciphertext, totals.base_hash, label).to_json()
        for label, ciphertext, _ in totals_to_decrypt(totals)
        if not ciphertext.alpha.is_identity
    }
    payload = {
        "election_id": totals.election_id,
        "base_hash": totals.base_hash.hex(),
        "totals_hash": totals.digest().hex(),
        "trustee_index": index,
        "shares": shares,
    }
    return signing_key.sign(SHARES_KIND, payload)


@dataclass(frozen=True)
class RejectedShare:
    """A share (or a whole envelope, label ``*``) the tally did not use, and why."""

    trustee_index: int
    label: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"trustee_index": self.trustee_index, "label": self.label, "reason": self.reason}


@dataclass
class Decryption:
    """Plaintext per label, the trustees whose shares were combined, and the rejections."""

    counts: dict[str, int] = field(default_factory=dict)
    trustees_used: set[int] = field(default_factory=set)
    rejected: list[RejectedShare] = field(default_factory=list)


def _accepted_envelopes(
    totals: EncryptedTotals,
    envelopes: Sequence[SignedEnvelope],
    signers: Mapping[int, VerifyKey],
    result: Decryption,
) -> dict[int, Mapping[str, Any]]:
    """Trustee index → shares, for envelopes whose signer and binding check out."""
    expected = {
        "election_id": totals.election_id,
        "base_hash": totals.base_hash.hex(),
        "totals_hash": totals.digest().hex(),
    }
    accepted: dict[int, Mapping[str, Any]] = {}
    for envelope in envelopes:
        index = envelope.payload.get("trustee_index") if isinstance(envelope.payload, dict) else 0
        if not isinstance(index, int) or index not in signers:
            result.rejected.append(RejectedShare(0, ALL_LABELS, "unknown trustee"))
            continue
        try:
            payload = envelope.verify(SHARES_KIND, signers[index])
        except CryptoError as error:
            result.rejected.append(RejectedShare(index, ALL_LABELS, str(error)))
            continue
        mismatch = [key for key, value in expected.items() if payload.get(key) != value]
        if mismatch or index in accepted or not isinstance(payload.get("shares"), dict):
            reason = f"bound to another {mismatch[0]}" if mismatch else "duplicate or malformed"
            result.rejected.append(RejectedShare(index, ALL_LABELS, reason))
            continue
        accepted[index] = payload["shares"]
    return accepted


def _combine(
    label: str,
    ciphertext: Ciphertext,
    accepted: Mapping[int, Mapping[str, Any]],
    publics: Mapping[int, Point],
    base_hash: bytes,
    quorum: int,
    result: Decryption,
) -> Point:
    """m·G for one total from the accepted trustees' shares, bad ones named and dropped.

    ``decrypt_with_shares`` checks every share it is given (so the rejections do
    not depend on which quorum is used) and stops at the first bad one; that
    one is recorded and the rest are tried again. Rejections are recorded in
    trustee order, as results.json lists them.
    """
    shares: list[DecryptionShare] = []
    rejected: list[RejectedShare] = []
    for index in sorted(accepted):
        try:
            share = DecryptionShare.from_json(accepted[index][label])
        except KeyError:
            rejected.append(RejectedShare(index, label, "share missing"))
            continue
        except CryptoError as error:
            rejected.append(RejectedShare(index, label, str(error)))
            continue
        if share.trustee_index != index:
            rejected.append(RejectedShare(index, label, "share names another trustee"))
            continue
        shares.append(share)
    while shares:
        try:
            element = decrypt_with_shares(ciphertext, shares, publics, quorum, base_hash, label)
        except BadTrusteeShare as error:
            rejected.append(RejectedShare(error.trustee_index, label, str(error)))
            shares = [share for share in shares if share.trustee_index != error.trustee_index]
            continue
        except ThresholdError:
            break  # every share left is good, but fewer than the quorum
        result.rejected.extend(sorted(rejected, key=lambda item: item.trustee_index))
        result.trustees_used.update(sorted(share.trustee_index for share in shares)[:quorum])
        return element
    result.rejected.extend(sorted(rejected, key=lambda item: item.trustee_index))
    first = result.rejected[0] if result.rejected else None
    named = (
        f"first rejected: trustee {first.trustee_index} at {first.label}: {first.reason}"
        if first
        else "no shares given"
    )
    raise DecryptionError(
        f"{label}: {len(shares)} good decryption shares, {quorum} needed ({named})"
    )


def decrypt_totals(
    totals: EncryptedTotals,
    envelopes: Sequence[SignedEnvelope],
    trustees: Sequence[TrusteePublicKeys],
    signers: Mapping[int, VerifyKey],
    quorum: int,
) -> Decryption:
    """Check every share, combine any ``quorum`` good ones per total, decode every total.

    Raises DecryptionError naming the total and the trustees when fewer than
    ``quorum`` good shares remain for it.
    """
    result = Decryption()
    accepted = _accepted_envelopes(totals, envelopes, signers, result)
    publics: dict[int, Point] = {index: public_share(trustees, index) for index in accepted}
    largest = max((bound for _, _, bound in totals_to_decrypt(totals)), default=0)
    table = DiscreteLogTable(largest, baby_steps=min(largest + 1, _MAX_BABY_STEPS))
    for label, ciphertext, bound in totals_to_decrypt(totals):
        if ciphertext.alpha.is_identity:
            element = ciphertext.beta
        else:
            element = _combine(
                label, ciphertext, accepted, publics, totals.base_hash, quorum, result
            )
        try:
            value = table.log(element)
        except DiscreteLogOutOfRange as error:
            raise DecryptionError(f"{label}: does not decode to 0..{bound}") from error
        if value > bound:
            raise DecryptionError(f"{label}: decodes to {value}, more than {bound} ballots")
        result.counts[label] = value
    return result
