"""Verification and tally spread over a Dask cluster, partitioned by station.

The board file holds the stations' shards one after another, so the parent
cuts ``board/entries.jsonl`` into byte ranges that each lie within one
station (a large station in several), by one streaming pass that reads only
each line's trailing ``station_id`` — it never parses a ballot or keeps a
line. Workers read their range from the record themselves (on a cluster of
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


def station_segments(path: Path, max_lines: int = SEGMENT_LINES) -> Iterator[Segment]:
    """Byte ranges of the board file, each within one station, in file order."""
    offset, line, start, first_line, count = 0, 0, 0, 1, 0
    station: bytes | None = None
    with Path(path).open("rb") as handle:
        for raw in handle:
            line += 1
            current = _station_of(raw)
            if count and (current != station or count == max_lines):
                yield Segment(start, offset, first_line)
                start, first_line, count = offset, line, 0
            station, count, offset = current, count + 1, offset + len(raw)
    if count:
        yield Segment(start, offset, first_line)


_context_seen: object = None


def read_segment(path: str, segment: Segment) -> list[tuple[int, str]]:
    """(line number, text) of a segment's lines, read by the worker itself."""
    with open(path, "rb") as handle:
        handle.seek(segment.start)
        data = handle.read(segment.end - segment.start)
    texts = data.decode("utf-8", errors="replace").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    return [(segment.first_line + i, text) for i, text in enumerate(texts)]


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
    shared = client.scatter(context, broadcast=True)
    window = max(1, len(client.scheduler_info()["workers"])) * IN_FLIGHT_PER_WORKER
    pending: deque[Any] = deque()
    for item in items:
        pending.append(client.submit(task, item, shared, pure=False))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def ordered_results(
    client: Any,
    task: Callable[[str, Segment, Any], Result],
    path: Path,
    context: Any,
) -> Iterator[Result]:
    """Every station segment's result in file order; workers read their segment
    of ``path`` themselves."""
    return ordered_map(client, partial(task, str(path)), station_segments(path), context)


def batches(
    items: Iterable[Item], size: int, flush_on: type[Exception] | None = None
) -> Iterator[list[Item]]:
    """Consecutive lists of at most ``size`` items. If reading the items raises
    ``flush_on``, the items read before it come out first (a shorter list, maybe
    empty), so a consumer checks them before it meets the error."""
    batch: list[Item] = []
    try:
        for item in items:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
    except Exception as error:
        if flush_on is not None and isinstance(error, flush_on):
            yield batch
        raise
    if batch:
        yield batch
