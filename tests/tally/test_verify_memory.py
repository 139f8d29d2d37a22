"""The verifier's process does not grow with the board: four times the entries,
about the same peak memory over the board-wide checks (the facts of every entry
wait on disk, ``tally/entry_store.py``, as the alphas do, ``tally/repeats.py``).

Real records, with ballots of one small contest so that building and verifying
them takes seconds; measured with tracemalloc in a process of its own, where no
other thread allocates, from the first ballot to the board's last check.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evote.manifest import Manifest
from tally.ceremony import run_ceremony
from tally.testing import build_record, random_votes, synthetic_manifest

SMALL_BALLOTS = 100

_PEAK = """
import gc, sys, tracemalloc
from pathlib import Path
from tally import repeats, verify_receipts
from tally.verifier import Verifier

# The alphas' write buffers, the bucket read at once and the receipts matched at once
# are bounded (4 MB, 100,000 keys, 500 receipts), not flat below their bounds: shrunk
# so the bounds are reached at these sizes.
# CPython's free lists (up to 2,000 tuples of each size, kept for reuse) fill as the
# ballots are checked, bounded too: gc.collect() empties them before each measure.
repeats.KEYS_PER_BUCKET, repeats.BUFFER_BYTES = 500, 1 << 14
verify_receipts.RECEIPT_BATCH = 20


class Measured(Exception):
    pass


def echo(line):
    if line.startswith("ok    polls closed"):  # the last check before the ballots
        gc.collect()
        tracemalloc.start()
    elif line.startswith("ok    authorizations unexpired"):  # the ballots' last
        gc.collect()
        tracemalloc.reset_peak()
    elif line.startswith("ok    stations reconciled"):  # the board's last
        print(tracemalloc.get_traced_memory()[1])
        raise Measured


try:
    Verifier(Path(sys.argv[1]), echo=echo).run()
except Measured:
    pass
"""


def _one_small_contest(document: dict[str, Any]) -> dict[str, Any]:
    """The manifest with only its single-seat contest, cut to three candidates."""
    contest = next(item for item in document["contests"] if item["votes_allowed"] == 1)
    contest["candidates"] = contest["candidates"][:3]
    document["contests"] = [contest]
    for style in document["ballot_styles"]:
        style["contest_ids"] = [contest["id"]]
    return document


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Records of SMALL_BALLOTS and four times as many ballots, of the same stations."""
    work = tmp_path_factory.mktemp("memory")
    document = _one_small_contest(synthetic_manifest(stations=4))
    ceremony = run_ceremony(
        document, {1: b"one", 2: b"two", 3: b"three"}, work / "ceremony", strength="interactive"
    )
    roots = []
    for ballots in (SMALL_BALLOTS, 4 * SMALL_BALLOTS):
        root = work / f"record-{ballots}"
        votes = random_votes(Manifest.from_json(document), ballots, challenged_every=6)
        build_record(root, ceremony, document, votes, terminals_per_station=2)
        roots.append(root)
    return roots


def test_the_verifiers_memory_does_not_grow_with_the_number_of_entries(
    records: list[Path],
) -> None:
    peaks = [
        int(
            subprocess.run(
                [sys.executable, "-c", _PEAK, str(root)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for root in records
    ]
    assert peaks[1] <= 1.3 * peaks[0], peaks
