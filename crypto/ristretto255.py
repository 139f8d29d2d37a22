"""libsodium's ristretto255 functions, loaded from the system's libsodium.

PyNaCl bundles a libsodium but exposes no ristretto255 function (its static
build even drops the symbols), so the group is called through the operating
system's shared library instead (Debian and Raspberry Pi OS: ``libsodium23``,
libsodium 1.0.18 or later, kept patched by the distribution). cffi's ABI mode
opens it without a compiler or headers; cffi already comes with PyNaCl.

Why ristretto255 rather than Ed25519 points (``docs/crypto.md``): every
ristretto255 encoding decodes to an element of a prime-order group, so
validating a point is one decoding (about 7 µs here) instead of a subgroup
check by multiplication (about 74 µs), and libsodium's variable-base
multiplication does not repeat that check on every call (86 µs against
127–151 µs). A ballot check is about 130 such multiplications and 40
decodings.
"""

from __future__ import annotations

import ctypes.util
from typing import Any, Final

import cffi

from crypto.errors import CryptoError

_DECLARATIONS: Final = """
int sodium_init(void);
int sodium_library_version_major(void);
int sodium_library_version_minor(void);
int crypto_core_ristretto255_is_valid_point(const unsigned char *p);
int crypto_core_ristretto255_add(unsigned char *r, const unsigned char *p, const unsigned char *q);
int crypto_core_ristretto255_sub(unsigned char *r, const unsigned char *p, const unsigned char *q);
int crypto_core_ristretto255_from_hash(unsigned char *p, const unsigned char *r);
int crypto_scalarmult_ristretto255(unsigned char *q, const unsigned char *n,
                                   const unsigned char *p);
int crypto_scalarmult_ristretto255_base(unsigned char *q, const unsigned char *n);
"""

_SONAMES: Final = ("libsodium.so.23", "libsodium.so.26", "libsodium.dylib")
_MINIMUM_LIBRARY_VERSION: Final = (10, 3)
"""libsodium's library version of 1.0.18, the first release with ristretto255."""


class LibsodiumUnavailable(CryptoError):
    """The system's libsodium is missing or older than 1.0.18."""

    code = "libsodium_unavailable"


def _open(ffi: cffi.FFI) -> Any:
    found = ctypes.util.find_library("sodium")
    for name in (*_SONAMES, *((found,) if found else ())):
        try:
            return ffi.dlopen(name)
        except OSError:
            continue
    raise LibsodiumUnavailable(
        "the system's libsodium (1.0.18 or later) was not found: "
        "install it (Debian: apt-get install libsodium23)"
    )


def _load() -> tuple[cffi.FFI, Any]:
    ffi = cffi.FFI()
    ffi.cdef(_DECLARATIONS)
    lib = _open(ffi)
    if lib.sodium_init() < 0:
        raise LibsodiumUnavailable("libsodium failed to initialise")
    version = (lib.sodium_library_version_major(), lib.sodium_library_version_minor())
    if version < _MINIMUM_LIBRARY_VERSION:
        raise LibsodiumUnavailable(
            f"libsodium library version {version[0]}.{version[1]} has no ristretto255: "
            "1.0.18 or later is needed"
        )
    return ffi, lib


ffi, lib = _load()
