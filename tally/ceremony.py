"""The trustees' key ceremony through files, and their decryption step.

Each trustee works in a private directory (sealed secrets, its step) and
publishes to an exchange directory that is carried between machines (a USB
stick or a shared folder): public keys, sealed shares, complaints and
confirmations. Every published file is a signed envelope of the trustee's
Ed25519 key except ``trustee-<i>.json`` (TrusteePublicKeys exactly, as the
base hash covers it), which ``trustee-<i>.signer.json`` binds to that key.
The CLI (tally/cli.py) and ``run_ceremony`` call these same functions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from crypto.canonical import canonical_json, parse_json
from crypto.errors import BadTrusteeShare, CryptoError
from crypto.group import Point, base_mul, scalar_from_hex, scalar_hex
from crypto.hashing import hash_bytes
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from crypto.threshold import (
    TrusteePublicKeys,
    TrusteeSecrets,
    combine_secret_share,
    generate_trustee,
    joint_public_key,
    open_share,
    public_share,
    seal_share,
)
from evote.certificates import TRUSTEE_KEYS_KIND
from evote.election import base_hash as election_base_hash
from evote.manifest import Manifest
from tally.decryption import make_decryption_shares
from tally.errors import CeremonyError, ComplaintFiled
from tally.keystore import read_secret, write_secret
from tally.record import trustee_files
from tally.totals import EncryptedTotals

SIGNER_KIND: Final = TRUSTEE_KEYS_KIND
SHARE_KIND: Final = "trustee-share"
COMPLAINT_KIND: Final = "trustee-complaint"
CONFIRMATION_KIND: Final = "trustee-confirmation"


class Step(enum.Enum):
    """Where a trustee is in the ceremony; each command moves it one step."""

    GENERATED = "generated"
    SHARED = "shared"
    RECEIVED = "received"
    CONFIRMED = "confirmed"


_ALLOWED_FROM: Final = {
    Step.GENERATED: (None,),
    Step.SHARED: (Step.GENERATED,),
    Step.RECEIVED: (Step.SHARED,),
    Step.CONFIRMED: (Step.RECEIVED,),
}


def keys_hash(keys: TrusteePublicKeys) -> str:
    return hash_bytes("evote/trustee-keys/v1", canonical_json(keys.to_json())).hex()


@dataclass
class Workspace:
    """One trustee's private directory and the shared exchange directory."""

    index: int
    private: Path
    exchange: Path

    def read(self, path: Path) -> Any:
        try:
            return parse_json(path.read_bytes())
        except FileNotFoundError as error:
            raise CeremonyError(f"{path}: missing", code="ceremony_file_missing") from error
        except CryptoError as error:
            raise CeremonyError(f"{path}: {error}", code="ceremony_file_malformed") from error

    def step(self) -> Step | None:
        state = self.private / "state.json"
        return Step(self.read(state)["step"]) if state.exists() else None

    def advance(self, target: Step) -> None:
        current = self.step()
        if current not in _ALLOWED_FROM[target]:
            shown = current.value if current else "nothing"
            raise CeremonyError(
                f"trustee {self.index}: cannot go to {target.value!r} after {shown!r}",
                code="ceremony_out_of_order",
            )

    def record_step(self, step: Step) -> None:
        state = {"index": self.index, "step": step.value}
        (self.private / "state.json").write_bytes(canonical_json(state))

    def manifest(self) -> Manifest:
        return Manifest.from_json(self.read(self.private / "manifest.json"))

    def publish(self, relative: str, value: Any) -> Path:
        path = self.exchange / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(canonical_json(value) + b"\n")
        return path

    def secrets(self, passphrase: bytes) -> tuple[TrusteeSecrets, SigningKey]:
        sealed = read_secret(self.private / "secret.json", passphrase)
        secrets = TrusteeSecrets(
            index=self.index,
            coefficients=tuple(scalar_from_hex(item) for item in sealed["coefficients"]),
            box_secret_key=bytes.fromhex(sealed["box_secret_key"]),
        )
        return secrets, SigningKey(bytes.fromhex(sealed["signing_seed"]))

    def published_keys(self, index: int, manifest: Manifest) -> tuple[TrusteePublicKeys, VerifyKey]:
        """Trustee ``index``'s checked keys and signing key from the exchange."""
        keys_name, signer_name, _ = trustee_files(index)
        try:
            keys = TrusteePublicKeys.from_json(self.read(self.exchange / keys_name))
            envelope = SignedEnvelope.from_json(self.read(self.exchange / signer_name))
            binding = envelope.verify(SIGNER_KIND)
            keys.verify(manifest.manifest_hash, manifest.quorum)
        except CryptoError as error:
            raise CeremonyError(
                f"trustee {index}'s published keys: {error}", code="bad_public_keys"
            ) from error
        expected = {
            "election_id": manifest.election_id,
            "manifest_hash": manifest.manifest_hash.hex(),
            "trustee_index": index,
            "keys_hash": keys_hash(keys),
        }
        if keys.index != index or binding != expected:
            raise CeremonyError(
                f"trustee {index}'s signer binding does not match its keys", code="bad_public_keys"
            )
        return keys, envelope.signer

    def all_keys(self, manifest: Manifest) -> tuple[list[TrusteePublicKeys], dict[int, VerifyKey]]:
        keys, signers = [], {}
        for index in range(1, manifest.trustee_count + 1):
            trustee_keys, signers[index] = self.published_keys(index, manifest)
            keys.append(trustee_keys)
        return keys, signers


