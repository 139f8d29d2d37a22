"""Several stations casting at once, for the intake benchmarks: an election of
``STATIONS`` stations with one terminal each, every terminal's cast requests
signed beforehand (the client does no crypto while the clock runs), fresh
PostgreSQL schemas, and the cast rate over real HTTP to gunicorn.

Wall-clock rates depend on what else the machine runs; the CPU a ballot costs
does not (much). So the HTTP measurement also reads, from ``/proc``, the CPU
seconds the gunicorn workers and the PostgreSQL backends serving them spent
during the timed phase: ``server_cpu_ms_per_ballot`` is what one ballot costs
a server core with every check on, whatever the load, and is what the
national projection divides by (``docs/scale.md``).

gunicorn runs as deployed (``docs/server.md``: sync workers, one request at a
time each). A worker with threads is not one core: every libsodium call (about
400 per ballot) releases the GIL, so a second thread's Python runs beside the
first one's C, and the GIL is handed between them at every call
(``docs/performance.md`` has what that costs). ``bench_http(..., threads=4)``
measures that shape for comparison.

The load generator shares the machine: its bodies are encoded before the
clock starts, and ``client_cpu_ms_per_ballot`` (this process's CPU in the
timed phase) and ``server_cores_busy`` (the workers' CPU seconds per second)
say how much of the machine it and the server took.
"""

from __future__ import annotations

import json
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sizes import size
from sqlalchemy import create_engine, text

from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet, save_keys
from ballot_server.polls import PollState, publish_to_inquiry, transition
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE, encrypt_ballot, tracking_code
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote import protocol
from evote.manifest import Manifest
from evote.protocol import ballot_body, build_terminal_request
from tally.testing import synthetic_manifest

REPOSITORY = Path(__file__).resolve().parents[1]
STATIONS = 4
BALLOTS_PER_STATION = size(60, 3)
CHOICES = {"majlis": ["1101", "1102"], "experts": ["2203"]}
_TICKS = os.sysconf("SC_CLK_TCK")


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


@dataclass(frozen=True)
class StationLoad:
    """Keys, election, terminals and each terminal's pre-signed cast requests."""

    keys: KeySet
    document: dict[str, Any]
    trustees: list[Any]
    terminals: dict[str, SigningKey]
    plan: dict[str, list[Any]]

    @classmethod
    def build(cls, base_url: str, ballots_per_station: int = BALLOTS_PER_STATION) -> StationLoad:
        keys = KeySet.generate()
        document = synthetic_manifest(STATIONS)
        manifest = Manifest.from_json(document)
        trustees = [generate_trustee(i, 2, manifest.manifest_hash)[1] for i in (1, 2, 3)]
        terminals = {f"T-{n + 1}": SigningKey.generate() for n in range(STATIONS)}
        load = cls(keys, document, trustees, terminals, {})
        url, schema = fresh_schema(base_url)
        try:
            state = ServerState(ServerConfig(url, url, keys, root_interval_s=10**9))
            load.set_up(state)
            load.plan.update(load._requests(state, ballots_per_station))
            state.engine.dispose()
        finally:
            drop_schema(base_url, schema)
        return load

    def set_up(self, state: ServerState) -> None:
        """The election, one terminal per station, every station open."""
        assert self.keys.hq is not None
        roll = "national_code,name_fa,name_en,birth_date,alive,district_id\n"
        create_election(state, sign_manifest(self.keys.hq, self.document), self.trustees, roll)
        for number, (terminal_id, key) in enumerate(sorted(self.terminals.items())):
            register_terminal(state, terminal_id, f"S-{number + 1:03d}", key.public_key)
        for number in range(STATIONS):
            open_polls(state, f"S-{number + 1:03d}")

    def _requests(self, state: ServerState, ballots_per_station: int) -> dict[str, list[Any]]:
        """Signed cast requests, each terminal (station) its own chain."""
        info = state.election()
        specs = info.specs("tehran-1")
        plan: dict[str, list[Any]] = {}
        for number, (terminal_id, key) in enumerate(sorted(self.terminals.items())):
            station = f"S-{number + 1:03d}"
            previous, requests = GENESIS_TRACKING_CODE, []
            for sequence in range(1, ballots_per_station + 1):
                authorization = self.keys.inquiry.sign(
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


def open_polls(state: ServerState, station_id: str) -> None:
    """Open a station's polls as the officials' terminal does: the intake's
    transition, then the opening published to the inquiry's copy after it commits."""
    with state.sessions.begin() as session:
        version = transition(state, session, station_id, "open", state.now())["version"]
    publish_to_inquiry(state, station_id, PollState.OPEN, version)


def fresh_schema(base_url: str) -> tuple[str, str]:
    """A URL into a new schema (also the connections' application_name)."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{name}&application_name={name}", name


def drop_schema(base_url: str, name: str) -> None:
    engine = create_engine(base_url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class _CpuMeter:
    """CPU seconds of gunicorn's workers and of the database backends they opened."""

    def __init__(self, master: int, base_url: str, application_name: str) -> None:
        self.master, self.base_url, self.name = master, base_url, application_name

    def _backends(self) -> list[int]:
        engine = create_engine(self.base_url)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": self.name},
            ).all()
        engine.dispose()
        return [row.pid for row in rows]

    def read(self) -> tuple[dict[int, float], dict[int, float]]:
        workers = {pid: _cpu_s(pid) for pid in _children(self.master)}
        return workers, {pid: _cpu_s(pid) for pid in self._backends()}


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


