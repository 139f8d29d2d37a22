"""Find a key that occurs twice among very many, in memory that does not grow.

The verifier must know that no ciphertext alpha appears twice on the board:
twenty 32-byte keys per ballot, 1.2 billion for a national election. Held in
one dict that is several KB per ballot — the verifier's memory would grow with
the record. Instead each key, with the line it came from, is sorted into a
bucket by its leading bytes (an alpha is a curve point's encoding, so those are
uniform) where it is found — by the worker that checked the entry, so the
parent only appends each chunk's bucket records to the bucket's file — and each
bucket is then checked alone: memory is one bucket's keys plus the write
buffers, whatever the record's size; the disk holds ``width + 8`` bytes per key
until the check.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Final

BUFFER_BYTES: Final = 1 << 22
"""Write buffers together, across all buckets."""
KEYS_PER_BUCKET: Final = 100_000
"""Keys one bucket is sized for: what the check holds in memory at once."""
MAX_BUCKETS: Final = 1 << 16
LINE: Final = struct.Struct("<Q")


def bucket_count(expected_keys: int) -> int:
    """A power of two large enough that a bucket holds about KEYS_PER_BUCKET keys."""
    buckets = 1
    while buckets < MAX_BUCKETS and buckets * KEYS_PER_BUCKET < expected_keys:
        buckets *= 2
    return buckets


def bucket_records(keys: Iterable[tuple[int, bytes]], width: int, buckets: int) -> dict[int, bytes]:
    """(line, key) pairs, in line order, as each bucket's records (key, then line)."""
    sorted_out: dict[int, bytearray] = {}
    for line, key in keys:
        if len(key) != width:
            raise ValueError(f"a key is {width} bytes, got {len(key)}")
        bucket = int.from_bytes(key[:3], "big") % buckets
        sorted_out.setdefault(bucket, bytearray()).extend(key + LINE.pack(line))
    return {bucket: bytes(data) for bucket, data in sorted_out.items()}


class RepeatFinder:
    """Each bucket's records, appended in line order; ``first_repeat`` names the
    earliest line holding a key that an earlier line (or the same line) holds too."""

    def __init__(self, width: int, buckets: int) -> None:
        self.width, self.buckets = width, buckets
        self.record = width + LINE.size
        self._flush_at = max(self.record, BUFFER_BYTES // buckets)
        self._directory = tempfile.TemporaryDirectory(prefix="evote-repeats-")
        self._buffers: dict[int, bytearray] = {}
        self.count = 0

    def __enter__(self) -> RepeatFinder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._directory.cleanup()

    def _path(self, bucket: int) -> Path:
        return Path(self._directory.name) / f"{bucket:05d}"

    def add_records(self, records: dict[int, bytes]) -> None:
        """``bucket_records`` of the next lines (chunks must come in line order)."""
        for bucket, data in records.items():
            buffer = self._buffers.setdefault(bucket, bytearray())
            buffer += data
            self.count += len(data) // self.record
            if len(buffer) >= self._flush_at:
                self._flush(bucket)

    def _flush(self, bucket: int) -> None:
        buffer = self._buffers.pop(bucket, None)
        if buffer:
            with self._path(bucket).open("ab") as handle:
                handle.write(buffer)

    def first_repeat(self) -> tuple[bytes, int, int] | None:
        """(key, first line, repeating line) with the smallest repeating line, or None."""
        for bucket in list(self._buffers):
            self._flush(bucket)
        best: tuple[bytes, int, int] | None = None
        for bucket in range(self.buckets):
            path = self._path(bucket)
            if not path.exists():
                continue
            data = path.read_bytes()
            keys = [data[at : at + self.width] for at in range(0, len(data), self.record)]
            if len(set(keys)) == len(keys):  # the common case, without a loop in Python
                continue
            seen: dict[bytes, int] = {}
            for at in range(0, len(data), self.record):
                key = data[at : at + self.width]
                (line,) = LINE.unpack_from(data, at + self.width)
                first = seen.get(key)
                if first is None:
                    seen[key] = line
                    continue
                if best is None or line < best[2]:
                    best = (key, first, line)
                break  # a bucket's records are in line order: its first repeat is its earliest
        return best
