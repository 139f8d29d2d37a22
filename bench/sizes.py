"""Benchmark sizes, and a quick mode that only proves each benchmark still runs.

``EVOTE_BENCH_QUICK=1`` (set by ``tests/evote/test_benchmarks.py``) shrinks every
size so that a benchmark finishes in seconds and marks its line ``"quick": true``:
its figures then mean nothing, but a change that breaks a benchmark fails the test
suite instead of the next person who measures.
"""

from __future__ import annotations

import os

QUICK = os.environ.get("EVOTE_BENCH_QUICK") == "1"


def size(full: int, quick: int) -> int:
    """``full`` for a measurement, ``quick`` in quick mode."""
    return quick if QUICK else full


def counts(full: tuple[int, ...], quick: tuple[int, ...]) -> tuple[int, ...]:
    """The worker counts to measure: ``full``, or in quick mode the fewest that still
    run every code path (one process and several)."""
    return quick if QUICK else full


def marked(line: dict[str, object]) -> dict[str, object]:
    """The benchmark's JSON line, marked when its figures come from quick mode."""
    return {**line, "quick": True} if QUICK else line
