"""Verification and tally spread over a Dask cluster, partitioned by station.

The board file holds the stations' shards one after another, so it is cut
into byte ranges that each lie within one station (a large station in
several). The workers do the cutting too: each reads one large block of the
file and answers where the segments of the lines starting in it begin (only
each line's trailing ``station_id`` is looked at), and the parent numbers the
lines from the blocks' line counts. The parent reads none of the board: at
national scale the file is some 700 GB, and two passes over it in the one
process that cannot be spread were a third of its work.
Workers read their segment from the record themselves (on a cluster of
several machines the record sits on shared storage at the same path) and run
exactly the checks of the single-process run (``verify_ballots.check_chunk``),
so verdicts and the file, line and tracking code of a failure are the same.
``evote tally totals`` sums the stations' ballots the same way
(``pipeline.sum_segment``).
``--workers N`` starts a ``LocalCluster`` of N single-threaded worker
processes on this machine; ``--scheduler tcp://HOST:8786`` joins a running
one (``docs/scale.md``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from tally.verify_ballots import ChunkResult, check_chunk, initialize

SEGMENT_LINES: Final = 500
"""At most this many entries per task: small enough to spread one big station (a
worker checks 500 ballots in seconds; a national record makes over 100,000 tasks),
large enough that the parent, the one serial process, is not held up by the tasks
themselves: Dask's submit and result cost it about 2 ms of CPU per task, 40 µs per
entry at 50 entries a task (measured against a scheduler in its own process)."""
BLOCK_BYTES: Final = 1 << 26
"""Bytes of the file one cutting task reads (64 MiB: some 5,000 ballots, a few tenths
of a second of a worker's time against the minutes their checks take)."""
IN_FLIGHT_PER_WORKER: Final = 4
_STATION_KEY: Final = b'"station_id":"'
Result = TypeVar("Result")
Item = TypeVar("Item")


@dataclass(frozen=True)
class Segment:
    """Lines ``first_line``.. of a JSON-lines file, bytes ``start``..``end``."""

    start: int
    end: int
    first_line: int


def _station_of(raw: bytes) -> bytes | None:
    """The entry's own station id: canonical JSON sorts keys, so it is the last one."""
    at = raw.rfind(_STATION_KEY)
    if at < 0:
        return None
    begin = at + len(_STATION_KEY)
    end = raw.find(b'"', begin)
    return raw[begin:end] if end > 0 else None


@dataclass(frozen=True)
class BlockCuts:
    """The segments of the lines that start in one block of a file: where each begins,
    as (byte offset, index of its first line among the block's lines); how many lines
    start in the block, and the byte where the last of them ends."""

    cuts: list[tuple[int, int]]
    lines: int
    end: int


def cut_block(start: int, context: tuple[str, int, int, bool]) -> BlockCuts:
    """A worker's task: cut the lines that start in bytes ``start``.. ``start +
    block_bytes`` of the file into segments of at most ``max_lines`` lines, each
    within one station if ``by_station``; a line belongs to the block its first
    byte is in."""
    path, block_bytes, max_lines, by_station = context
    stop = start + block_bytes
    cuts: list[tuple[int, int]] = []
    lines, count = 0, 0
    station: bytes | None = None
    with open(path, "rb") as handle:
        if start > 0:
            handle.seek(start - 1)
            if handle.read(1) != b"\n":
                handle.readline()  # the rest of a line that began in an earlier block
        offset = handle.tell()
        while offset < stop and (raw := handle.readline()):
            current = _station_of(raw) if by_station else None
            if not lines or current != station or count == max_lines:
                cuts.append((offset, lines))
                count = 0
            station, count, lines, offset = current, count + 1, lines + 1, offset + len(raw)
    return BlockCuts(cuts, lines, offset)


def segments_of(blocks: Iterable[BlockCuts]) -> Iterator[Segment]:
    """The segments of consecutive blocks, lines numbered from 1 across them."""
    first_line = 1
    for block in blocks:
        # A block with no cuts holds no line's start (one line runs through it).
        ends = [offset for offset, _ in block.cuts[1:]] + [block.end]
        for (start, index), end in zip(block.cuts, ends, strict=False):
            yield Segment(start, end, first_line + index)
        first_line += block.lines


def file_segments(
    client: Any, path: Path, max_lines: int = SEGMENT_LINES, by_station: bool = True
) -> Iterator[Segment]:
    """The file's segments in file order, cut a block at a time: on the cluster, or
    here without a client."""
    context = (str(path), BLOCK_BYTES, max_lines, by_station)
    blocks = range(0, path.stat().st_size, BLOCK_BYTES)
    if client is None:
        return segments_of(cut_block(start, context) for start in blocks)
    return segments_of(ordered_map(client, cut_block, blocks, context))


_context_seen: object = None


def read_segment(path: str, segment: Segment) -> list[tuple[int, str]]:
    """(line number, text) of a segment's lines, read by the worker itself."""
    return [
        (number, raw.decode("utf-8", errors="replace"))
        for number, raw, _ in raw_lines(path, segment)
    ]


def raw_lines(path: str, segment: Segment) -> list[tuple[int, bytes, bool]]:
    """(line number, bytes without the newline, whether a newline ended it) of a
    segment's lines."""
    with open(path, "rb") as handle:
        handle.seek(segment.start)
        data = handle.read(segment.end - segment.start)
    pieces = data.split(b"\n")
    ended = [True] * (len(pieces) - 1) + [False]
    if pieces[-1] == b"":
        pieces.pop()
        ended.pop()
    return [
        (segment.first_line + index, piece, newline)
        for index, (piece, newline) in enumerate(zip(pieces, ended, strict=True))
    ]


def check_segment(path: str, segment: Segment, context: dict[str, Any]) -> ChunkResult:
    """A worker's task: the single-process checks over one segment's lines."""
    global _context_seen
    if _context_seen != context:
        initialize(context)
        _context_seen = context
    return check_chunk(read_segment(path, segment))


@contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A client of the cluster at ``scheduler``, or of a LocalCluster of ``workers``
    single-threaded processes started (and stopped) here."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def ordered_map(
    client: Any,
    task: Callable[[Item, Any], Result],
    items: Iterable[Item],
    context: Any,
) -> Iterator[Result]:
    """``task(item, context)`` for every item on the cluster, results in the items'
    order, with a bounded number in flight (the parent holds neither all the
    items nor more than a window of results)."""
    return (result for _, result in _ordered_pairs(client, task, items, context))


def _ordered_pairs(
    client: Any,
    task: Callable[[Item, Any], Result],
    items: Iterable[Item],
    context: Any,
) -> Iterator[tuple[Item, Result]]:
    # One future for the whole context, under a key of its own: a dict would be
    # scattered value by value under its own keys ("counted"), which another client
    # of the same cluster releasing the same names could lose mid-run.
    [shared] = client.scatter([context], broadcast=True, hash=False)
    window = max(1, len(client.scheduler_info()["workers"])) * IN_FLIGHT_PER_WORKER
    pending: deque[tuple[Item, Any]] = deque()
    for item in items:
        pending.append((item, client.submit(task, item, shared, pure=False)))
        if len(pending) >= window:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def ordered_results(
    client: Any,
    task: Callable[[str, Segment, Any], Result],
    path: Path,
    context: Any,
) -> Iterator[tuple[Segment, Result]]:
    """Every segment of ``path`` with its result, in file order; workers cut the
    file and read their segment themselves."""
    return _ordered_pairs(client, partial(task, str(path)), file_segments(client, path), context)


def batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive lists of at most ``size`` items."""
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
