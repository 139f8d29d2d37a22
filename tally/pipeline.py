"""HQ's tally: encrypted totals from a record, then decryption and results into it.

Two steps because the trustees act in between: ``write_totals`` produces
``tally/encrypted_totals.json`` for them; ``finish_tally`` combines the
decryption shares they return and writes ``tally/decryption_shares.json``
and ``results/*``. Both read only the record directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from crypto.errors import CryptoError
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SignedEnvelope, VerifyKey
from evote.manifest import Manifest
from tally.cluster import Segment, dask_client, ordered_results, read_segment
from tally.decryption import decrypt_totals
from tally.errors import RecordError, TallyError
from tally.poll_tape import render_poll_tape
from tally.provisional import PROVISIONAL, provisional_mark
from tally.record import (
    ENTRIES,
    POLL_TAPES,
    REPORT_HTML,
    RESULTS_CSV,
    RESULTS_JSON,
    SHARES,
    TOTALS,
    Record,
    cast_ballots,
    counted_ballot,
    counted_provisional,
    trustee_files,
)
from tally.report_html import render_report
from tally.results import build_results, results_csv
from tally.totals import EncryptedTotals, StationAccumulator, roll_up

SHARES_FORMAT: Final = "evote-decryption-shares/1"


@dataclass
class SegmentSums:
    """One segment's station sums, or the line and message of its first bad entry."""

    sums: StationAccumulator
    failure: tuple[str, str] | None = None


def sum_segment(path: str, segment: Segment, context: dict[str, Any]) -> SegmentSums:
    """A Dask worker's task: sum the counted ballots of one segment of the board."""
    counted = frozenset(context["counted"])
    sums = StationAccumulator()
    for number, line in read_segment(path, segment):
        try:
            found = counted_ballot(number, line, counted)
            if found is not None:
                sums.add_ballot(*found)
        except TallyError as error:
            return SegmentSums(sums, (f"{ENTRIES}:{number}", str(error)))
    return SegmentSums(sums)


def _station_sums(record: Record, workers: int, scheduler: str | None) -> StationAccumulator:
    """In this process for one worker; else on a Dask cluster, segment by segment."""
    if workers == 1 and scheduler is None:
        accumulator = StationAccumulator()
        for line, station_id, ballot in cast_ballots(record):
            try:
                accumulator.add_ballot(station_id, ballot)
            except TallyError as error:
                raise RecordError(str(error), location=f"{ENTRIES}:{line}") from error
        return accumulator
    context = {"counted": sorted(counted_provisional(record))}
    next(record.lines(ENTRIES), None)  # a missing or unreadable board fails here, by name
    accumulator = StationAccumulator()
    with dask_client(workers, scheduler) as client:
        for _, part in ordered_results(client, sum_segment, record.path(ENTRIES), context):
            if part.failure is not None:
                raise RecordError(part.failure[1], location=part.failure[0])
            accumulator.merge(part.sums)
    return accumulator


def compute_totals(
    record: Record, workers: int = 1, scheduler: str | None = None
) -> EncryptedTotals:
    """Sum every cast ballot per station and up the hierarchy (challenged ones never count).

    ``workers`` > 1 sums on a Dask LocalCluster of that many processes,
    ``scheduler`` on the running cluster there (``tally/cluster.py``); the
    totals are the same either way, as addition is.
    """
    manifest = record.manifest
    accumulator = _station_sums(record, workers, scheduler)
    try:
        stations = accumulator.station_units(manifest)
        base_hash = bytes_from_hex(record.election.get("base_hash"), 32, "base_hash")
    except (TallyError, CryptoError) as error:
        raise RecordError(str(error), location=ENTRIES) from error
    return EncryptedTotals(manifest.election_id, base_hash, tuple(roll_up(manifest, stations)))


def write_totals(
    record: Record,
    *,
    provisional: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
) -> EncryptedTotals:
    """Refused while a station is open unless ``provisional`` (then the file says so)."""
    mark = provisional_mark(record, provisional)
    totals = compute_totals(record, workers, scheduler)
    document = totals.to_json()
    if mark:
        document[PROVISIONAL] = mark
    record.write_json(TOTALS, document)
    return totals


def load_totals(record: Record) -> EncryptedTotals:
    try:
        return EncryptedTotals.from_json(record.read_json(TOTALS))
    except CryptoError as error:
        raise RecordError(str(error), location=TOTALS) from error


def trustee_signers(record: Record) -> dict[int, VerifyKey]:
    """Each trustee's signing key, from its self-signed binding in ``trustees/``."""
    signers = {}
    for index in range(1, record.manifest.trustee_count + 1):
        relative = f"trustees/{trustee_files(index)[1]}"
        signers[index] = record.read_envelope(relative).signer
    return signers


def load_share_envelopes(record: Record) -> list[SignedEnvelope]:
    document = record.read_json(SHARES)
    if not isinstance(document, dict) or document.get("format") != SHARES_FORMAT:
        raise RecordError(f"not an {SHARES_FORMAT} document", location=SHARES)
    try:
        return [SignedEnvelope.from_json(item) for item in document["envelopes"]]
    except (CryptoError, KeyError, TypeError) as error:
        raise RecordError(str(error), location=SHARES) from error


def decrypt_and_build(
    record: Record, totals: EncryptedTotals, envelopes: Sequence[SignedEnvelope]
) -> dict[str, Any]:
    """Results from totals and shares: the tally and the verifier both call exactly this."""
    manifest = record.manifest
    decryption = decrypt_totals(
        totals, envelopes, record.trustee_keys(), trustee_signers(record), manifest.quorum
    )
    return build_results(manifest, totals, decryption, manifest.quorum)


def write_results(
    record: Record, manifest: Manifest, results: dict[str, Any], *, poll_tapes: bool = True
) -> None:
    """results.json, results.csv, report.html and (optionally) a poll tape per station."""
    record.write_json(RESULTS_JSON, results)
    record.write_text(RESULTS_CSV, results_csv(results))
    record.write_text(REPORT_HTML, render_report(manifest, results))
    if poll_tapes:
        for unit in results["units"]:
            if unit["level"] == "station":
                render_poll_tape(
                    manifest,
                    unit,
                    record.path(f"{POLL_TAPES}/{unit['unit_id']}.png"),
                    provisional=PROVISIONAL in results,
                )


def finish_tally(
    record: Record,
    envelopes: Sequence[SignedEnvelope],
    *,
    poll_tapes: bool = True,
    provisional: bool = False,
) -> dict[str, Any]:
    """Combine the trustees' shares (bad ones named and skipped) and write the results.

    Refused while a station is open unless ``provisional``; then every file
    written carries the mark.
    """
    mark = provisional_mark(record, provisional)
    totals = load_totals(record)
    results = decrypt_and_build(record, totals, envelopes)
    shares: dict[str, Any] = {
        "format": SHARES_FORMAT,
        "envelopes": [item.to_json() for item in envelopes],
    }
    if mark:
        results[PROVISIONAL] = shares[PROVISIONAL] = mark
    record.write_json(SHARES, shares)
    write_results(record, record.manifest, results, poll_tapes=poll_tapes)
    return results
