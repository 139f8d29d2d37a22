"""Trustee secrets at rest: argon2id-derived key + XSalsa20-Poly1305 (PyNaCl SecretBox).

A trustee's polynomial, box key, signing key and combined secret share must
never leave its machine in the clear; on disk they are sealed under the
trustee's passphrase. The KDF cost is stored in the file so that tests can use
the interactive cost while ceremonies default to the moderate one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils

from crypto.canonical import canonical_json, parse_json
from crypto.errors import DecodingError
from crypto.hexcodec import bytes_from_hex
from tally.errors import KeystoreError

SECRET_FORMAT: Final = "evote-trustee-secret/1"
KDF_STRENGTHS: Final = {
    "interactive": (
        nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
        nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
    ),
    "moderate": (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
    "sensitive": (
        nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE,
        nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE,
    ),
}
_SALT_BYTES: Final = nacl.pwhash.argon2id.SALTBYTES


def _derive(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    if not passphrase:
        raise KeystoreError("an empty passphrase is not allowed", code="empty_passphrase")
    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )


def write_secret(
    path: Path, document: dict[str, Any], passphrase: bytes, strength: str = "moderate"
) -> None:
    """Seal ``document`` under ``passphrase`` and write it readable by the owner only."""
    if strength not in KDF_STRENGTHS:
        raise KeystoreError(f"unknown KDF strength {strength!r}", code="bad_kdf_strength")
    opslimit, memlimit = KDF_STRENGTHS[strength]
    salt = nacl.utils.random(_SALT_BYTES)
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    sealed = {
        "format": SECRET_FORMAT,
        "kdf": "argon2id",
        "opslimit": opslimit,
        "memlimit": memlimit,
        "salt": salt.hex(),
        "box": bytes(box.encrypt(canonical_json(document))).hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(canonical_json(sealed))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def read_secret(path: Path, passphrase: bytes) -> dict[str, Any]:
    """Open a sealed file; a wrong passphrase and a tampered file look the same on purpose."""
    try:
        sealed = parse_json(path.read_bytes())
    except FileNotFoundError as error:
        raise KeystoreError(f"{path}: no such secret file", code="secret_missing") from error
    except DecodingError as error:
        raise KeystoreError(f"{path}: {error}", code="secret_malformed") from error
    if not isinstance(sealed, dict) or sealed.get("format") != SECRET_FORMAT:
        raise KeystoreError(f"{path}: not an {SECRET_FORMAT} file", code="secret_malformed")
    try:
        opslimit, memlimit = int(sealed["opslimit"]), int(sealed["memlimit"])
        salt = bytes_from_hex(sealed["salt"], _SALT_BYTES, "salt")
        ciphertext = bytes.fromhex(sealed["box"])
    except (KeyError, TypeError, ValueError, DecodingError) as error:
        raise KeystoreError(f"{path}: malformed secret file", code="secret_malformed") from error
    box = nacl.secret.SecretBox(_derive(passphrase, salt, opslimit, memlimit))
    try:
        document = parse_json(box.decrypt(ciphertext))
    except nacl.exceptions.CryptoError as error:
        raise KeystoreError(
            f"{path}: wrong passphrase or damaged file", code="wrong_passphrase"
        ) from error
    if not isinstance(document, dict):
        raise KeystoreError(f"{path}: sealed content is not an object", code="secret_malformed")
    return document
