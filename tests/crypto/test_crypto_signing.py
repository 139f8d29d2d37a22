"""Signed envelopes: only the right kind, from the right signer, with the untouched payload."""

from __future__ import annotations

import dataclasses
import json

import pytest

from crypto.canonical import canonical_json
from crypto.errors import DecodingError, InvalidSignature
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey, signing_message

PAYLOAD = {"election_id": "E1", "sequence": 7, "station_id": "S-01", "note": "رأی"}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(bytes(range(32)))


def test_an_envelope_verifies_and_survives_json(key: SigningKey) -> None:
    envelope = key.sign("receipt", PAYLOAD)
    assert envelope.verify("receipt", key.public_key) == PAYLOAD
    decoded = SignedEnvelope.from_json(envelope.to_json())
    assert decoded == envelope
    assert decoded.verify("receipt", key.public_key) == PAYLOAD


def test_the_wrong_kind_is_rejected(key: SigningKey) -> None:
    envelope = key.sign("receipt", PAYLOAD)
    with pytest.raises(InvalidSignature, match="expected a 'checkpoint'"):
        envelope.verify("checkpoint", key.public_key)
    relabelled = dataclasses.replace(envelope, kind="checkpoint")
    with pytest.raises(InvalidSignature):
        relabelled.verify("checkpoint", key.public_key)


def test_the_wrong_signer_is_rejected(key: SigningKey) -> None:
    other = SigningKey.generate(bytes(range(1, 33)))
    envelope = key.sign("receipt", PAYLOAD)
    with pytest.raises(InvalidSignature, match="unexpected key"):
        envelope.verify("receipt", other.public_key)
    claimed = dataclasses.replace(envelope, signer=other.public_key)
    with pytest.raises(InvalidSignature):
        claimed.verify("receipt", other.public_key)


@pytest.mark.parametrize(
    "payload",
    [
        PAYLOAD | {"sequence": 8},
        PAYLOAD | {"extra": None},
        {key: value for key, value in PAYLOAD.items() if key != "note"},
        PAYLOAD | {"note": "رای"},
    ],
    ids=["changed-value", "added-field", "removed-field", "lookalike-text"],
)
def test_a_tampered_payload_is_rejected(key: SigningKey, payload: dict[str, object]) -> None:
    envelope = dataclasses.replace(key.sign("receipt", PAYLOAD), payload=payload)
    with pytest.raises(InvalidSignature):
        envelope.verify("receipt", key.public_key)


def test_a_decoded_envelope_with_another_payload_is_rejected(key: SigningKey) -> None:
    """The decoded payload's bytes are kept for ``verify``: a copy of the envelope
    with another payload must not verify with the original's bytes."""
    decoded = SignedEnvelope.from_json(key.sign("receipt", PAYLOAD).to_json())
    assert decoded.verify("receipt", key.public_key) == PAYLOAD
    tampered = dataclasses.replace(decoded, payload=PAYLOAD | {"sequence": 8})
    with pytest.raises(InvalidSignature):
        tampered.verify("receipt", key.public_key)


def test_an_envelope_encodes_as_the_canonical_json_of_its_json(key: SigningKey) -> None:
    signed = key.sign("receipt", PAYLOAD | {"list": [3, {"b": 1, "a": "\u00e9"}]})
    decoded = SignedEnvelope.from_json(json.loads(json.dumps(signed.to_json())))
    for envelope in (signed, decoded):
        assert envelope.canonical_bytes() == canonical_json(envelope.to_json())


def test_a_tampered_signature_is_rejected(key: SigningKey) -> None:
    envelope = key.sign("receipt", PAYLOAD)
    for position in (0, 31, 32, 63):
        signature = bytearray(envelope.signature)
        signature[position] ^= 0x01
        with pytest.raises(InvalidSignature):
            dataclasses.replace(envelope, signature=bytes(signature)).verify("receipt")


def test_the_signed_bytes_are_domain_separated_by_kind() -> None:
    assert signing_message("a", {"x": 1}) == b'evote/signed/v1/a\x00{"x":1}'
    assert signing_message("ab", {}) != signing_message("a", {"b": {}})


@pytest.mark.parametrize(
    "document",
    [
        None,
        {"kind": "receipt", "payload": {}, "signer": "00" * 32},
        {"kind": "", "payload": {}, "signer": "00" * 32, "signature": "00" * 64},
        {"kind": "رسید", "payload": {}, "signer": "00" * 32, "signature": "00" * 64},
        {"kind": "a\x00b", "payload": {}, "signer": "00" * 32, "signature": "00" * 64},
        {"kind": 3, "payload": {}, "signer": "00" * 32, "signature": "00" * 64},
        {"kind": "r", "payload": {"x": 1.5}, "signer": "00" * 32, "signature": "00" * 64},
        {"kind": "r", "payload": {}, "signer": "00" * 31, "signature": "00" * 64},
        {"kind": "r", "payload": {}, "signer": "00" * 32, "signature": "00" * 63},
        {"kind": "r", "payload": {}, "signer": "AA" * 32, "signature": "00" * 64},
    ],
    ids=[
        "not-an-object",
        "missing-signature",
        "empty-kind",
        "non-ascii-kind",
        "nul-in-kind",
        "kind-not-text",
        "float-payload",
        "short-signer",
        "short-signature",
        "uppercase-signer",
    ],
)
def test_malformed_envelopes_are_decoding_errors(document: object) -> None:
    with pytest.raises(DecodingError):
        SignedEnvelope.from_json(document)


def test_keys_of_the_wrong_size_are_refused() -> None:
    with pytest.raises(DecodingError):
        SigningKey(bytes(31))
    with pytest.raises(DecodingError):
        VerifyKey(bytes(33))


def test_the_seed_stays_out_of_repr(key: SigningKey) -> None:
    assert key.seed.hex() not in repr(key)
    assert repr(key.seed) not in repr(key)
