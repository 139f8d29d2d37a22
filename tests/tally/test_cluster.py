"""`evote verify` and `evote tally totals` on a Dask cluster, partitioned by
station: the same verdicts and totals as in one process, failures named by the
same file, line and tracking code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tally.cli import tally, verify
from tally.cluster import station_segments
from tally.errors import RecordError, VerificationFailure
from tally.pipeline import compute_totals
from tally.record import ENTRIES, RECEIPTS, TOTALS, Record
from tally.verifier import verify_record
from tally.verify_board import NumberedLines, verify_signed_batch


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A LocalCluster of two single-threaded worker processes, joined by address as
    `--scheduler tcp://HOST:8786` joins a cluster of several machines."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield str(cluster.scheduler_address)


def _outcome(
    root: Path, scheduler: str | None = None
) -> tuple[str, str, str, str] | list[tuple[str, int]]:
    try:
        return [(r.name, r.count) for r in verify_record(root, scheduler=scheduler)]
    except VerificationFailure as failure:
        return (failure.check, failure.location, failure.code, failure.detail)


def test_segments_cover_the_board_file_each_within_one_station(pristine_record: Path) -> None:
    path = pristine_record / ENTRIES
    lines = path.read_bytes().splitlines(keepends=True)
    segments = list(station_segments(path, max_lines=2))
    assert b"".join(path.read_bytes()[s.start : s.end] for s in segments) == path.read_bytes()
    for segment in segments:
        chunk = path.read_bytes()[segment.start : segment.end].splitlines()
        assert 1 <= len(chunk) <= 2
        assert len({json.loads(line)["station_id"] for line in chunk}) == 1
        assert lines[segment.first_line - 1].rstrip(b"\n") == chunk[0]


def test_an_honest_record_gets_the_same_verdict_on_the_cluster(
    pristine_record: Path, scheduler: str
) -> None:
    alone = _outcome(pristine_record)
    assert isinstance(alone, list)
    assert _outcome(pristine_record, scheduler=scheduler) == alone


def test_a_changed_ballot_is_named_alike_by_line_and_tracking_code(
    record_copy: Path, scheduler: str
) -> None:
    lines = (record_copy / ENTRIES).read_text(encoding="utf-8").splitlines()
    index = len(lines) - 3
    marker = '"alpha":"'
    at = lines[index].index(marker) + len(marker) + 10
    lines[index] = (
        lines[index][:at] + ("0" if lines[index][at] != "0" else "1") + lines[index][at + 1 :]
    )
    (record_copy / ENTRIES).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    alone = _outcome(record_copy)
    assert isinstance(alone, tuple)
    assert alone[1] == f"{ENTRIES}:{index + 1}"
    code = json.loads(lines[index])["payload"]["payload"]["body"]["tracking_code"]
    assert f"tracking code {code}" in alone[3]
    assert _outcome(record_copy, scheduler=scheduler) == alone


@pytest.mark.parametrize("change", ["signature", "payload", "not-json", "second-copy"])
def test_a_broken_receipt_is_named_alike_when_the_cluster_checks_receipts(
    record_copy: Path, scheduler: str, change: str
) -> None:
    """Receipts' signatures are checked on the workers: a broken one must stop the
    run at the same line, check and code as in one process."""
    path = record_copy / RECEIPTS
    lines = path.read_text(encoding="utf-8").splitlines()
    index = len(lines) // 2
    envelope = json.loads(lines[index])
    if change == "signature":
        flipped = "0" if envelope["signature"][5] != "0" else "1"
        envelope["signature"] = envelope["signature"][:5] + flipped + envelope["signature"][6:]
        lines[index] = json.dumps(envelope, separators=(",", ":"), sort_keys=True)
    elif change == "payload":
        envelope["payload"]["received_at"] += 1
        lines[index] = json.dumps(envelope, separators=(",", ":"), sort_keys=True)
    elif change == "not-json":
        lines[index] = lines[index][:-1]
    else:
        lines.append(lines[index])
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    alone = _outcome(record_copy)
    assert isinstance(alone, tuple)
    line = len(lines) if change == "second-copy" else index + 1
    assert alone[:2] == ("receipts" if change == "second-copy" else "receipt", f"{RECEIPTS}:{line}")
    assert _outcome(record_copy, scheduler=scheduler) == alone


def test_a_worker_returns_the_receipts_before_the_first_broken_one_and_its_failure(
    pristine_record: Path,
) -> None:
    server_key = Record(pristine_record).election["server_public_key"]
    lines = list(Record(pristine_record).lines(RECEIPTS))[:3]
    broken = (lines[1][0], lines[1][1].replace('"receipt"', '"ballot"', 1))
    batch = verify_signed_batch(
        NumberedLines([lines[0], broken, lines[2]]), (RECEIPTS, "receipt", server_key)
    )
    assert [location for location, _ in batch.verified] == [f"{RECEIPTS}:{lines[0][0]}"]
    assert batch.failure is not None
    assert batch.failure[0] == f"{RECEIPTS}:{lines[1][0]}"


def test_the_cli_starts_a_local_cluster_for_several_workers(pristine_record: Path) -> None:
    result = CliRunner().invoke(verify, [str(pristine_record), "--workers", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("record verified")


def test_totals_summed_on_the_cluster_equal_the_totals_summed_alone(
    pristine_record: Path, scheduler: str
) -> None:
    alone = compute_totals(Record(pristine_record)).to_json()
    assert compute_totals(Record(pristine_record), scheduler=scheduler).to_json() == alone
    assert alone == json.loads((pristine_record / TOTALS).read_text(encoding="utf-8"))


def test_a_malformed_ballot_stops_the_cluster_tally_at_its_line(
    record_copy: Path, scheduler: str
) -> None:
    lines = (record_copy / ENTRIES).read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if '"kind":"ballot"' in line and i > 2)
    entry = json.loads(lines[index])
    del entry["payload"]["payload"]["body"]["ballot"]["contests"][0]["blank"]
    lines[index] = json.dumps(entry, separators=(",", ":"), sort_keys=True)
    (record_copy / ENTRIES).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(RecordError) as alone:
        compute_totals(Record(record_copy))
    with pytest.raises(RecordError) as on_cluster:
        compute_totals(Record(record_copy), scheduler=scheduler)
    assert alone.value.location == on_cluster.value.location == f"{ENTRIES}:{index + 1}"


def test_the_tally_cli_sums_on_a_running_cluster(record_copy: Path, scheduler: str) -> None:
    expected = (record_copy / TOTALS).read_text(encoding="utf-8")
    (record_copy / TOTALS).unlink()
    result = CliRunner().invoke(tally, ["totals", str(record_copy), "--scheduler", scheduler])
    assert result.exit_code == 0, result.output
    assert json.loads((record_copy / TOTALS).read_text(encoding="utf-8")) == json.loads(expected)