@dataclass(frozen=True)
class HttpFigures:
    ballots_per_s: float
    server_cpu_ms_per_ballot: float
    database_cpu_ms_per_ballot: float
    client_cpu_ms_per_ballot: float
    server_cores_busy: float


def http_keys(figures: HttpFigures, suffix: str) -> dict[str, float]:
    """The JSON keys of one HTTP run (``ballots_per_s_http_1`` …), rounded."""
    return {
        f"ballots_per_s_http_{suffix}": round(figures.ballots_per_s, 1),
        f"server_cpu_ms_per_ballot_http_{suffix}": round(figures.server_cpu_ms_per_ballot, 2),
        f"database_cpu_ms_per_ballot_http_{suffix}": round(figures.database_cpu_ms_per_ballot, 2),
        f"client_cpu_ms_per_ballot_http_{suffix}": round(figures.client_cpu_ms_per_ballot, 2),
        f"server_cores_busy_http_{suffix}": round(figures.server_cores_busy, 2),
    }


def bench_http(load: StationLoad, base_url: str, workers: int, threads: int = 1) -> HttpFigures:
    """Cast ballots over HTTP to gunicorn with ``workers`` processes of ``threads``
    threads (1: sync workers, as deployed), every check on, one client thread per
    station; the rate and the CPU each ballot cost."""
    url, schema = fresh_schema(base_url)
    data_dir = Path(tempfile.mkdtemp(prefix="evote-bench-http-"))
    try:
        save_keys(data_dir / "keys", load.keys)
        state = ServerState(ServerConfig(url, url, load.keys))
        load.set_up(state)
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
                "--threads",
                str(threads),
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
            return _drive(load, f"http://127.0.0.1:{port}", _CpuMeter(server.pid, url, schema))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        drop_schema(base_url, schema)


def _drive(load: StationLoad, base: str, meter: _CpuMeter) -> HttpFigures:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + protocol.PATH_ROOTS, timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)

    def post(body: bytes) -> None:
        call = urllib.request.Request(
            base + protocol.PATH_CAST, body, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(call, timeout=60).read()

    bodies = {
        terminal_id: [json.dumps(request).encode() for request in requests]
        for terminal_id, requests in load.plan.items()
    }
    for terminal_id in bodies:  # warm-up: every worker's pools and caches
        post(bodies[terminal_id][0])
    barrier = threading.Barrier(len(bodies) + 1)

    def feed(terminal_id: str) -> None:
        barrier.wait()
        for body in bodies[terminal_id][1:]:
            post(body)

    threads = [threading.Thread(target=feed, args=(t,)) for t in bodies]
    for thread in threads:
        thread.start()
    workers_before, backends_before = meter.read()
    barrier.wait()
    begin, client_begin = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    elapsed, client_s = time.perf_counter() - begin, time.process_time() - client_begin
    workers_after, backends_after = meter.read()
    ballots = sum(len(requests) - 1 for requests in bodies.values())
    server_s = _spent(workers_before, workers_after)
    return HttpFigures(
        ballots / elapsed,
        1000 * server_s / ballots,
        1000 * _spent(backends_before, backends_after) / ballots,
        1000 * client_s / ballots,
        server_s / elapsed,
    )
