"""The election context every proof is bound to.

Two hashes, in order: the manifest hash binds the key ceremony (trustees prove
their coefficients against it); the base hash binds everything after the
ceremony (ballots, decryptions) to the manifest *and* the trustees' published
keys, so a ballot for one election or one key set is worthless in another.
"""

from __future__ import annotations

from collections.abc import Sequence

from crypto.ballot import ElectionContext
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from crypto.threshold import TrusteePublicKeys, joint_public_key
from evote.manifest import Manifest

BASE_HASH_DOMAIN = "evote/base-hash/v1"


def base_hash(manifest: Manifest, trustees: Sequence[TrusteePublicKeys]) -> bytes:
    ordered = sorted(trustees, key=lambda trustee: trustee.index)
    return hash_bytes(
        BASE_HASH_DOMAIN,
        manifest.manifest_hash,
        *(canonical_json(trustee.to_json()) for trustee in ordered),
    )


def election_context(manifest: Manifest, trustees: Sequence[TrusteePublicKeys]) -> ElectionContext:
    """Base hash and joint key; trustees must be exactly the manifest's count."""
    indices = sorted(trustee.index for trustee in trustees)
    if indices != list(range(1, manifest.trustee_count + 1)):
        raise ValueError(f"expected trustees 1..{manifest.trustee_count}, got {indices}")
    return ElectionContext(base_hash(manifest, trustees), joint_public_key(trustees))
