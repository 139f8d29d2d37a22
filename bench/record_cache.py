"""The cache key of records the benchmarks generate once and reuse.

A record cached by one version of the code must never be measured by another
(a changed entry format would fail, or worse, pass on stale files): the key
holds a hash of every source file that writes or checks a record.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
RECORD_PACKAGES = ("crypto", "evote", "tally")


def code_version() -> str:
    digest = hashlib.blake2b(digest_size=8)
    for package in RECORD_PACKAGES:
        for path in sorted((REPOSITORY / package).rglob("*.py")):
            digest.update(str(path.relative_to(REPOSITORY)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
