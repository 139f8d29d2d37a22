"""Hypothesis over every endpoint, on SQLite and PostgreSQL: never a 5xx, every refusal
a JSON ``{code, message, …}`` body, and a refused request changes nothing stored.

Requests go through the whole Flask app (its test client: the WSGI stack without a
socket, so a few thousand requests take seconds). Each example sends a few: random
JSON, terminal-signed random bodies, and valid requests of every kind with one field
replaced by something hostile (NUL bytes, lone surrogates, 2^31, 10^20, deep or empty
values) and signed again, so they pass the signature and reach the deeper checks.
What a request may leave when refused is its nonce (replay protection), a spent
challenge and its refusal's count, counted apart; every other table is compared
before and after. The one page for people among them (``/check``, a challenge
slip) refuses with its own HTML page, naming the problem.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import Election, Setup, make_setup
from sqlalchemy import Engine, inspect, text

from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.errors import DecodingError
from crypto.signing import SigningKey
from evote import protocol

REQUESTS_PER_EXAMPLE = 3
EXAMPLES = 700  # x 3 requests: over 2,000 per backend
# What a refused request may leave: a validly signed request's nonce, the card challenge
# its answer spent, and one more in its station's count of that reason (counts only,
# test_refusal_counts.py).
REPLAY_TABLES = {"request_nonces", "inquiry_nonces", "spent_challenges", "refusal_counts"}
HOSTILE = st.sampled_from(
    [
        "\x00",
        "T1\x00",
        "S-101\x00",
        "\ud800",
        "",
        "a" * 300,
        "9" * 5000,
        2**31,
        2**31 - 1,
        2**63,
        10**20,
        -1,
        0,
        True,
        None,
        [],
        {},
        [[[[[]]]]],
        "00" * 16,
        "ff" * 32,
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
GET_TEMPLATES = [
    protocol.PATH_ELECTION,
    protocol.PATH_TURNOUT,
    protocol.PATH_ROOTS,
    protocol.PATH_CONSISTENCY + "?first={value}&second={value}",
    protocol.PATH_BOARD + "?start={value}&limit={value}",
    protocol.PATH_BOARD + "?station={value}&start={value}",
    protocol.PATH_BOARD + "?start={value}",
    protocol.PATH_POLL_STATUS.replace("{station_id}", "{value}"),
    protocol.PATH_CLOSING_REPORT.replace("{station_id}", "{value}"),
    protocol.PATH_STATION_EXPORT.replace("{station_id}", "{value}"),
    protocol.PATH_LOOKUP.replace("{tracking_code}", "{value}"),
    "/track/{value}",
    "/turnout",
    "/check",
    "/check?slip={value}",
    "/check/{value}",
    "/CHECK/{value}",
    "/",
    "/api/v1/hq",
    "/hq/{value}",
    "/hq/fonts/{value}",
]
PATH_TEXT = st.one_of(
    st.sampled_from(["S-101", "0", "-1", "1" + "0" * 20, "%00", "%ED%A0%80", "ff" * 32, "%2F"]),
    st.text(max_size=12).map(lambda text: quote(text, safe="")),
)


class Fuzzed:
    """One election per backend, and a valid request of every kind to mutate."""

    def __init__(self, setup: Setup, terminal_key: SigningKey) -> None:
        self.setup = setup
        self.key = terminal_key
        self.app = setup.server.app
        self.client = self.app.test_client()
        self.sent = 0
        setup.poll("T1", "open")
        people = iter(setup.election.eligible())
        card = setup.election.card(next(people))
        challenge = setup.terminals["T1"].inquiry_challenge()
        check_in = protocol.card_answer_body(
            challenge["challenge_id"],
            card.certificate,
            card.sign(challenge["challenge"]),
            os.urandom(16),
        )
        authorization = setup.check_in("T1", setup.election.card(next(people)))["authorization"]
        ballot = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
        official = setup.official()
        official_challenge = setup.terminals["T1"].official_challenge()
        poll = protocol.poll_action_body(
            "pause",
            official_challenge["challenge_id"],
            official.certificate,
            official.sign(official_challenge["challenge"]),
        )
        void = setup.terminals["T1"].void("S-101", "ab" * 16, "cancelled")["void"]
        self.templates: dict[str, tuple[str, dict[str, Any]]] = {
            protocol.PATH_INQUIRY_CHALLENGE: (protocol.ACTION_INQUIRY_CHALLENGE, {}),
            protocol.PATH_CHECK_IN: (protocol.ACTION_CHECK_IN, check_in),
            protocol.PATH_ISSUE_PASS: (protocol.ACTION_ISSUE_PASS, dict(check_in)),
            protocol.PATH_REDEEM_PASS: (protocol.ACTION_REDEEM_PASS, {"qr_pass": void}),
            protocol.PATH_RELEASE: (
                protocol.ACTION_RELEASE,
                protocol.release_body("0012345678", os.urandom(16), void),
            ),
            protocol.PATH_OFFICIAL_CHALLENGE: (protocol.ACTION_OFFICIAL_CHALLENGE, {}),
            protocol.PATH_POLL_ACTION: (protocol.ACTION_POLL, poll),
            protocol.PATH_CAST: (protocol.ACTION_CAST, ballot),
            protocol.PATH_CHALLENGE: (protocol.ACTION_CHALLENGE, ballot),
            protocol.PATH_VOID: (
                protocol.ACTION_VOID,
                protocol.void_body("S-101", "cd" * 16, "timeout"),
            ),
            protocol.PATH_TERMINAL_STATUS: (protocol.ACTION_STATUS, {}),
        }

        state = setup.state
        self.counting = [
            (engine, _count_rows(engine)) for engine in (state.engine, state.registry_engine)
        ]

    def stored(self) -> list[dict[str, int]]:
        """Rows of every table but the replay records, both databases, one query each."""
        stored = []
        for engine, query in self.counting:
            with engine.connect() as connection:
                stored.append(dict(connection.execute(query).mappings().one()))
        return stored


def _count_rows(engine: Engine) -> Any:
    names = sorted(set(inspect(engine).get_table_names()) - REPLAY_TABLES)
    columns = ", ".join(
        f'(SELECT count(*) FROM "{name}") AS "{name}"'
        for name in names
        if not name.startswith("alembic")
    )
    return text(f"SELECT {columns}")


def _replace_somewhere(body: Any, choice: int, value: Any) -> Any:
    """``body`` with the ``choice``-th leaf or member (depth-first, wrapping) replaced."""
    slots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in node:
                slots.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for index in range(len(node)):
                slots.append((node, index))
                walk(node[index])

    copy = json.loads(json.dumps(body))
    walk(copy)
    if not slots:
        return value
    container, key = slots[choice % len(slots)]
    container[key] = value
    return copy


@st.composite
def requests(draw: st.DrawFn, fuzzed: Fuzzed) -> tuple[str, str, bytes | None]:
    """(method, path, body) of one request."""
    kind = draw(st.sampled_from(["get", "raw", "signed", "mutated", "mutated", "mutated"]))
    if kind == "get":
        template = draw(st.sampled_from(GET_TEMPLATES))
        return "GET", template.replace("{value}", draw(PATH_TEXT)), None
    path = draw(st.sampled_from(sorted(fuzzed.templates)))
    action, body = fuzzed.templates[path]
    if kind == "raw":
        return "POST", path, json.dumps(draw(JSON_VALUES)).encode()
    if kind == "signed":
        body = draw(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
    else:
        value = draw(st.one_of(HOSTILE, JSON_VALUES))
        body = _replace_somewhere(body, draw(st.integers(0, 200)), value)
        if not isinstance(body, dict):
            body = {"body": body}
    terminal_id = draw(st.sampled_from(["T1", "T1", "T1", "T3", "T9", "T1\x00"]))
    key = fuzzed.key if terminal_id != "T3" else SigningKey.generate()
    action = draw(st.sampled_from([action, action, action, protocol.ACTION_CAST]))
    try:
        envelope = protocol.build_terminal_request(key, terminal_id, action, body)
    except DecodingError:  # no canonical form (a lone surrogate): sent unsigned, escaped
        return "POST", path, json.dumps(body).encode()
    return "POST", path, json.dumps(envelope).encode()


def _rule(path: str) -> str:
    return path.split("?")[0].replace("{value}", "<>")


def test_the_fuzz_test_covers_every_endpoint(fuzzed: Fuzzed) -> None:
    """A new endpoint must be added here (and so be fuzzed) before this passes."""
    served = {
        re.sub(r"<[^>]*>", "<>", rule.rule)
        for rule in fuzzed.app.url_map.iter_rules()
        if rule.endpoint != "static"
    }
    fuzzed_rules = {_rule(template) for template in GET_TEMPLATES} | set(fuzzed.templates)
    assert served == fuzzed_rules


@pytest.fixture
def fuzzed(election: Election, database_urls: tuple[str, str]) -> Iterator[Fuzzed]:
    setup, keys = make_setup(election, database_urls)
    try:
        yield Fuzzed(setup, keys[0])
    finally:
        setup.server.stop()


def test_no_request_to_any_endpoint_gets_a_5xx_or_changes_anything_when_refused(
    fuzzed: Fuzzed,
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(requests(fuzzed), min_size=REQUESTS_PER_EXAMPLE, max_size=REQUESTS_PER_EXAMPLE))
    def check(batch: list[tuple[str, str, bytes | None]]) -> None:
        for method, path, body in batch:
            before = fuzzed.stored()
            answer = fuzzed.client.open(
                path, method=method, data=body, content_type="application/json"
            )
            fuzzed.sent += 1
            assert answer.status_code < 500, (method, path, body, answer.data[:300])
            page = path.lower().startswith("/check") and answer.mimetype == "text/html"
            if answer.status_code >= 400 and page:
                # The slip check is a page for people: its refusals are that page.
                assert answer.mimetype == "text/html" and b'id="problem"' in answer.data
                assert fuzzed.stored() == before, (method, path)
            elif answer.status_code >= 400:
                refusal = answer.get_json(silent=True)
                assert isinstance(refusal, dict), (path, answer.data[:300])
                assert {"code", "message", "message_fa", "message_en"} <= set(refusal)
                assert fuzzed.stored() == before, (method, path, refusal)

    check()
    assert fuzzed.sent >= 2000
