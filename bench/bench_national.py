"""National projection from measurement: intake with workers feeding different
stations, verification on a Dask LocalCluster, peak memory at two record sizes.

Prints ONE JSON line with the keys of issue 13 and the projection for 61M voters
(``docs/scale.md`` explains the formula):

* ``appends_per_s_{1,2,4}``: cast ballots per second from 1, 2 and 4 server
  processes on one PostgreSQL database, each process feeding its own station
  through the intake's service call (terminal signature, parsing with point
  validation, authorization, the transaction and its durable commit, the signed
  receipt) with ``verify_ballot`` replaced by a no-op *in this benchmark's
  processes only* (the server never skips it): what the board and the database
  take, apart from the proofs' CPU.
* ``lock_wait_ms_per_ballot_4``: time each ballot's database session spends
  waiting for a lock with 4 workers, measured by PostgreSQL itself: a monitor
  samples ``pg_stat_activity`` every ``SAMPLE_S`` and counts the benchmark's
  backends whose ``wait_event_type`` is ``Lock``; samples × interval ÷ ballots.
  ``lock_statement_ms_per_ballot_{1,4}`` is the time inside the statements that
  take row locks (``SELECT … FOR UPDATE``) as the client sees it — round trip and,
  on a busy machine, CPU scheduling included.
* ``ballots_per_s_http_{1,2}``: cast ballots per second over real HTTP to
  gunicorn with 1 and 2 workers, every check on, one client thread per station.
* ``verify_ballots_per_s_dask_{1,2}``: ``evote verify``'s ballot phase on a
  LocalCluster of 1 and 2 worker processes (the whole verify run timed).
* ``verify_rss_mb_{small,large}``: peak RSS of the verifying process (one
  process, no cluster) on records of ``ballots_small`` and ``ballots_large``
  ballots.

Records are real (encrypted ballots, every proof) and cached in the temporary
directory under a key that includes a hash of the code that writes them. Needs
EVOTE_BENCH_DATABASE_URL or EVOTE_TEST_DATABASE_URL (PostgreSQL) for intake.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from record_cache import code_version
from sqlalchemy import create_engine, event, text

from ballot_server import intake
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet, save_keys
from ballot_server.polls import transition
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE, encrypt_ballot, tracking_code
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote import protocol
from evote.manifest import Manifest
from evote.protocol import ballot_body, build_terminal_request
from tally.ceremony import run_ceremony
from tally.testing import build_record, random_votes, synthetic_manifest

REPOSITORY = Path(__file__).resolve().parents[1]
VOTERS = 61_000_000
POLLING_DAY_S = 12 * 3600
PEAK_FACTOR = 3
STATIONS = 4
BALLOTS_PER_STATION = 60
CHOICES = {"majlis": ["1101", "1102"], "experts": ["2203"]}
SAMPLE_S = 0.002


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


# --- intake ---------------------------------------------------------------------


def _election(keys: KeySet) -> tuple[dict[str, Any], list[Any], str]:
    document = synthetic_manifest(STATIONS)
    manifest = Manifest.from_json(document)
    trustees = [generate_trustee(i, 2, manifest.manifest_hash)[1] for i in (1, 2, 3)]
    roll = "national_code,name_fa,name_en,birth_date,alive,district_id\n"
    return document, trustees, roll


def _setup(
    state: ServerState, keys: KeySet, election: tuple[Any, ...], terminals: dict[str, SigningKey]
) -> None:
    document, trustees, roll = election
    assert keys.hq is not None
    create_election(state, sign_manifest(keys.hq, document), trustees, roll)
    for number, (terminal_id, key) in enumerate(sorted(terminals.items())):
        register_terminal(state, terminal_id, f"S-{number + 1:03d}", key.public_key)
    for number in range(STATIONS):
        with state.sessions.begin() as session:
            transition(state, session, f"S-{number + 1:03d}", "open", state.now())


def _requests(
    state: ServerState, keys: KeySet, terminals: dict[str, SigningKey]
) -> dict[str, list[Any]]:
    """Signed cast requests, each terminal (station) its own chain."""
    info = state.election()
    specs = info.specs("tehran-1")
    plan: dict[str, list[Any]] = {}
    for number, (terminal_id, key) in enumerate(sorted(terminals.items())):
        station = f"S-{number + 1:03d}"
        previous, requests = GENESIS_TRACKING_CODE, []
        for sequence in range(1, BALLOTS_PER_STATION + 1):
            authorization = keys.inquiry.sign(
                "authorization",
                {
                    "authorization_id": os.urandom(16).hex(),
                    "election_id": info.election_id,
                    "station_id": station,
                    "ballot_style_id": "tehran-1",
                    "expires_at": state.now() + 24 * 3600,
                    "poll_period": 1,
                },
            ).to_json()
            ballot, _ = encrypt_ballot(info.context, "tehran-1", specs, CHOICES)
            body = ballot_body(station, sequence, previous, ballot, authorization)
            requests.append(build_terminal_request(key, terminal_id, "cast", body))
            previous = tracking_code(ballot, previous)
        plan[terminal_id] = requests
    return plan


def _fresh_schema(base_url: str) -> tuple[str, str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{name}&application_name={name}", name


def _drop_schema(base_url: str, name: str) -> None:
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


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
    for request in requests[1:]:
        intake.submit(state, request, protocol.ACTION_CAST)
    out.put((time.perf_counter() - begin, locked["s"], len(requests) - 1))


def bench_appends(
    base_url: str,
    keys: KeySet,
    election: Any,
    terminals: dict[str, SigningKey],
    plan: dict[str, list[Any]],
    workers: int,
) -> tuple[float, float]:
    url, schema = _fresh_schema(base_url)
    try:
        state = ServerState(ServerConfig(url, url, keys, root_interval_s=10**9))
        _setup(state, keys, election, terminals)
        state.engine.dispose()
        context = multiprocessing.get_context("spawn")
        ready, out = context.Barrier(workers + 1), context.Queue()
        processes = [
            context.Process(target=_intake_worker, args=(url, keys, plan[t], ready, out))
            for t in sorted(plan)[:workers]
        ]
        for process in processes:
            process.start()
        monitor = _LockMonitor(base_url, schema)
        ready.wait()
        begin = time.perf_counter()
        results = [out.get() for _ in processes]
        elapsed = time.perf_counter() - begin
        waited_s = monitor.stop()
        for process in processes:
            process.join()
        ballots = sum(count for _, _, count in results)
        statement_ms = 1000 * sum(lock for _, lock, _ in results) / ballots
        return ballots / elapsed, statement_ms, 1000 * waited_s / ballots
    finally:
        _drop_schema(base_url, schema)


class _LockMonitor:
    """Samples pg_stat_activity for the benchmark's backends waiting on a lock."""

    def __init__(self, base_url: str, application_name: str) -> None:
        self.engine = create_engine(base_url)
        self.name = application_name
        self.waiting_samples = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        query = text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = :name AND wait_event_type = 'Lock'"
        )
        with self.engine.connect() as connection:
            while self.running:
                self.waiting_samples += connection.execute(query, {"name": self.name}).scalar_one()
                time.sleep(SAMPLE_S)

    def stop(self) -> float:
        """Estimated backend-seconds spent waiting on locks while it ran."""
        self.running = False
        self.thread.join()
        self.engine.dispose()
        return self.waiting_samples * SAMPLE_S


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bench_http(
    base_url: str,
    keys: KeySet,
    election: Any,
    terminals: dict[str, SigningKey],
    plan: dict[str, list[Any]],
    workers: int,
) -> float:
    """Ballots/s over HTTP to gunicorn, every check on, a client thread per station."""
    url, schema = _fresh_schema(base_url)
    data_dir = Path(tempfile.mkdtemp(prefix="evote-bench-national-"))
    try:
        save_keys(data_dir / "keys", keys)
        state = ServerState(ServerConfig(url, url, keys))
        _setup(state, keys, election, terminals)
        state.engine.dispose()
        port = _free_port()
        environment = dict(
            os.environ,
            EVOTE_DATA_DIR=str(data_dir),
            EVOTE_DATABASE_URL=url,
            EVOTE_REGISTRY_DATABASE_URL=url,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "ballot_server.app:create_app()",
            ],
            env=environment,
            cwd=REPOSITORY,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + protocol.PATH_ROOTS, timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

            def post(request: Any) -> None:
                body = json.dumps(request).encode()
                call = urllib.request.Request(
                    base + protocol.PATH_CAST, body, {"Content-Type": "application/json"}
                )
                urllib.request.urlopen(call, timeout=60).read()

            for terminal_id in plan:
                post(plan[terminal_id][0])
            barrier = threading.Barrier(len(plan) + 1)

            def feed(terminal_id: str) -> None:
                barrier.wait()
                for request in plan[terminal_id][1:]:
                    post(request)

            threads = [threading.Thread(target=feed, args=(t,)) for t in plan]
            for thread in threads:
                thread.start()
            barrier.wait()
            begin = time.perf_counter()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - begin
            return sum(len(requests) - 1 for requests in plan.values()) / elapsed
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        _drop_schema(base_url, schema)


