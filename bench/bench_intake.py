"""Intake and check-in throughput of one ballot-server process on one core (pinned
to one CPU; one Python process, so one GIL, however many client threads call it).

Transport (``--transport``, reported as ``"transport"``): ``wsgi`` (default) posts
each request to the Flask app's WSGI callable in-process with a plain environ
(routing, strict JSON parsing, the endpoint, ``jsonify``) — everything the server
does except sockets and HTTP parsing; the client's ``json.dumps`` of the body is
inside the timing. ``service`` calls the functions the endpoints call. Neither
counts a dev server.

Ballots: the sample election's standard ballot (Majlis up to 3 of 10 + Assembly
of Experts 1 of 8), each a signed cast request: terminal signature, parsing with
point validation, every proof, the transaction and its durable commit, the
signed receipt; one client, in order. ``verify_ms_per_ballot`` is the time spent
inside ``crypto.ballot.verify_ballot`` during the SQLite run (timed where the
server calls it), and ``intake_overhead_ms_per_ballot_*`` everything else per
cast, so the server's own cost can be read apart from the machine's speed.

Check-ins: challenge request + card answer + checks + atomic check-in + signed
authorization, durable commit; from ``checkin_clients`` concurrent client
threads (several stations at once) and from one, after one warm-up check-in per client
thread (open pool connections, full caches: the steady state). The inquiry-challenge requests
are signed before timing; the card's signature and the check-in request depend
on the fresh challenge and are signed inside the timed loop (client work on the
server's core: the figure is a lower bound).

Over real HTTP (``bench/station_load.py``): gunicorn with 1, 2 and 4 sync worker
processes on every core, each fed by its own stations' terminals, every check
on: ``ballots_per_s_http_N`` and ``server_cpu_ms_per_ballot_http_N``, the CPU
a ballot cost the workers (independent of other load on the machine), with the
database's and the load generator's CPU per ballot and the cores the workers
kept busy; ``*_http_1_threads_4`` the same for one worker of 4 threads.

PostgreSQL figures need EVOTE_BENCH_DATABASE_URL or EVOTE_TEST_DATABASE_URL
(else null). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from sizes import marked, size
from sqlalchemy import create_engine, text
from station_load import StationLoad, bench_http, http_keys, load_average, open_polls

from ballot_server import intake
from ballot_server.app import create_app
from ballot_server.config import ServerConfig
from ballot_server.inquiry import check_in, issue_challenge
from ballot_server.intake import submit
from ballot_server.keys import KeySet
from ballot_server.setup import (
    create_election,
    issue_card_certificate,
    register_terminal,
    sign_manifest,
)
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE, encrypt_ballot, tracking_code, verify_ballot
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote import protocol
from evote.jalali import age_on, parse_jalali
from evote.manifest import Manifest
from evote.protocol import ballot_body, build_terminal_request, card_answer_body
from evote.sample import sample_manifest, sample_people

BALLOTS = size(80, 4)
CHECK_INS = size(2000, 16)
CHECK_IN_CLIENTS = 8
TRANSPORTS = ("wsgi", "service")
HTTP_WORKERS = (1, 2, 4)
ALL_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
ELECTION_DATE = date(2028, 3, 1)


def _roll(people: list[Any]) -> str:
    rows = ["national_code,name_fa,name_en,birth_date,alive,district_id"]
    rows += [",".join(p.roll_row().values()) for p in people]
    return "\n".join(rows) + "\n"


class Server:
    """The server under test and how requests reach it."""

    def __init__(self, config: ServerConfig, transport: str) -> None:
        self.transport = transport
        self.app = create_app(config)
        self.state: ServerState = self.app.extensions["evote"]

    def _post(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        """POST through the WSGI callable with a plain PEP 3333 environ, as a WSGI
        server (gunicorn) hands it over; Flask's test client would cost more per
        request than Flask itself."""
        body = json.dumps(request).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        statuses: list[str] = []
        chunks = self.app(environ, lambda status, _headers: statuses.append(status))
        answer: dict[str, Any] = json.loads(b"".join(chunks))
        if not statuses[0].startswith("200"):
            raise RuntimeError(f"{path}: {statuses[0]} {answer}")
        return answer

    def cast(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.transport == "wsgi":
            return self._post(protocol.PATH_CAST, request)
        return submit(self.state, request, protocol.ACTION_CAST)

    def challenge(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.transport == "wsgi":
            return self._post(protocol.PATH_INQUIRY_CHALLENGE, request)
        return issue_challenge(self.state, request)

    def check_in(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.transport == "wsgi":
            return self._post(protocol.PATH_CHECK_IN, request)
        return check_in(self.state, request)


def _prepare(urls: tuple[str, str], transport: str) -> tuple[Server, SigningKey, KeySet, list[Any]]:
    keys = KeySet.generate()
    document = sample_manifest(ELECTION_DATE)
    manifest = Manifest.from_json(document)
    trustees = [generate_trustee(i, 2, manifest.manifest_hash)[1] for i in (1, 2, 3)]
    people, _ = sample_people(ELECTION_DATE, size=CHECK_INS * 2)
    eligible = [
        p
        for p in people
        if p.alive and p.on_roll and age_on(parse_jalali(p.birth_date), ELECTION_DATE) >= 18
    ]
    server = Server(ServerConfig(urls[0], urls[1], keys), transport)
    state = server.state
    assert keys.hq is not None
    create_election(state, sign_manifest(keys.hq, document), trustees, _roll(eligible))
    terminal_key = SigningKey.generate()
    register_terminal(state, "T1", "S-101", terminal_key.public_key)
    open_polls(state, "S-101")
    return server, terminal_key, keys, eligible


def _ballot_requests(state: ServerState, key: SigningKey, keys: KeySet) -> list[dict[str, Any]]:
    info = state.election()
    specs = info.specs("tehran-1")
    requests, previous = [], GENESIS_TRACKING_CODE
    for sequence in range(1, BALLOTS + 1):
        authorization = keys.inquiry.sign(
            "authorization",
            {
                "authorization_id": os.urandom(16).hex(),
                "election_id": info.election_id,
                "station_id": "S-101",
                "ballot_style_id": "tehran-1",
                "expires_at": state.now() + 3600,
                "poll_period": 1,
            },
        ).to_json()
        ballot, _ = encrypt_ballot(
            info.context, "tehran-1", specs, {"majlis": ["1101", "1102"], "experts": ["2203"]}
        )
        body = ballot_body("S-101", sequence, previous, ballot, authorization)
        requests.append(build_terminal_request(key, "T1", "cast", body))
        previous = tracking_code(ballot, previous)
    return requests


def bench_ballots(urls: tuple[str, str], transport: str) -> dict[str, float]:
    """Ballots per second; of each cast, the time inside ``verify_ballot`` (timed where
    the server calls it) and everything else, so a busy machine's slower proofs do
    not hide in the overhead."""
    server, key, keys, _ = _prepare(urls, transport)
    state = server.state
    requests = _ballot_requests(state, key, keys)
    verify_s = 0.0

    def timed_verify(*arguments: Any) -> None:
        nonlocal verify_s
        start = time.perf_counter()
        try:
            verify_ballot(*arguments)
        finally:
            verify_s += time.perf_counter() - start

    intake.verify_ballot = timed_verify  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        for request in requests:
            server.cast(request)
        elapsed = time.perf_counter() - start
    finally:
        intake.verify_ballot = verify_ballot
    state.dispose()
    return {
        "ballots_per_s": round(BALLOTS / elapsed, 1),
        "verify_ms": round(1000 * verify_s / BALLOTS, 2),
        "overhead_ms": round(1000 * (elapsed - verify_s) / BALLOTS, 2),
    }


Card = tuple[SigningKey, dict[str, Any], dict[str, Any]]


def _cards(keys: KeySet, terminal_key: SigningKey, voters: list[Any]) -> list[Card]:
    """Each voter's card key and certificate, and a pre-signed challenge request."""
    assert keys.registry is not None
    cards = []
    for voter in voters:
        card_key = SigningKey.generate()
        certificate = issue_card_certificate(
            keys.registry,
            card_id=f"card-{voter.national_code}",
            role="voter",
            national_code=voter.national_code,
            name_fa=voter.name_fa,
            name_en=voter.name_en,
            birth_date=voter.birth_date,
            card_public_key=card_key.public_key,
        )
        challenge_request = build_terminal_request(terminal_key, "T1", "inquiry-challenge", {})
        cards.append((card_key, certificate, challenge_request))
    return cards


