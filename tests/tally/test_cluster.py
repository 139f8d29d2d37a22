"""`evote verify` and `evote tally totals` on a Dask cluster, partitioned by
station: the same verdicts and totals as in one process, failures named by the
same file, line and tracking code."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.canonical import MAX_DOCUMENT_BYTES
from tally import cluster
from tally.cli import tally, verify
from tally.cluster import Segment, cut_block, segments_of
from tally.errors import RecordError, VerificationFailure
from tally.pipeline import compute_totals
from tally.record import ENTRIES, RECEIPTS, TOTALS, Record
from tally.verifier import verify_record
from tally.verify_receipts import receipt_claims


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


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(["S-001", "S-002", "S-003", None]), st.text('ab"', max_size=12)),
        max_size=25,
    ),
    final_newline=st.booleans(),
    block_bytes=st.integers(1, 120),
    max_lines=st.integers(1, 4),
    by_station=st.booleans(),
)
def test_blocks_cut_the_file_into_segments_each_within_one_station_numbered_from_line_one(
    lines: list[tuple[str | None, str]],
    final_newline: bool,
    block_bytes: int,
    max_lines: int,
    by_station: bool,
) -> None:
    """Whatever the blocks cut through (a line's middle, its newline, a line longer
    than a block): the segments cover the file in order, each of one station and at
    most ``max_lines`` lines, each numbered as a pass from the start would."""
    texts = [
        json.dumps(
            {"text": text, **({"station_id": station} if station else {})}, separators=(",", ":")
        )
        for station, text in lines
    ]
    data = ("\n".join(texts) + ("\n" if final_newline and texts else "")).encode()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "entries.jsonl"
        path.write_bytes(data)
        context = (str(path), block_bytes, max_lines, by_station)
        blocks = (cut_block(start, context) for start in range(0, len(data), block_bytes))
        segments = list(segments_of(blocks))
    assert b"".join(data[s.start : s.end] for s in segments) == data
    for segment in segments:
        chunk = data[segment.start : segment.end].splitlines()
        assert 1 <= len(chunk) <= max_lines
        stations = {json.loads(line).get("station_id") for line in chunk}
        assert len(stations) == 1 or not by_station
        assert segment.first_line == data[: segment.start].count(b"\n") + 1


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


@pytest.mark.parametrize("block_bytes", [1000, 20_000])
def test_a_board_cut_in_many_blocks_gets_the_same_verdict_and_line_numbers(
    record_copy: Path, scheduler: str, block_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks smaller than a ballot (most hold no line's start) and of a few ballots
    each: the cluster still checks every entry and names a changed one by its line."""
    monkeypatch.setattr(cluster, "BLOCK_BYTES", block_bytes)
    alone = _outcome(record_copy)
    assert isinstance(alone, list)
    assert _outcome(record_copy, scheduler=scheduler) == alone
    lines = (record_copy / ENTRIES).read_text(encoding="utf-8").splitlines()
    index = len(lines) * 2 // 3
    lines[index] = lines[index].replace('"alpha":"', '"alpha":"0', 1)
    (record_copy / ENTRIES).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    found = _outcome(record_copy, scheduler=scheduler)
    assert isinstance(found, tuple) and found[1] == f"{ENTRIES}:{index + 1}"
    assert found == _outcome(record_copy)


@pytest.mark.parametrize(
    "change", ["signature", "payload", "not-json", "second-copy", "not-utf8", "too-long"]
)
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
    elif change == "second-copy":
        lines.append(lines[index])
    elif change == "too-long":
        lines[index] += " " * MAX_DOCUMENT_BYTES
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    if change == "not-utf8":
        data = path.read_bytes()
        at = data.index(lines[index].encode()) + 20
        path.write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    alone = _outcome(record_copy)
    assert isinstance(alone, tuple)
    line = len(lines) if change == "second-copy" else index + 1
    check = {"second-copy": "receipts", "not-utf8": "record", "too-long": "record"}
    assert alone[:2] == (check.get(change, "receipt"), f"{RECEIPTS}:{line}")
    assert _outcome(record_copy, scheduler=scheduler) == alone


def test_a_worker_returns_the_receipts_before_the_first_broken_one_and_its_failure(
    pristine_record: Path, tmp_path: Path
) -> None:
    record = Record(pristine_record)
    lines = (pristine_record / RECEIPTS).read_bytes().splitlines(keepends=True)[:3]
    path = tmp_path / "receipts.jsonl"
    path.write_bytes(lines[0] + lines[1].replace(b'"receipt"', b'"ballot"', 1) + lines[2])
    batch = receipt_claims(
        Segment(0, path.stat().st_size, 1),
        (str(path), record.manifest.election_id, record.election["server_public_key"]),
    )
    assert [claim[0] for claim in batch.claims] == [1]
    assert batch.failure is not None
    assert batch.failure[:2] == ("receipt", f"{RECEIPTS}:2")


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