def generate(
    workspace: Workspace, manifest_document: Any, passphrase: bytes, strength: str = "moderate"
) -> TrusteePublicKeys:
    """Step 1: pick the polynomial, box and signing keys; publish keys and binding."""
    workspace.advance(Step.GENERATED)
    manifest = Manifest.from_json(manifest_document)
    if not 1 <= workspace.index <= manifest.trustee_count:
        raise CeremonyError(
            f"trustee index {workspace.index} outside 1..{manifest.trustee_count}",
            code="bad_trustee_index",
        )
    secrets, keys = generate_trustee(workspace.index, manifest.quorum, manifest.manifest_hash)
    signing_key = SigningKey.generate()
    workspace.private.mkdir(parents=True, exist_ok=True)
    (workspace.private / "manifest.json").write_bytes(canonical_json(manifest.document))
    sealed = {
        "coefficients": [scalar_hex(value) for value in secrets.coefficients],
        "box_secret_key": secrets.box_secret_key.hex(),
        "signing_seed": signing_key.seed.hex(),
    }
    write_secret(workspace.private / "secret.json", sealed, passphrase, strength)
    keys_name, signer_name, _ = trustee_files(workspace.index)
    workspace.publish(keys_name, keys.to_json())
    binding = {
        "election_id": manifest.election_id,
        "manifest_hash": manifest.manifest_hash.hex(),
        "trustee_index": workspace.index,
        "keys_hash": keys_hash(keys),
    }
    workspace.publish(signer_name, signing_key.sign(SIGNER_KIND, binding).to_json())
    workspace.record_step(Step.GENERATED)
    return keys


def share(workspace: Workspace, passphrase: bytes) -> list[Path]:
    """Step 2: seal P_i(l) for every other trustee l, signed, into ``shares/``."""
    workspace.advance(Step.SHARED)
    manifest = workspace.manifest()
    secrets, signing_key = workspace.secrets(passphrase)
    keys, _ = workspace.all_keys(manifest)
    written = []
    for recipient in keys:
        if recipient.index == workspace.index:
            continue
        payload = {
            "election_id": manifest.election_id,
            "sender": workspace.index,
            "recipient": recipient.index,
            "sealed": seal_share(secrets, recipient).hex(),
        }
        name = f"shares/{workspace.index}-to-{recipient.index}.json"
        written.append(workspace.publish(name, signing_key.sign(SHARE_KIND, payload).to_json()))
    workspace.record_step(Step.SHARED)
    return written


def receive(workspace: Workspace, passphrase: bytes, strength: str = "moderate") -> None:
    """Step 3: open and check every share addressed here; complain about a bad one.

    A bad share leaves a signed complaint in ``complaints/`` (with the sealed
    share as evidence: anyone can re-check it once the accused reveals the
    share) and raises ComplaintFiled; the combined share is then not stored.
    """
    workspace.advance(Step.RECEIVED)
    manifest = workspace.manifest()
    secrets, signing_key = workspace.secrets(passphrase)
    keys, signers = workspace.all_keys(manifest)
    received = {workspace.index: secrets.evaluate(workspace.index)}
    for sender in keys:
        if sender.index == workspace.index:
            continue
        path = workspace.exchange / f"shares/{sender.index}-to-{workspace.index}.json"
        try:
            payload = SignedEnvelope.from_json(workspace.read(path)).verify(
                SHARE_KIND, signers[sender.index]
            )
            sealed = bytes.fromhex(payload["sealed"])
            if (payload["sender"], payload["recipient"]) != (sender.index, workspace.index):
                raise BadTrusteeShare("share addressed wrongly", trustee_index=sender.index)
            received[sender.index] = open_share(secrets, sender, sealed)
        except (BadTrusteeShare, ValueError, KeyError) as error:
            complaint = {
                "election_id": manifest.election_id,
                "complainant": workspace.index,
                "accused": sender.index,
                "reason": str(error),
                "evidence": path.name,
            }
            complaint_path = workspace.publish(
                f"complaints/{workspace.index}-against-{sender.index}.json",
                signing_key.sign(COMPLAINT_KIND, complaint).to_json(),
            )
            raise ComplaintFiled(
                f"trustee {workspace.index} complains about trustee {sender.index}: {error}",
                accused=sender.index,
                complaint_path=str(complaint_path),
            ) from error
        except CryptoError as error:
            raise CeremonyError(f"{path}: {error}", code="bad_share_envelope") from error
    combined = combine_secret_share(received)
    context_hash = election_base_hash(manifest, keys)
    write_secret(
        workspace.private / "share.json",
        {"secret_share": scalar_hex(combined), "base_hash": context_hash.hex()},
        passphrase,
        strength,
    )
    workspace.record_step(Step.RECEIVED)


