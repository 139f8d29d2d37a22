"""The key ceremony through files: CLI steps, complaints, passphrases, step order, quorum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nacl.public
import pytest
from click.testing import CliRunner

from crypto.canonical import canonical_json, parse_json
from crypto.group import scalar_to_bytes
from crypto.signing import SignedEnvelope
from tally import ceremony as steps
from tally.ceremony import CeremonyResult, Workspace, decrypt_with_trustees
from tally.cli import trustee
from tally.decryption import decrypt_totals
from tally.errors import CeremonyError, ComplaintFiled, DecryptionError, KeystoreError
from tally.pipeline import load_totals, trustee_signers
from tally.record import Record


def _run(arguments: list[str], passphrase: str = "correct horse") -> Any:
    env = {"EVOTE_TRUSTEE_PASSPHRASE": passphrase}
    return CliRunner().invoke(trustee, arguments, env=env, catch_exceptions=False)


def test_the_cli_runs_a_whole_ceremony_and_refuses_steps_out_of_order(
    tmp_path: Path, manifest_document: dict[str, Any]
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(canonical_json(manifest_document))
    exchange = tmp_path / "exchange"

    def step(name: str, index: int, *extra: str) -> Any:
        private = str(tmp_path / f"trustee-{index}")
        return _run(
            [name, "--index", str(index), "--private", private, "--out", str(exchange), *extra]
        )

    for index in (1, 2, 3):
        assert (
            step("generate", index, "--manifest", str(manifest), "--kdf", "interactive").exit_code
            == 0
        )
    assert step("receive", 1, "--kdf", "interactive").exit_code == 1
    for name, extra in (("share", ()), ("receive", ("--kdf", "interactive")), ("confirm", ())):
        for index in (1, 2, 3):
            result = step(name, index, *extra)
            assert result.exit_code == 0, result.output
    confirmations = [
        SignedEnvelope.from_json(
            parse_json((exchange / f"trustee-{i}.confirmation.json").read_bytes())
        )
        for i in (1, 2, 3)
    ]
    assert len({item.payload["joint_public_key"] for item in confirmations}) == 1
    assert "ceremony_out_of_order" in step("share", 2).output


def test_a_bad_share_yields_a_signed_complaint_naming_the_sender(
    tmp_path: Path, manifest_document: dict[str, Any], passphrases: dict[int, bytes]
) -> None:
    exchange = tmp_path / "exchange"
    workspaces = {i: Workspace(i, tmp_path / f"t{i}", exchange) for i in (1, 2, 3)}
    for index, workspace in workspaces.items():
        steps.generate(workspace, manifest_document, passphrases[index], "interactive")
    for index, workspace in workspaces.items():
        steps.share(workspace, passphrases[index])
    secrets, signing_key = workspaces[2].secrets(passphrases[2])
    recipient_keys, _ = workspaces[1].published_keys(1, workspaces[1].manifest())
    box = nacl.public.Box(
        nacl.public.PrivateKey(secrets.box_secret_key),
        nacl.public.PublicKey(recipient_keys.box_public_key),
    )
    wrong = bytes(box.encrypt(scalar_to_bytes(secrets.evaluate(1) + 1)))
    payload = {"election_id": "majlis-12", "sender": 2, "recipient": 1, "sealed": wrong.hex()}
    (exchange / "shares/2-to-1.json").write_bytes(
        canonical_json(signing_key.sign(steps.SHARE_KIND, payload).to_json())
    )
    with pytest.raises(ComplaintFiled) as caught:
        steps.receive(workspaces[1], passphrases[1], "interactive")
    assert caught.value.accused == 2
    complaint = SignedEnvelope.from_json(parse_json(Path(caught.value.complaint_path).read_bytes()))
    assert complaint.verify(steps.COMPLAINT_KIND)["accused"] == 2
    assert not (workspaces[1].private / "share.json").exists()
    steps.receive(workspaces[3], passphrases[3], "interactive")
    with pytest.raises(CeremonyError, match="complaints are open"):
        steps.confirm(workspaces[3], passphrases[3])


def test_a_wrong_passphrase_opens_nothing(ceremony: CeremonyResult) -> None:
    with pytest.raises(KeystoreError) as caught:
        ceremony.workspaces[1].secrets(b"not the passphrase")
    assert caught.value.code == "wrong_passphrase"


def test_a_bad_decryption_share_is_named_and_skipped_while_a_quorum_remains(
    ceremony: CeremonyResult, pristine_record: Path, passphrases: dict[int, bytes]
) -> None:
    record = Record(pristine_record)
    totals = load_totals(record)
    envelopes = decrypt_with_trustees(ceremony, passphrases, totals)
    payload = dict(envelopes[1].payload)
    shares = dict(payload["shares"])
    label = next(iter(shares))
    shares[label] = shares[next(reversed(shares))]
    payload["shares"] = shares
    _, signing_key = ceremony.workspaces[2].secrets(passphrases[2])
    envelopes[1] = signing_key.sign(envelopes[1].kind, payload)
    signers = trustee_signers(record)
    decryption = decrypt_totals(totals, envelopes, list(ceremony.trustees), signers, quorum=2)
    assert [(item.trustee_index, item.label) for item in decryption.rejected] == [(2, label)]
    with pytest.raises(DecryptionError, match="trustee 2"):
        decrypt_totals(totals, [envelopes[1]], list(ceremony.trustees), signers, quorum=2)
