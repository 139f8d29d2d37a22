"""The election's signing keys and where they live in the data dir.

HQ signs the manifest, the registry signs card certificates, the inquiry
service signs authorizations and QR passes, the server signs receipts, reports
and national roots. In the demo one data dir holds all four. In production each
host holds only the private keys of what it runs (``KeySet.for_services``):
an intake host ``server.key``, an inquiry host ``inquiry.key`` (a compromised
intake host cannot mint authorizations, nor an inquiry host sign receipts),
both with every public key (``*.pub``); HQ and the registry keep ``hq.key``
and ``registry.key`` elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from crypto.hexcodec import bytes_from_hex
from crypto.signing import SigningKey, VerifyKey

ROLES = ("hq", "registry", "inquiry", "server")


class KeyProblem(Exception):
    """A key dir cannot serve what it was asked to: the CLI reports it in one line."""

    code = "key_problem"


class MissingKey(KeyProblem):
    """This host does not hold a private key that what it was asked to run needs."""

    code = "missing_key"

    def __init__(self, role: str) -> None:
        super().__init__(f"this host holds no {role}.key (needed to sign as the {role})")
        self.role = role


class KeyMismatch(KeyProblem):
    """A key dir disagrees with itself (``<role>.pub`` is not the public half of
    ``<role>.key``) or with the election (the key it names is not this host's)."""

    code = "key_mismatch"

    def __init__(self, role: str, against: str = "") -> None:
        against = against or f"the public key of {role}.key"
        super().__init__(f"{role}.pub is not {against}")
        self.role = role


@dataclass(frozen=True)
class KeySet:
    """Private keys this host holds, and the public keys it trusts."""

    inquiry_public: VerifyKey
    server_public: VerifyKey
    hq_public: VerifyKey
    registry_public: VerifyKey
    inquiry_key: SigningKey | None = None
    server_key: SigningKey | None = None
    hq: SigningKey | None = None
    registry: SigningKey | None = None

    @classmethod
    def generate(cls) -> KeySet:
        inquiry, server, hq, registry = (SigningKey.generate() for _ in ROLES)
        return cls(
            inquiry.public_key,
            server.public_key,
            hq.public_key,
            registry.public_key,
            inquiry,
            server,
            hq,
            registry,
        )

    @property
    def inquiry(self) -> SigningKey:
        """The inquiry's signing key (authorizations, passes), or MissingKey."""
        if self.inquiry_key is None:
            raise MissingKey("inquiry")
        return self.inquiry_key

    @property
    def server(self) -> SigningKey:
        """The server's signing key (receipts, reports, national roots, audit), or MissingKey."""
        if self.server_key is None:
            raise MissingKey("server")
        return self.server_key

    def for_services(self, services: tuple[str, ...]) -> KeySet:
        """The keys a host running ``services`` holds: the public ones, and the private
        key of each service it runs (HQ's and the registry's never)."""
        return replace(
            self,
            inquiry_key=self.inquiry_key if "inquiry" in services else None,
            server_key=self.server_key if "intake" in services else None,
            hq=None,
            registry=None,
        )


def _write_secret(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # O_CREAT's mode applies to new files only
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")


def save_keys(directory: Path, keys: KeySet) -> None:
    """Write every public key and the seeds (mode 0600) of the private keys held."""
    directory.mkdir(parents=True, exist_ok=True)
    held = {
        "inquiry": (keys.inquiry_public, keys.inquiry_key),
        "server": (keys.server_public, keys.server_key),
        "hq": (keys.hq_public, keys.hq),
        "registry": (keys.registry_public, keys.registry),
    }
    for name, (public, private) in held.items():
        (directory / f"{name}.pub").write_text(public.hex() + "\n", encoding="ascii")
        if private is not None:
            _write_secret(directory / f"{name}.key", private.seed.hex())


def _read_seed(path: Path) -> SigningKey:
    return SigningKey(bytes_from_hex(path.read_text(encoding="ascii").strip(), 32, str(path)))


def load_keys(directory: Path) -> KeySet:
    """Read a key directory written by ``save_keys`` (any subset of private keys)."""
    private = {
        name: _read_seed(directory / f"{name}.key")
        for name in ROLES
        if (directory / f"{name}.key").exists()
    }

    def public(name: str) -> VerifyKey:
        path = directory / f"{name}.pub"
        held = private.get(name)
        if not path.exists():
            if held is None:
                raise FileNotFoundError(f"{path}: no public key")
            return held.public_key  # a directory written before the .pub files were
        key = VerifyKey.from_hex(path.read_text(encoding="ascii").strip())
        if held is not None and held.public_key != key:
            raise KeyMismatch(name)
        return key

    return KeySet(
        inquiry_public=public("inquiry"),
        server_public=public("server"),
        hq_public=public("hq"),
        registry_public=public("registry"),
        inquiry_key=private.get("inquiry"),
        server_key=private.get("server"),
        hq=private.get("hq"),
        registry=private.get("registry"),
    )
