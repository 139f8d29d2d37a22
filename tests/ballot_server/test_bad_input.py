"""Malformed, oversized and random bodies get a 4xx JSON error and store nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import Setup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ballot_server.models import BoardEntry, RequestNonce
from ballot_server.registry_models import CheckIn, InquiryNonce, IssuedPass, SpentChallenge
from crypto.ballot import GENESIS_TRACKING_CODE

POST_PATHS = [
    "/api/v1/inquiry/challenge",
    "/api/v1/inquiry/check-in",
    "/api/v1/inquiry/passes",
    "/api/v1/inquiry/passes/redeem",
    "/api/v1/polls/challenge",
    "/api/v1/polls/action",
    "/api/v1/ballots/cast",
    "/api/v1/ballots/challenge",
    "/api/v1/terminal/status",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def post(url: str, data: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def assert_refused(status: int, body: Any) -> None:
    assert 400 <= status < 500, (status, body)
    assert set(body) >= {"code", "message", "message_fa", "message_en"}


def _count(engine: Any, table: Any) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def stored(setup: Setup) -> tuple[int, ...]:
    """Board entries and every registry row a request could leave. Not nonces: a
    request signed by a registered terminal leaves its nonce (replay protection) even
    when its body is refused."""
    intake, registry = setup.state.engine, setup.state.registry_engine
    return (
        _count(intake, BoardEntry),
        *(_count(registry, table) for table in (CheckIn, IssuedPass, SpentChallenge)),
    )


def nonces(setup: Setup) -> tuple[int, int]:
    return _count(setup.state.engine, RequestNonce), _count(
        setup.state.registry_engine, InquiryNonce
    )


def test_malformed_wrongly_typed_and_oversized_bodies_are_refused(sqlite_setup: Setup) -> None:
    url = sqlite_setup.server.url
    before = stored(sqlite_setup)
    for path in POST_PATHS:
        assert_refused(*post(url + path, b"{not json"))
        assert_refused(*post(url + path, b'{"a": 1, "a": 2}'))
        assert_refused(*post(url + path, b"[1, 2, 3]"))
        assert_refused(*post(url + path, b"{}", "text/plain"))
        assert_refused(*post(url + path, b" " * (600 * 1024)))
    assert_refused(*post(url + "/api/v1/nowhere", b"{}"))
    assert stored(sqlite_setup) == before
    assert nonces(sqlite_setup) == (0, 0)


def test_invalid_points_are_refused_and_nothing_is_stored(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    authorization = setup.check_in("T1", setup.election.card(setup.election.eligible()[0]))[
        "authorization"
    ]
    body = setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE)
    body["ballot"]["contests"][0]["blank"]["alpha"] = "ff" * 32
    envelope = setup.terminals["T1"].sign("cast", body)
    status, answer = post(setup.server.url + "/api/v1/ballots/cast", json.dumps(envelope).encode())
    assert status == 422 and answer["code"] == "invalid_point"
    assert stored(setup)[0] == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(POST_PATHS),
    body=json_values,
    action=st.sampled_from(["cast", "check-in", "poll-action", "redeem-pass"]),
)
def test_random_bodies_signed_or_not_are_refused(
    sqlite_setup: Setup, path: str, body: Any, action: str
) -> None:
    before = stored(sqlite_setup)
    url = sqlite_setup.server.url + path
    assert_refused(*post(url, json.dumps(body).encode()))
    if isinstance(body, dict):
        signed = sqlite_setup.terminals["T1"].sign(action, body)
        assert_refused(*post(url, json.dumps(signed).encode()))
    assert stored(sqlite_setup) == before