def _check_in_one(server: Server, terminal_key: SigningKey, card: Card) -> None:
    card_key, certificate, challenge_request = card
    challenge = server.challenge(challenge_request)
    signature = card_key.sign_bytes(bytes.fromhex(challenge["challenge"]))
    body = card_answer_body(challenge["challenge_id"], certificate, signature)
    answer = server.check_in(build_terminal_request(terminal_key, "T1", "check-in", body))
    assert "authorization" in answer


def bench_check_ins(urls: tuple[str, str], transport: str, clients: int) -> float:
    """Steady-state check-ins/s: each client thread checks a spare voter in first, so
    the pools' connections are open and the caches full before the clock starts."""
    server, key, keys, voters = _prepare(urls, transport)
    cards = _cards(keys, key, voters[:CHECK_INS])
    spare = _cards(keys, key, voters[CHECK_INS : CHECK_INS + clients])
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda card: _check_in_one(server, key, card), spare))
        start = time.perf_counter()
        list(pool.map(lambda card: _check_in_one(server, key, card), cards))
        elapsed = time.perf_counter() - start
    server.state.dispose()
    return round(len(cards) / elapsed, 1)


def bench_check_ins_workers(urls: tuple[str, str], transport: str, workers: int) -> float | None:
    """Check-ins/s from ``workers`` server processes on one database, as gunicorn runs
    them in production; each process has its own app and CHECK_IN_CLIENTS threads."""
    if not hasattr(os, "fork"):
        return None
    server, key, keys, voters = _prepare(urls, transport)
    cards = _cards(keys, key, voters[:CHECK_INS])
    spare = _cards(keys, key, voters[CHECK_INS : CHECK_INS + workers * CHECK_IN_CLIENTS])
    server.state.dispose()
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(workers + 1)

    def worker(part: list[Card], warm_up: list[Card]) -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, ALL_CPUS)
        child = Server(ServerConfig(urls[0], urls[1], keys, run_migrations=False), transport)
        with ThreadPoolExecutor(CHECK_IN_CLIENTS) as pool:
            # Open the pool's connections and fill the caches before the clock starts.
            list(pool.map(lambda card: _check_in_one(child, key, card), warm_up))
            ready.wait()
            list(pool.map(lambda card: _check_in_one(child, key, card), part))
        child.state.dispose()

    processes = [
        context.Process(target=worker, args=(cards[index::workers], spare[index::workers]))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    ready.wait()
    start = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - start
    if any(process.exitcode != 0 for process in processes):
        raise RuntimeError("a check-in worker process failed")
    return round(len(cards) / elapsed, 1)


def _postgres_schema(base_url: str) -> tuple[str, Any]:
    schema = f"evote_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}", (admin, schema)


def _drop(handle: Any) -> None:
    admin, schema = handle
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transport", choices=TRANSPORTS, default="wsgi")
    transport = parser.parse_args().transport
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        # One core, literally: this process (server and its client threads) on the
        # highest CPU, as bench_crypto does; the database server runs where it runs.
        pinned = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})
    result: dict[str, Any] = {"bench": "intake", "transport": transport, "pinned_cpu": pinned}
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        urls = (f"sqlite:///{base / 'ballot.sqlite'}", f"sqlite:///{base / 'registry.sqlite'}")
        sqlite = bench_ballots(urls, transport)
    result["ballots_per_s_sqlite"] = sqlite["ballots_per_s"]
    result["ballots_per_s_postgres"] = None
    result["checkins_per_s_postgres"] = None
    result["checkin_clients"] = CHECK_IN_CLIENTS
    result["checkins_per_s_postgres_1_client"] = None
    result["checkins_per_s_postgres_2_workers"] = None
    result["verify_ms_per_ballot"] = sqlite["verify_ms"]
    result["intake_overhead_ms_per_ballot_sqlite"] = sqlite["overhead_ms"]
    result["intake_overhead_ms_per_ballot_postgres"] = None
    postgres = os.environ.get("EVOTE_BENCH_DATABASE_URL") or os.environ.get(
        "EVOTE_TEST_DATABASE_URL"
    )
    if postgres:
        url, handle = _postgres_schema(postgres)
        try:
            figures = bench_ballots((url, url), transport)
        finally:
            _drop(handle)
        result["ballots_per_s_postgres"] = figures["ballots_per_s"]
        result["intake_overhead_ms_per_ballot_postgres"] = figures["overhead_ms"]
        for name, clients in (
            ("checkins_per_s_postgres", CHECK_IN_CLIENTS),
            ("checkins_per_s_postgres_1_client", 1),
        ):
            url, handle = _postgres_schema(postgres)
            try:
                result[name] = bench_check_ins((url, url), transport, clients)
            finally:
                _drop(handle)
        url, handle = _postgres_schema(postgres)
        try:
            result["checkins_per_s_postgres_2_workers"] = bench_check_ins_workers(
                (url, url), transport, 2
            )
        finally:
            _drop(handle)
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, ALL_CPUS)  # gunicorn's workers get every core
        load = StationLoad.build(postgres)
        result["load_average_http_start"] = load_average()
        for workers in HTTP_WORKERS:
            result.update(http_keys(bench_http(load, postgres, workers), str(workers)))
        result.update(http_keys(bench_http(load, postgres, 1, threads=4), "1_threads_4"))
        result["load_average_http_end"] = load_average()
    print(json.dumps(marked(result)))


if __name__ == "__main__":
    main()
