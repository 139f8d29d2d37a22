"""Intake and check-in throughput of the ballot server, one core, in-process.

Ballots: the sample election's standard ballot (Majlis up to 3 of 10 +
Assembly of Experts 1 of 8), each a signed cast request going through the same
service function the HTTP endpoint calls — signature, parsing with point
validation, every proof, the transaction and commit. Check-ins: challenge +
card answer + checks + atomic check-in + signed authorization, from 8 concurrent
clients (as several stations would; PostgreSQL group-commits their flushes). PostgreSQL
figures need EVOTE_BENCH_DATABASE_URL or EVOTE_TEST_DATABASE_URL (else null).
Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from ballot_server.config import ServerConfig
from ballot_server.inquiry import check_in, issue_challenge
from ballot_server.intake import submit
from ballot_server.keys import KeySet
from ballot_server.polls import transition
from ballot_server.requests import authenticate
from ballot_server.setup import (
    create_election,
    issue_card_certificate,
    register_terminal,
    sign_manifest,
)
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE, encrypt_ballot, tracking_code
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote.jalali import age_on, parse_jalali
from evote.manifest import Manifest
from evote.protocol import ballot_body, build_terminal_request, card_answer_body
from evote.sample import sample_manifest, sample_people

BALLOTS = 60
CHECK_INS = 300
CHECK_IN_CLIENTS = 8
ELECTION_DATE = date(2028, 3, 1)


def _roll(people: list[Any]) -> str:
    rows = ["national_code,name_fa,name_en,birth_date,alive,district_id"]
    rows += [",".join(p.roll_row().values()) for p in people]
    return "\n".join(rows) + "\n"


def _prepare(urls: tuple[str, str]) -> tuple[ServerState, SigningKey, KeySet, list[Any]]:
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
    state = ServerState(ServerConfig(urls[0], urls[1], keys))
    assert keys.hq is not None
    create_election(state, sign_manifest(keys.hq, document), trustees, _roll(eligible))
    terminal_key = SigningKey.generate()
    register_terminal(state, "T1", "S-101", terminal_key.public_key)
    with state.sessions.begin() as session:
        transition(state, session, "S-101", "open", state.now())
    return state, terminal_key, keys, eligible


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
            },
        ).to_json()
        ballot, _ = encrypt_ballot(
            info.context, "tehran-1", specs, {"majlis": ["1101", "1102"], "experts": ["2203"]}
        )
        body = ballot_body("S-101", sequence, previous, ballot, authorization)
        requests.append(build_terminal_request(key, "T1", "cast", body))
        previous = tracking_code(ballot, previous)
    return requests


def bench_ballots(urls: tuple[str, str]) -> float:
    state, key, keys, _ = _prepare(urls)
    requests = _ballot_requests(state, key, keys)
    start = time.perf_counter()
    for request in requests:
        submit(state, request, "cast")
    elapsed = time.perf_counter() - start
    state.dispose()
    return round(BALLOTS / elapsed, 1)


def bench_check_ins(urls: tuple[str, str]) -> float:
    state, key, keys, voters = _prepare(urls)
    assert keys.registry is not None
    cards = []
    for voter in voters[:CHECK_INS]:
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
        cards.append((card_key, certificate))

    def one(card: tuple[SigningKey, dict[str, Any]]) -> None:
        card_key, certificate = card
        request = build_terminal_request(key, "T1", "inquiry-challenge", {})
        _, terminal = authenticate(state, request, "inquiry-challenge")
        challenge = issue_challenge(state, terminal)
        signature = card_key.sign_bytes(bytes.fromhex(challenge["challenge"]))
        body = card_answer_body(challenge["challenge_id"], certificate, signature)
        parsed, terminal = authenticate(
            state, build_terminal_request(key, "T1", "check-in", body), "check-in"
        )
        check_in(state, parsed, terminal)

    start = time.perf_counter()
    with ThreadPoolExecutor(CHECK_IN_CLIENTS) as pool:
        list(pool.map(one, cards))
    elapsed = time.perf_counter() - start
    state.dispose()
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
    result: dict[str, Any] = {"bench": "intake"}
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        urls = (f"sqlite:///{base / 'ballot.sqlite'}", f"sqlite:///{base / 'registry.sqlite'}")
        result["ballots_per_s_sqlite"] = bench_ballots(urls)
    postgres = os.environ.get("EVOTE_BENCH_DATABASE_URL") or os.environ.get(
        "EVOTE_TEST_DATABASE_URL"
    )
    result["ballots_per_s_postgres"] = None
    result["checkins_per_s_postgres"] = None
    if postgres:
        for name, function in (
            ("ballots_per_s_postgres", bench_ballots),
            ("checkins_per_s_postgres", bench_check_ins),
        ):
            url, handle = _postgres_schema(postgres)
            try:
                result[name] = function((url, url))
            finally:
                _drop(handle)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