# --- verification ------------------------------------------------------------------


def record_of(ballots: int, stations: int) -> Path:
    """A cached record of ``ballots`` real ballots over ``stations`` stations."""
    cache = (
        Path(tempfile.gettempdir()) / f"evote-bench-national-{code_version()}-{ballots}-{stations}"
    )
    if (cache / "complete").exists():
        return cache / "record"
    shutil.rmtree(cache, ignore_errors=True)
    document = synthetic_manifest(stations)
    passphrases = {1: b"one", 2: b"two", 3: b"three"}
    ceremony = run_ceremony(document, passphrases, cache / "ceremony", strength="interactive")
    votes = random_votes(Manifest.from_json(document), ballots, seed=ballots)
    build_record(cache / "record", ceremony, document, votes, workers=os.cpu_count() or 1)
    (cache / "complete").write_text("ok\n", encoding="ascii")
    return cache / "record"


def _ballot_phase_rate(root: Path, ballots: int, scheduler: str | None) -> float:
    """Ballots/s of the ballot phase alone (the tally files are not in this record)."""
    from tally.verifier import Verifier

    verifier = Verifier(root, scheduler=scheduler)
    begin = time.perf_counter()
    verifier.check_entries()
    return ballots / (time.perf_counter() - begin)


def bench_verify(root: Path, ballots: int, workers: int) -> float:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        _ballot_phase_rate(root, ballots, cluster.scheduler_address)  # warm-up: imports on workers
        return _ballot_phase_rate(root, ballots, cluster.scheduler_address)


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
    result: dict[str, Any] = {"bench": "national", "load_average_start": load_average()}
    if base_url:
        keys = KeySet.generate()
        election = _election(keys)
        terminals = {f"T-{n + 1}": SigningKey.generate() for n in range(STATIONS)}
        url, schema = _fresh_schema(base_url)
        try:
            state = ServerState(ServerConfig(url, url, keys, root_interval_s=10**9))
            _setup(state, keys, election, terminals)
            plan = _requests(state, keys, terminals)
            state.engine.dispose()
        finally:
            _drop_schema(base_url, schema)
        for workers in (1, 2, 4):
            rate, statement_ms, waited_ms = bench_appends(
                base_url, keys, election, terminals, plan, workers
            )
            result[f"appends_per_s_{workers}"] = round(rate, 1)
            result[f"lock_statement_ms_per_ballot_{workers}"] = round(statement_ms, 3)
            result[f"lock_wait_ms_per_ballot_{workers}"] = round(waited_ms, 3)
        for workers in (1, 2):
            result[f"ballots_per_s_http_{workers}"] = round(
                bench_http(base_url, keys, election, terminals, plan, workers), 1
            )
    small, large = 60, 240
    small_root, large_root = record_of(small, 8), record_of(large, 8)
    result["ballots_small"], result["ballots_large"] = small, large
    result["verify_rss_mb_small"] = peak_rss_mb(small_root)
    result["verify_rss_mb_large"] = peak_rss_mb(large_root)
    for workers in (1, 2):
        result[f"verify_ballots_per_s_dask_{workers}"] = round(
            bench_verify(large_root, large, workers), 1
        )
    intake_per_core = result.get("ballots_per_s_http_1")
    peak_per_s = VOTERS / POLLING_DAY_S * PEAK_FACTOR
    result["peak_ballots_per_s"] = round(peak_per_s)
    result["cores_peak_intake"] = round(peak_per_s / intake_per_core) if intake_per_core else None
    verify_per_core = result["verify_ballots_per_s_dask_1"]
    result["cores_verify_1h"] = round(VOTERS / 3600 / verify_per_core)
    result["code_version"] = code_version()
    result["load_average_end"] = load_average()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