def confirm(workspace: Workspace, passphrase: bytes) -> Path:
    """Step 4: publish a signed confirmation of the joint key and own public share."""
    workspace.advance(Step.CONFIRMED)
    manifest = workspace.manifest()
    _, signing_key = workspace.secrets(passphrase)
    complaints = sorted((workspace.exchange / "complaints").glob("*.json"))
    if complaints:
        raise CeremonyError(
            f"complaints are open ({complaints[0].name}): the ceremony must restart",
            code="complaints_open",
        )
    keys, _ = workspace.all_keys(manifest)
    sealed = read_secret(workspace.private / "share.json", passphrase)
    own_public = public_share(keys, workspace.index)
    if base_mul(scalar_from_hex(sealed["secret_share"])) != own_public:
        raise CeremonyError("combined share does not match the commitments", code="bad_combined")
    payload = confirmation_payload(manifest, keys, workspace.index)
    path = workspace.publish(
        trustee_files(workspace.index)[2], signing_key.sign(CONFIRMATION_KIND, payload).to_json()
    )
    workspace.record_step(Step.CONFIRMED)
    return path


def confirmation_payload(
    manifest: Manifest, keys: list[TrusteePublicKeys], index: int
) -> dict[str, Any]:
    """What a trustee confirms; the verifier recomputes it from the record."""
    return {
        "election_id": manifest.election_id,
        "trustee_index": index,
        "manifest_hash": manifest.manifest_hash.hex(),
        "base_hash": election_base_hash(manifest, keys).hex(),
        "joint_public_key": joint_public_key(keys).hex(),
        "public_share": public_share(keys, index).hex(),
    }


def decrypt(workspace: Workspace, passphrase: bytes, totals: EncryptedTotals) -> SignedEnvelope:
    """After the polls: signed decryption shares with proofs for every total."""
    if workspace.step() is not Step.CONFIRMED:
        raise CeremonyError("decrypt needs a confirmed ceremony", code="ceremony_out_of_order")
    _, signing_key = workspace.secrets(passphrase)
    sealed = read_secret(workspace.private / "share.json", passphrase)
    if totals.base_hash.hex() != sealed["base_hash"]:
        raise CeremonyError("the totals belong to another election", code="foreign_totals")
    secret_share = scalar_from_hex(sealed["secret_share"])
    return make_decryption_shares(workspace.index, secret_share, signing_key, totals)


@dataclass(frozen=True)
class CeremonyResult:
    """What the ceremony leaves for HQ: the exchange, the keys, and where each trustee works."""

    exchange: Path
    trustees: tuple[TrusteePublicKeys, ...]
    joint_public_key: Point
    base_hash: bytes
    workspaces: Mapping[int, Workspace]


def run_ceremony(
    manifest_document: Any,
    passphrases: Mapping[int, bytes],
    directory: Path,
    strength: str = "moderate",
) -> CeremonyResult:
    """All trustees' steps in one process (demo, tests), through the same files as the CLI."""
    manifest = Manifest.from_json(manifest_document)
    if sorted(passphrases) != list(range(1, manifest.trustee_count + 1)):
        raise CeremonyError(
            f"need passphrases for trustees 1..{manifest.trustee_count}", code="bad_trustee_index"
        )
    exchange = Path(directory) / "exchange"
    workspaces = {
        index: Workspace(index, Path(directory) / f"trustee-{index}", exchange)
        for index in passphrases
    }
    for index, workspace in workspaces.items():
        generate(workspace, manifest.document, passphrases[index], strength)
    for index, workspace in workspaces.items():
        share(workspace, passphrases[index])
    for index, workspace in workspaces.items():
        receive(workspace, passphrases[index], strength)
    for index, workspace in workspaces.items():
        confirm(workspace, passphrases[index])
    keys, _ = workspaces[1].all_keys(manifest)
    return CeremonyResult(
        exchange,
        tuple(keys),
        joint_public_key(keys),
        election_base_hash(manifest, keys),
        workspaces,
    )


def decrypt_with_trustees(
    ceremony: CeremonyResult,
    passphrases: Mapping[int, bytes],
    totals: EncryptedTotals,
) -> list[SignedEnvelope]:
    """Decryption shares of the trustees in ``passphrases`` (any quorum), in one process."""
    return [
        decrypt(ceremony.workspaces[index], passphrase, totals)
        for index, passphrase in sorted(passphrases.items())
    ]
