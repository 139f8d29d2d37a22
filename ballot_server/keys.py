"""The election's signing keys and where they live in the data dir.

HQ signs the manifest, the registry signs card certificates, the inquiry
service signs authorizations and QR passes, the server signs receipts, reports
and checkpoints. In the demo one data dir holds all four; in production HQ and
the registry keep their private keys elsewhere and the server's dir holds only
``inquiry.key`` and ``server.key`` plus the public ``hq.pub`` and ``registry.pub``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crypto.hexcodec import bytes_from_hex
from crypto.signing import SigningKey, VerifyKey

ROLES = ("hq", "registry", "inquiry", "server")


@dataclass(frozen=True)
class KeySet:
    """Private keys the server uses, and public keys it trusts."""

    inquiry: SigningKey
    server: SigningKey
    hq_public: VerifyKey
    registry_public: VerifyKey
    hq: SigningKey | None = None
    registry: SigningKey | None = None

    @classmethod
    def generate(cls) -> KeySet:
        hq, registry = SigningKey.generate(), SigningKey.generate()
        return cls(
            SigningKey.generate(),
            SigningKey.generate(),
            hq.public_key,
            registry.public_key,
            hq,
            registry,
        )


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def save_keys(directory: Path, keys: KeySet) -> None:
    """Write seeds (mode 0600) and public keys; missing HQ/registry seeds are skipped."""
    directory.mkdir(parents=True, exist_ok=True)
    _write_secret(directory / "inquiry.key", keys.inquiry.seed.hex())
    _write_secret(directory / "server.key", keys.server.seed.hex())
    (directory / "hq.pub").write_text(keys.hq_public.hex() + "\n", encoding="ascii")
    (directory / "registry.pub").write_text(keys.registry_public.hex() + "\n", encoding="ascii")
    for name, key in (("hq", keys.hq), ("registry", keys.registry)):
        if key is not None:
            _write_secret(directory / f"{name}.key", key.seed.hex())


def _read_seed(path: Path) -> SigningKey:
    return SigningKey(bytes_from_hex(path.read_text(encoding="ascii").strip(), 32, str(path)))


def load_keys(directory: Path) -> KeySet:
    """Read a key directory written by ``save_keys``."""
    optional = {
        name: _read_seed(directory / f"{name}.key")
        for name in ("hq", "registry")
        if (directory / f"{name}.key").exists()
    }
    return KeySet(
        inquiry=_read_seed(directory / "inquiry.key"),
        server=_read_seed(directory / "server.key"),
        hq_public=VerifyKey.from_hex((directory / "hq.pub").read_text(encoding="ascii").strip()),
        registry_public=VerifyKey.from_hex(
            (directory / "registry.pub").read_text(encoding="ascii").strip()
        ),
        hq=optional.get("hq"),
        registry=optional.get("registry"),
    )
