"""Tally benchmark: sum, decrypt and verify a record of standard ballots.

Prints ONE JSON line. The record (Majlis up-to-3-of-10 + Experts 1-of-8 over
``--stations`` stations) is generated once with a process pool and cached
under the temp directory, keyed by its parameters and by a hash of the code
that writes and checks records (``record_cache.py``), because encrypting 10,000
ballots takes longer than everything measured here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import click
from record_cache import code_version
from sizes import marked, size

from evote.manifest import Manifest
from tally.ceremony import Workspace, decrypt, run_ceremony
from tally.pipeline import SHARES_FORMAT, compute_totals, decrypt_and_build, write_results
from tally.record import SHARES, TOTALS, Record
from tally.testing import build_record, random_votes, synthetic_manifest
from tally.verifier import verify_record

PASSPHRASES = {1: b"bench one", 2: b"bench two", 3: b"bench three"}


def _prepare(ballots: int, stations: int) -> Path:
    """The cached ceremony + record directory for these parameters (built if missing)."""
    cache = Path(tempfile.gettempdir()) / f"evote-bench-tally-{code_version()}-{ballots}-{stations}"
    if (cache / "complete").exists():
        return cache
    shutil.rmtree(cache, ignore_errors=True)
    document = synthetic_manifest(stations)
    ceremony = run_ceremony(document, PASSPHRASES, cache / "ceremony", strength="interactive")
    votes = random_votes(Manifest.from_json(document), ballots, seed=ballots)
    build_record(cache / "record", ceremony, document, votes, workers=os.cpu_count() or 1)
    (cache / "complete").write_text("ok\n", encoding="ascii")
    return cache


def _verify_rate(root: Path, ballots: int, workers: int) -> float:
    started = time.perf_counter()
    verify_record(root, workers=workers)
    return ballots / (time.perf_counter() - started)


@click.command()
@click.option("--ballots", type=click.IntRange(1), default=size(10_000, 8))
@click.option("--stations", type=click.IntRange(1), default=size(20, 2))
def main(ballots: int, stations: int) -> None:
    """Print {"bench": "tally", ...} for ``--ballots`` ballots over ``--stations`` stations."""
    cache = _prepare(ballots, stations)
    record = Record(cache / "record")
    started = time.perf_counter()
    totals = compute_totals(record)
    tally_ms = (time.perf_counter() - started) * 1000
    record.write_json(TOTALS, totals.to_json())
    exchange = cache / "ceremony" / "exchange"
    envelopes = []
    started = time.perf_counter()
    for index in (1, 2):
        workspace = Workspace(index, cache / "ceremony" / f"trustee-{index}", exchange)
        envelopes.append(decrypt(workspace, PASSPHRASES[index], totals))
    trustee_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    results = decrypt_and_build(record, totals, envelopes)
    decrypt_ms = (time.perf_counter() - started) * 1000
    record.write_json(
        SHARES, {"format": SHARES_FORMAT, "envelopes": [item.to_json() for item in envelopes]}
    )
    write_results(record, record.manifest, results)
    rate_1 = _verify_rate(record.root, ballots, 1)
    rate_2 = _verify_rate(record.root, ballots, 2)
    line = {
        "bench": "tally",
        "ballots": ballots,
        "stations": stations,
        "tally_ms": round(tally_ms),
        "decrypt_ms": round(decrypt_ms),
        "trustee_shares_ms": round(trustee_ms),
        "verify_ballots_per_s_1": round(rate_1, 1),
        "verify_ballots_per_s_2": round(rate_2, 1),
        "verify_speedup_2": round(rate_2 / rate_1, 2),
        "tally_share_of_verify": round((tally_ms + decrypt_ms) / 1000 * rate_1 / ballots, 4),
    }
    sys.stdout.write(json.dumps(marked(line)) + "\n")


if __name__ == "__main__":
    main()
