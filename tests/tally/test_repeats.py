"""The spilled repeat finder behind "no ciphertext on two ballots": the same
answer as a dict in memory, at any number of buckets, and memory that does not
grow with the keys."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from tally import repeats
from tally.repeats import RepeatFinder, bucket_count, bucket_records

LINES = st.lists(st.lists(st.integers(0, 6), min_size=1, max_size=5), max_size=60)


def _in_memory(lines: list[list[bytes]]) -> tuple[bytes, int, int] | None:
    seen: dict[bytes, int] = {}
    for line, keys in enumerate(lines, start=1):
        for key in keys:
            if key in seen:
                return key, seen[key], line
            seen[key] = line
    return None


def _find(lines: list[list[bytes]], buckets: int, chunk: int) -> tuple[bytes, int, int] | None:
    numbered = [(line, key) for line, keys in enumerate(lines, start=1) for key in keys]
    with RepeatFinder(4, buckets) as finder:
        for start in range(0, len(numbered), chunk):
            finder.add_records(bucket_records(numbered[start : start + chunk], 4, buckets))
        return finder.first_repeat()


@settings(max_examples=60, deadline=None)
@given(lines=LINES, buckets=st.sampled_from([1, 2, 16]), chunk=st.integers(1, 40))
def test_the_first_repeat_is_the_one_a_dict_finds(
    lines: list[list[int]], buckets: int, chunk: int
) -> None:
    keys = [[bytes([k, 0, 0, k]) for k in line] for line in lines]  # few keys: repeats often
    found, expected = _find(keys, buckets, chunk), _in_memory(keys)
    assert (found is None) == (expected is None)
    if found and expected:
        assert found[2] == expected[2]  # the same earliest repeating line
        assert found[0] in keys[found[1] - 1] and found[0] in keys[found[2] - 1]


def test_a_key_twice_in_one_line_is_a_repeat_of_that_line() -> None:
    assert _find([[b"aaaa"], [b"bbbb", b"bbbb"]], 4, 1) == (b"bbbb", 2, 2)


def test_buckets_grow_with_the_keys_expected() -> None:
    assert bucket_count(0) == 1
    assert bucket_count(10 * repeats.KEYS_PER_BUCKET) == 16
    assert bucket_count(10**12) == repeats.MAX_BUCKETS


_PEAK = """
import os, sys, tracemalloc
from tally import repeats
repeats.KEYS_PER_BUCKET, repeats.BUFFER_BYTES = 5_000, 1 << 16
keys = int(sys.argv[1])
tracemalloc.start()
with repeats.RepeatFinder(32, repeats.bucket_count(keys)) as finder:
    for start in range(0, keys, 1000):
        chunk = [(n // 20 + 1, os.urandom(32)) for n in range(start, start + 1000)]
        finder.add_records(repeats.bucket_records(chunk, 32, finder.buckets))
        del chunk
    assert finder.first_repeat() is None and finder.count == keys
print(tracemalloc.get_traced_memory()[1])
"""


def test_memory_stays_flat_while_the_keys_grow_tenfold() -> None:
    """Keys spill to disk: ten times the keys, not ten times the memory (a dict of
    the same keys grows tenfold). Measured in a process of its own, where no other
    thread allocates."""
    peaks = [
        int(
            subprocess.run(
                [sys.executable, "-c", _PEAK, str(keys)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for keys in (20_000, 200_000)
    ]
    assert peaks[1] < 2 * peaks[0], peaks
