"""ristretto255 (RFC 9496): a prime-order group over Curve25519, through libsodium.

Points are immutable 32-byte encodings; scalars are Python ints reduced mod
``ORDER``. Every encoding that comes from outside goes through
``Point.from_bytes``, which accepts only canonical ristretto255 encodings. Each
of those is an element of the prime-order group, so validating a point is a
decoding, not a subgroup check, and no cofactor is left for a protocol to get
wrong (``docs/crypto.md`` has why this group replaced Ed25519 points).

libsodium refuses to return the identity from a scalar multiplication and
refuses the identity as a multiplication's input, yet the identity is a
legitimate value in this system (g^0 is the plaintext of a zero total, a blank
selection's message). So multiplication handles a zero scalar and the identity
before calling libsodium; addition and subtraction take it as it is.

The operations call libsodium through cffi directly (``crypto/ristretto255.py``):
a tally does millions of additions, and a wrapper's argument checks and buffer
copies would cost a sizeable share of each. Each call allocates its own output
buffer, because cffi releases the GIL during the C call, so a shared buffer
would race between threads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Final

from crypto.errors import InvalidPoint, InvalidScalar
from crypto.hexcodec import bytes_from_hex
from crypto.ristretto255 import ffi as _ffi
from crypto.ristretto255 import lib as _lib

ORDER: Final = 2**252 + 27742317777372353535851937790883648493
"""ℓ, the order of the group."""

POINT_BYTES: Final = 32
SCALAR_BYTES: Final = 32

_IDENTITY_BYTES: Final = bytes(32)


def _call(function: Callable[..., int], *inputs: bytes) -> bytes:
    """Run a libsodium point function into a fresh 32-byte buffer; -1 means a bad point.

    libsodium refuses inputs that are not canonical encodings and, for
    multiplication, an identity input or output. Validated points and nonzero
    scalars never trigger either, so a failure here means a Point was built
    around unvalidated bytes.
    """
    output = _ffi.new("unsigned char[32]")
    if function(output, *inputs) != 0:
        raise InvalidPoint("libsodium refused the point (not a canonical ristretto255 encoding)")
    result: bytes = _ffi.buffer(output)[:]
    return result


def _base_bytes() -> bytes:
    return _call(_lib.crypto_scalarmult_ristretto255_base, (1).to_bytes(SCALAR_BYTES, "little"))


_BASE_BYTES: Final = _base_bytes()


class Point:
    """An element of the group (or the identity)."""

    __slots__ = ("_encoded",)

    def __init__(self, encoded: bytes) -> None:
        # Trusted construction: callers outside this module use from_bytes.
        self._encoded = encoded

    @classmethod
    def from_bytes(cls, encoded: bytes, *, allow_identity: bool = True) -> Point:
        """Decode and validate a point received from outside.

        The top bit is checked here because libsodium 1.0.18 (Debian 12's) ignores
        it when decoding: without the check every element would have a second
        encoding, and one ballot two tracking codes. RFC 9496 requires the refusal.
        """
        if not isinstance(encoded, bytes | bytearray) or len(encoded) != POINT_BYTES:
            raise InvalidPoint("a point is exactly 32 bytes")
        encoded = bytes(encoded)
        if encoded == _IDENTITY_BYTES:
            if not allow_identity:
                raise InvalidPoint("the identity is not allowed here")
            return IDENTITY
        if encoded[31] & 0x80 or _lib.crypto_core_ristretto255_is_valid_point(encoded) != 1:
            raise InvalidPoint(
                "not a canonical ristretto255 encoding "
                "(top bit set, non-canonical or negative field element, or no element's encoding)"
            )
        return cls(encoded)

    @classmethod
    def from_hex(cls, text: object, *, allow_identity: bool = True) -> Point:
        return cls.from_bytes(
            bytes_from_hex(text, POINT_BYTES, "point"), allow_identity=allow_identity
        )

    def to_bytes(self) -> bytes:
        return self._encoded

    def hex(self) -> str:
        return self._encoded.hex()

    @property
    def is_identity(self) -> bool:
        return self._encoded == _IDENTITY_BYTES

    def __add__(self, other: Point) -> Point:
        if self._encoded == _IDENTITY_BYTES:
            return other
        if other._encoded == _IDENTITY_BYTES:
            return self
        return Point(_call(_lib.crypto_core_ristretto255_add, self._encoded, other._encoded))

    def __sub__(self, other: Point) -> Point:
        if other._encoded == _IDENTITY_BYTES:
            return self
        return Point(_call(_lib.crypto_core_ristretto255_sub, self._encoded, other._encoded))

    def __neg__(self) -> Point:
        return IDENTITY - self

    def __rmul__(self, scalar: int) -> Point:
        return self.multiply(scalar)

    def multiply(self, scalar: int) -> Point:
        """Return scalar·self (libsodium decodes self again: a Point built around
        unvalidated bytes fails here rather than yielding a wrong product)."""
        scalar %= ORDER
        if scalar == 0 or self._encoded == _IDENTITY_BYTES:
            return IDENTITY
        if self._encoded == _BASE_BYTES:
            return base_mul(scalar)
        return Point(
            _call(_lib.crypto_scalarmult_ristretto255, scalar_to_bytes(scalar), self._encoded)
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and other._encoded == self._encoded

    def __hash__(self) -> int:
        return hash(self._encoded)

    def __repr__(self) -> str:
        return f"Point({self._encoded.hex()})"


IDENTITY: Final = Point(_IDENTITY_BYTES)
G: Final = Point(_BASE_BYTES)
"""The standard ristretto255 generator (RFC 9496, ``e2f2…76``); the ElGamal generator."""


def add_in_constant_work(first: Point, second: Point) -> Point:
    """first + second, always through libsodium, even when an operand is the identity.

    ``+`` skips libsodium for an identity operand, which is right for public
    values but would make adding a secret 0·G measurably faster than adding a
    secret 1·G. libsodium's addition accepts the identity as an input.
    """
    return Point(_call(_lib.crypto_core_ristretto255_add, first._encoded, second._encoded))


def scalar_to_bytes(scalar: int) -> bytes:
    return (scalar % ORDER).to_bytes(SCALAR_BYTES, "little")


def scalar_from_bytes(encoded: bytes) -> int:
    """Decode a canonical scalar (little-endian, strictly below ORDER)."""
    if len(encoded) != SCALAR_BYTES:
        raise InvalidScalar("a scalar is exactly 32 bytes")
    value = int.from_bytes(encoded, "little")
    if value >= ORDER:
        raise InvalidScalar("scalar is not reduced below the group order")
    return value


def scalar_from_hex(text: object) -> int:
    return scalar_from_bytes(bytes_from_hex(text, SCALAR_BYTES, "scalar"))


def scalar_hex(scalar: int) -> str:
    return scalar_to_bytes(scalar).hex()


def base_mul(scalar: int) -> Point:
    """scalar·G using libsodium's fixed-base tables (several times faster than multiply)."""
    scalar %= ORDER
    if scalar == 0:
        return IDENTITY
    if scalar == 1:
        return G
    return Point(_call(_lib.crypto_scalarmult_ristretto255_base, scalar_to_bytes(scalar)))


def random_scalar(random_bytes: bytes | None = None) -> int:
    """A uniform nonzero scalar from 64 bytes of OS randomness (or given bytes, for vectors)."""
    source = random_bytes if random_bytes is not None else os.urandom(64)
    value = int.from_bytes(hashlib.blake2b(source, digest_size=64).digest(), "little") % ORDER
    return value or 1


GENERATOR_DOMAIN: Final = b"evote/generator/v2/"


def derive_generator(label: str) -> Point:
    """An independent generator nobody knows a discrete log of.

    Derivation (published in docs/crypto.md): BLAKE2b-512 of
    ``b"evote/generator/v2/" + label`` fed to ristretto255's hash-to-group
    (``crypto_core_ristretto255_from_hash``, RFC 9496 §4.3.4: two Elligator
    maps added), whose output is uniform in the group with no known logarithm.
    """
    uniform = hashlib.blake2b(GENERATOR_DOMAIN + label.encode("utf-8"), digest_size=64).digest()
    return Point(_call(_lib.crypto_core_ristretto255_from_hash, uniform))
