"""Ed25519 signatures and signed envelopes.

A signed envelope is the one shape every signed object in evote takes:
``{"kind": ..., "payload": {...}, "signer": hex32, "signature": hex64}``.
The signature covers a domain tag built from ``kind`` and the canonical JSON
of the payload, so a signature made for one kind of object can never be
replayed as another kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import nacl.exceptions
import nacl.signing

from crypto.canonical import JsonValue, canonical_json
from crypto.errors import DecodingError, InvalidSignature
from crypto.hexcodec import bytes_from_hex

SIGNATURE_DOMAIN = b"evote/signed/v1/"


def _check_kind(kind: object) -> None:
    if not isinstance(kind, str) or not kind or not kind.isascii() or "\x00" in kind:
        raise DecodingError("envelope kind must be non-empty ASCII without NUL")


def signing_message(kind: str, payload: JsonValue) -> bytes:
    """The exact bytes that get signed for an envelope of ``kind``."""
    return _signing_message(kind, canonical_json(payload))


def _signing_message(kind: str, canonical_payload: bytes) -> bytes:
    _check_kind(kind)
    return SIGNATURE_DOMAIN + kind.encode("ascii") + b"\x00" + canonical_payload


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key; holds the seed so it can be stored encrypted."""

    seed: bytes = field(repr=False)
    # Deriving the key pair from the seed costs a scalar multiplication: do it once.
    _nacl: nacl.signing.SigningKey = field(init=False, repr=False, compare=False)
    public_key: VerifyKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise DecodingError("an Ed25519 seed is 32 bytes")
        key = nacl.signing.SigningKey(self.seed)
        object.__setattr__(self, "_nacl", key)
        object.__setattr__(self, "public_key", VerifyKey(bytes(key.verify_key)))

    @classmethod
    def generate(cls, random_bytes: bytes | None = None) -> SigningKey:
        return cls(random_bytes if random_bytes is not None else os.urandom(32))

    def sign_bytes(self, message: bytes) -> bytes:
        return bytes(self._nacl.sign(message).signature)

    def sign(self, kind: str, payload: JsonValue) -> SignedEnvelope:
        signature = self.sign_bytes(signing_message(kind, payload))
        return SignedEnvelope(kind, payload, self.public_key, signature)


@dataclass(frozen=True)
class VerifyKey:
    """An Ed25519 public key (32 bytes)."""

    key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.key, bytes) or len(self.key) != 32:
            raise DecodingError("an Ed25519 public key is 32 bytes")

    @classmethod
    def from_hex(cls, text: object) -> VerifyKey:
        return cls(bytes_from_hex(text, 32, "public key"))

    def hex(self) -> str:
        return self.key.hex()

    def verify_bytes(self, message: bytes, signature: bytes) -> None:
        try:
            nacl.signing.VerifyKey(self.key).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError) as error:
            raise InvalidSignature("signature does not verify") from error


@dataclass(frozen=True)
class SignedEnvelope:
    """A payload of a given kind, with its signer and signature.

    A decoded envelope keeps its payload's canonical bytes: ``from_json``
    needs them anyway (to refuse a payload without a canonical form), and
    ``verify`` and ``canonical_bytes`` reuse them. A cast request's payload is
    12 KB; encoding it three times per ballot cost about a quarter of a
    millisecond. A decoded payload is never mutated in place (nothing in evote
    does; ``dataclasses.replace`` builds a new envelope, which encodes its
    payload afresh).
    """

    kind: str
    payload: JsonValue
    signer: VerifyKey
    signature: bytes
    _encoded_payload: bytes | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def _with_encoding(self, encoded_payload: bytes) -> SignedEnvelope:
        object.__setattr__(self, "_encoded_payload", encoded_payload)
        return self

    def payload_bytes(self) -> bytes:
        """``canonical_json(self.payload)``: the bytes ``from_json`` encoded, if it did."""
        if self._encoded_payload is not None:
            return self._encoded_payload
        return canonical_json(self.payload)

    def canonical_bytes(self) -> bytes:
        """``canonical_json(self.to_json())``, built around the payload's bytes."""
        head = {"kind": self.kind}
        tail = {"signature": self.signature.hex(), "signer": self.signer.hex()}
        # Canonical key order is kind < payload < signature < signer.
        return (
            canonical_json(head)[:-1]
            + b',"payload":'
            + self.payload_bytes()
            + b","
            + canonical_json(tail)[1:]
        )

    def verify(self, expected_kind: str, trusted_signer: VerifyKey | None = None) -> JsonValue:
        """Check kind, signer and signature; return the payload."""
        if self.kind != expected_kind:
            raise InvalidSignature(f"expected a {expected_kind!r} envelope, got {self.kind!r}")
        if trusted_signer is not None and trusted_signer.key != self.signer.key:
            raise InvalidSignature("envelope signed by an unexpected key")
        self.signer.verify_bytes(_signing_message(self.kind, self.payload_bytes()), self.signature)
        return self.payload

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "payload": self.payload,
            "signer": self.signer.hex(),
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> SignedEnvelope:
        if not isinstance(data, dict) or set(data) != {"kind", "payload", "signer", "signature"}:
            raise DecodingError("an envelope has exactly kind, payload, signer and signature")
        kind = data["kind"]
        _check_kind(kind)
        # Fails now, as a DecodingError, if the payload has no canonical form (floats).
        encoded = canonical_json(data["payload"])
        return cls(
            kind=kind,
            payload=data["payload"],
            signer=VerifyKey.from_hex(data["signer"]),
            signature=bytes_from_hex(data["signature"], 64, "signature"),
        )._with_encoding(encoded)
