"""National projection from measurement: intake with workers feeding different
stations, verification on a Dask LocalCluster, peak memory at two record sizes.

Prints ONE JSON line with the keys of issue 13 and the projection for 61M voters
(``docs/scale.md`` explains the formula):

* ``appends_per_s_{1,2,4}``: cast ballots per second from 1, 2 and 4 server
  processes on one PostgreSQL database while all of them are appending
  (``steady_rate``), each process feeding its own station
  through the intake's service call (terminal signature, parsing with point
  validation, authorization, the transaction and its durable commit, the signed
  receipt) with ``verify_ballot`` replaced by a no-op *in this benchmark's
  processes only* (the server never skips it): what the board and the database
  take, apart from the proofs' CPU.
* ``lock_wait_ms_per_ballot_4``: time each ballot's database session spends
  waiting for a lock with 4 workers, measured by PostgreSQL itself: a monitor
  samples ``pg_stat_activity`` every ``SAMPLE_S`` and counts the benchmark's
  backends whose ``wait_event_type`` is ``Lock``, each count times the time since
  the previous sample, summed and divided by the ballots.
  ``lock_statement_ms_per_ballot_{1,4}`` is the time inside the statements that
  take row locks (``SELECT … FOR UPDATE``) as the client sees it — round trip and,
  on a busy machine, CPU scheduling included.
* ``ballots_per_s_http_{1,2}``: cast ballots per second over real HTTP to
  gunicorn with 1 and 2 sync workers (as deployed), every check on, one client
  thread per station; ``server_cpu_ms_per_ballot_http_{1,2}`` and
  ``database_cpu_ms_per_ballot_http_{1,2}`` the CPU one ballot cost the gunicorn
  workers and the PostgreSQL backends (``bench/station_load.py``): what the
  projection of cores divides by, since it does not depend on what else the
  machine runs; ``client_cpu_ms_per_ballot_http_{1,2}`` and
  ``server_cores_busy_http_{1,2}`` what the load generator took and how many
  cores the workers kept busy.
* ``verify_ballots_per_s_dask_{1,2}``: ``evote verify``'s ballot phase on a
  LocalCluster of 1 and 2 worker processes over the larger record (the whole
  phase timed, the parent's scan and merge included), after a warm-up run over
  the smaller one (imports and caches on the workers).
* ``verify_parent_us_per_entry`` and ``verify_board_us_per_entry``: the
  verifying process's CPU per additional entry in the ballot phase (reading the
  board's cut, sending the segments, storing what each returns, the checks fed in
  line order) and in the board-wide
  checks after it (chains, receipts, roots, reports:
  ``Verifier.check_board_phase``), with 2 workers checking the entries and the
  receipts' signatures, scheduler and workers in processes of their own; a
  record of ``ballots_serial`` (4 × the larger) minus the larger one (same
  stations) divided by the difference in entries, so per-station and
  per-record work (reports, roots' signatures) is not charged to every entry,
  and the difference is large enough to rise above the machine's noise
  (500 → 2,000 before 2026-12-03 16:30); ``verify_board_s_small``, ``_large``
  the board phase's two CPU times, on those two records; each CPU time is the
  least of ``SERIAL_ROUNDS`` runs. Both run in the
  verifying process whatever the cluster: ``verify_serial_hours_61m`` (61M
  entries at both rates) bounds a national verification's time from below,
  however many cores check the ballots, and ``verify_board_hours_61m`` is its
  board-phase part.
* ``cores_verify_1h``: cores of this speed that verify 61M ballots within one
  hour. The board phase follows the ballot phase, so the ballots have
  ``3,600 s - verify_board_hours_61m`` and the cores are ``61M / that /
  verify_ballots_per_s_dask_1``; null when the serial work alone
  (``verify_serial_hours_61m``) takes the hour, since then no number of cores
  does it. ``cores_verify_ballot_phase_1h`` is the ballot phase alone in the
  whole hour (the key's meaning before 2026-12-03 14:50).
* ``verify_rss_mb_{small,large}``: peak RSS of the verifying process (one
  process, no cluster) on records of ``ballots_small`` and ``ballots_large``
  ballots.

* ``scalarmult_us_start``, ``_end``: this machine's speed, as the cost of the
  operation that dominates every figure above (a libsodium variable-base scalar
  multiplication, best of ``SPEED_ROUNDS`` rounds), read before and after: CPU
  figures measured on a core twice as slow are twice as large, and the cores the
  projection names are cores of this speed.

Records are real (encrypted ballots, every proof) and cached in the temporary
directory under a key that includes a hash of the code that writes them. Needs
EVOTE_BENCH_DATABASE_URL or EVOTE_TEST_DATABASE_URL (PostgreSQL) for intake.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from record_cache import code_version
from sizes import counts, marked, size
from sqlalchemy import create_engine, event, text
from station_load import (
    StationLoad,
    bench_http,
    drop_schema,
    fresh_schema,
    http_keys,
    load_average,
)

from ballot_server import intake
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet
from ballot_server.state import ServerState
from crypto.group import base_mul, random_scalar
from evote import protocol
from evote.manifest import Manifest
from tally.ceremony import run_ceremony
from tally.testing import build_record, random_votes, synthetic_manifest

REPOSITORY = Path(__file__).resolve().parents[1]
VOTERS = 61_000_000
POLLING_DAY_S = 12 * 3600
PEAK_FACTOR = 3
SAMPLE_S = 0.005
APPENDS_PER_STATION = size(400, 3)
SPEED_ROUNDS = 5
SPEED_MULTIPLICATIONS = size(1000, 10)
BALLOTS_SMALL = size(500, 4)
SERIAL_ROUNDS = size(3, 1)
ROOT_EVERY = size(500, 2)
"""Ballots per national root in the benchmark's records. The server publishes one
a minute, some 85,000 entries at the national average; a root per 500 still
charges root checks to the entries more than a polling day would."""


# --- intake ---------------------------------------------------------------------


def _intake_worker(url: str, keys: KeySet, requests: list[Any], ready: Any, out: Any) -> None:
    intake.verify_ballot = lambda *_: (
        None
    )  # appends only: this benchmark's process, never the server
    state = ServerState(ServerConfig(url, url, keys, run_migrations=False, root_interval_s=10**9))
    locked = {"s": 0.0}
    started: dict[int, float] = {}

    @event.listens_for(state.engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(state.engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "FOR UPDATE" in statement:
            locked["s"] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

    intake.submit(state, requests[0], protocol.ACTION_CAST)  # warm-up: pools, caches
    locked["s"] = 0.0
    ready.wait()
    begin = time.perf_counter()
    finished = []
    for request in requests[1:]:
        intake.submit(state, request, protocol.ACTION_CAST)
        finished.append(time.perf_counter())
    out.put(Appended(begin, finished, locked["s"]))


@dataclass(frozen=True)
class Appended:
    """One intake process's run: when it started and when each of its ballots was
    appended (``time.perf_counter``, the system-wide monotonic clock on Linux, so
    comparable across processes), and its time inside locking statements."""

    begin: float
    finished: list[float]
    locked_s: float


def steady_rate(runs: list[Appended]) -> float:
    """Ballots/s while every process was appending: from the last start to the first
    process's last ballot. Counting to the last process's end instead would time a
    tail in which fewer processes run than the figure is named after (on 2 cores
    one straggler of 4 leaves a core idle)."""
    begin = max(run.begin for run in runs)
    end = min(run.finished[-1] for run in runs)
    appended = sum(1 for run in runs for at in run.finished if begin < at <= end)
    return appended / (end - begin)


def bench_appends(load: StationLoad, base_url: str, workers: int) -> tuple[float, float, float]:
    url, schema = fresh_schema(base_url)
    try:
        state = ServerState(ServerConfig(url, url, load.keys, root_interval_s=10**9))
        load.set_up(state)
        state.engine.dispose()
        context = multiprocessing.get_context("spawn")
        ready, out = context.Barrier(workers + 1), context.Queue()
        processes = [
            context.Process(target=_intake_worker, args=(url, load.keys, load.plan[t], ready, out))
            for t in sorted(load.plan)[:workers]
        ]
        for process in processes:
            process.start()
        monitor = _LockMonitor(base_url, schema)
        ready.wait()
        runs: list[Appended] = [out.get() for _ in processes]
        waited_s = monitor.stop()
        for process in processes:
            process.join()
        ballots = sum(len(run.finished) for run in runs)
        statement_ms = 1000 * sum(run.locked_s for run in runs) / ballots
        return steady_rate(runs), statement_ms, 1000 * waited_s / ballots
    finally:
        drop_schema(base_url, schema)


class _LockMonitor:
    """Samples pg_stat_activity for the benchmark's backends waiting on a lock.

    Each sample stands for the time since the one before (the query's own time
    included), so the estimate does not shrink when sampling is slow; sampling
    every ``SAMPLE_S`` keeps the monitor's own CPU (a query each time, on the cores
    the workers need) to a few per cent of one core."""

    def __init__(self, base_url: str, application_name: str) -> None:
        self.engine = create_engine(base_url)
        self.name = application_name
        self.waited_s = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = :name AND wait_event_type = 'Lock'"
        )
        with self.engine.connect() as connection:
            previous = time.perf_counter()
            while self.running:
                waiting = connection.execute(query, {"name": self.name}).scalar_one()
                now = time.perf_counter()
                self.waited_s += waiting * (now - previous)
                previous = now
                time.sleep(SAMPLE_S)

    def stop(self) -> float:
        """Estimated backend-seconds spent waiting on locks while it ran."""
        self.running = False
        self.thread.join()
        self.engine.dispose()
        return self.waited_s


def scalarmult_us() -> float:
    """Microseconds per variable-base scalar multiplication, best of several rounds."""
    point, scalar = base_mul(random_scalar()), random_scalar()
    best = float("inf")
    for _ in range(SPEED_ROUNDS):
        begin = time.perf_counter()
        for _ in range(SPEED_MULTIPLICATIONS):
            scalar * point
        best = min(best, (time.perf_counter() - begin) / SPEED_MULTIPLICATIONS)
    return round(best * 1e6, 1)


# --- verification ------------------------------------------------------------------


def record_of(ballots: int, stations: int) -> Path:
    """A cached record of ``ballots`` real ballots over ``stations`` stations."""
    name = f"evote-bench-national-{code_version()}-{ballots}-{stations}-{ROOT_EVERY}"
    cache = Path(tempfile.gettempdir()) / name
    if (cache / "complete").exists():
        return cache / "record"
    shutil.rmtree(cache, ignore_errors=True)
    document = synthetic_manifest(stations)
    passphrases = {1: b"one", 2: b"two", 3: b"three"}
    ceremony = run_ceremony(document, passphrases, cache / "ceremony", strength="interactive")
    votes = random_votes(Manifest.from_json(document), ballots, seed=ballots)
    build_record(
        cache / "record",
        ceremony,
        document,
        votes,
        workers=os.cpu_count() or 1,
        root_every=ROOT_EVERY,
    )
    (cache / "complete").write_text("ok\n", encoding="ascii")
    return cache / "record"


def _ballot_phase_rate(root: Path, ballots: int, scheduler: str | None) -> float:
    """Ballots/s of the ballot phase alone (the tally files are not in this record)."""
    from tally.verifier import Verifier

    verifier = Verifier(root, scheduler=scheduler)
    begin = time.perf_counter()
    verifier.check_entries()
    return ballots / (time.perf_counter() - begin)


def bench_verify(warm_up: tuple[Path, int], timed: tuple[Path, int], workers: int) -> float:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        _ballot_phase_rate(*warm_up, cluster.scheduler_address)
        return _ballot_phase_rate(*timed, cluster.scheduler_address)


def serial_phases(small: Path, large: Path) -> dict[str, float]:
    """The verifying process's CPU per additional entry in the two phases that run
    in it alone, on both records, with 2 workers checking the entries and the
    receipts' signatures as ``evote verify --scheduler`` does: the ballot phase
    (the board's cut, sending the segments, storing the facts and alphas each
    returns, the checks fed in line order) and the board-wide checks after it. The
    scheduler and the workers run in processes of their own (``SubprocessCluster``),
    as ``dask scheduler`` and ``dask worker`` do: a LocalCluster's scheduler would
    charge its CPU to the verifying process. Each record is verified
    ``SERIAL_ROUNDS`` times, alternating, and each CPU time is the least of its
    rounds: on a shared machine other tenants only ever add to it."""
    from distributed.deploy.subprocess import SubprocessCluster

    from tally.verifier import Verifier

    entries: dict[str, int] = {}
    ballots_s: dict[str, float] = {}
    board_s: dict[str, float] = {}
    with SubprocessCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=":0", silence_logs=40
    ) as cluster:
        for _ in range(SERIAL_ROUNDS):
            for name, root in (("small", small), ("large", large)):
                began = time.process_time()
                verifier = Verifier(root, scheduler=cluster.scheduler_address)
                entries[name], board = verifier.check_board_phase()
                ballots = time.process_time() - began - board
                ballots_s[name] = min(ballots_s.get(name, ballots), ballots)
                board_s[name] = min(board_s.get(name, board), board)
    more = entries["large"] - entries["small"]
    return {
        "verify_parent_us_per_entry": round(
            1e6 * (ballots_s["large"] - ballots_s["small"]) / more, 1
        ),
        "verify_board_s_small": round(board_s["small"], 3),
        "verify_board_s_large": round(board_s["large"], 3),
        "verify_board_us_per_entry": round(1e6 * (board_s["large"] - board_s["small"]) / more, 1),
    }


def peak_rss_mb(root: Path) -> float:
    """Peak RSS of a fresh process that runs the ballot phase over ``root``."""
    script = (
        "import resource, sys\n"
        "from tally.verifier import Verifier\n"
        "Verifier(sys.argv[1]).check_entries()\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPOSITORY,
    )
    return round(int(result.stdout.split()[-1]) / 1024, 1)


def main() -> None:
    base_url = os.environ.get("EVOTE_BENCH_DATABASE_URL") or os.environ.get(
        "EVOTE_TEST_DATABASE_URL"
    )
    result: dict[str, Any] = {
        "bench": "national",
        "load_average_start": load_average(),
        "scalarmult_us_start": scalarmult_us(),
    }
    if base_url:
        load = StationLoad.build(base_url, APPENDS_PER_STATION)
        for workers in counts((1, 2, 4), (1, 2)):
            rate, statement_ms, waited_ms = bench_appends(load, base_url, workers)
            result[f"appends_per_s_{workers}"] = round(rate, 1)
            result[f"lock_statement_ms_per_ballot_{workers}"] = round(statement_ms, 3)
            result[f"lock_wait_ms_per_ballot_{workers}"] = round(waited_ms, 3)
        for workers in (1, 2):
            result.update(http_keys(bench_http(load, base_url, workers), str(workers)))
    small, large = BALLOTS_SMALL, 4 * BALLOTS_SMALL
    small_root, large_root = record_of(small, 8), record_of(large, 8)
    result["ballots_small"], result["ballots_large"] = small, large
    result["verify_rss_mb_small"] = peak_rss_mb(small_root)
    result["verify_rss_mb_large"] = peak_rss_mb(large_root)
    for workers in (1, 2):
        result[f"verify_ballots_per_s_dask_{workers}"] = round(
            bench_verify((small_root, small), (large_root, large), workers), 1
        )
    peak_per_s = VOTERS / POLLING_DAY_S * PEAK_FACTOR
    result["peak_ballots_per_s"] = round(peak_per_s)
    server_ms = result.get("server_cpu_ms_per_ballot_http_1")
    database_ms = result.get("database_cpu_ms_per_ballot_http_1")
    result["cores_peak_intake"] = round(peak_per_s * server_ms / 1000) if server_ms else None
    result["database_cores_peak_intake"] = (
        round(peak_per_s * database_ms / 1000) if database_ms else None
    )
    serial = 4 * large
    result["ballots_serial"] = serial
    result.update(serial_phases(large_root, record_of(serial, 8)))
    board_s = VOTERS * result["verify_board_us_per_entry"] / 1e6
    serial_s = board_s + VOTERS * result["verify_parent_us_per_entry"] / 1e6
    result["verify_board_hours_61m"] = round(board_s / 3600, 2)
    result["verify_serial_hours_61m"] = round(serial_s / 3600, 2)
    verify_per_core = result["verify_ballots_per_s_dask_1"]
    result["cores_verify_ballot_phase_1h"] = round(VOTERS / 3600 / verify_per_core)
    result["cores_verify_1h"] = (
        round(VOTERS / (3600 - board_s) / verify_per_core) if serial_s < 3600 else None
    )
    result["code_version"] = code_version()
    result["load_average_end"] = load_average()
    result["scalarmult_us_end"] = scalarmult_us()
    print(json.dumps(marked(result)))


if __name__ == "__main__":
    main()
