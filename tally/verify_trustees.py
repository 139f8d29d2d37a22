"""The trustees' published keys: proofs, self-signed bindings, confirmations.

Every trustee's keys are checked before any confirmation, because a
confirmation names the joint key computed from all of them.
"""

from __future__ import annotations

from crypto.errors import CryptoError
from evote.election import base_hash
from tally.ceremony import CONFIRMATION_KIND, SIGNER_KIND, confirmation_payload, keys_hash
from tally.errors import VerificationFailure
from tally.record import Record, trustee_files


def check_trustees(record: Record) -> int:
    """Each trustee's proofs, binding and confirmation; election.json's joint key and base hash."""
    manifest = record.manifest
    keys = record.trustee_keys()
    for trustee in keys:  # all of them first: a confirmation names every trustee's keys
        try:
            trustee.verify(manifest.manifest_hash, manifest.quorum)
        except CryptoError as error:
            location = f"trustees/{trustee_files(trustee.index)[0]}"
            raise VerificationFailure("trustees", location, str(error), code=error.code) from error
    for trustee in keys:
        keys_name, signer_name, confirmation_name = (
            f"trustees/{name}" for name in trustee_files(trustee.index)
        )
        try:
            signer = record.read_envelope(signer_name)
            binding = signer.verify(SIGNER_KIND)
            confirmation = record.read_envelope(confirmation_name).verify(
                CONFIRMATION_KIND, signer.signer
            )
        except CryptoError as error:
            raise VerificationFailure("trustees", keys_name, str(error), code=error.code) from error
        if (
            not isinstance(binding, dict)
            or binding.get("keys_hash") != keys_hash(trustee)
            or binding.get("manifest_hash") != manifest.manifest_hash.hex()
        ):
            raise VerificationFailure(
                "trustees", signer_name, "binds other keys", code="bad_binding"
            )
        if confirmation != confirmation_payload(manifest, keys, trustee.index):
            raise VerificationFailure(
                "trustees",
                confirmation_name,
                "confirms another key set",
                code="bad_confirmation",
            )
    expected = {"base_hash": base_hash(manifest, keys).hex()}
    expected["joint_public_key"] = confirmation_payload(manifest, keys, 1)["joint_public_key"]
    for key, value in expected.items():
        if record.election.get(key) != value:
            raise VerificationFailure(
                "trustees",
                f"election.json:{key}",
                "differs from the trustees' keys",
                code="mismatch",
            )
    return len(keys)
