"""`evote server revoke-terminal`: every worker refuses the terminal within seconds,
the revocation is audited and exported."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from server_harness import Election, make_setup
from sqlalchemy import select
from test_refusals import refused
from test_server_cli import hq  # noqa: F401 (fixture)

from ballot_server.cli import server
from ballot_server.config import ServerConfig
from ballot_server.models import Station
from ballot_server.record import export_record
from ballot_server.setup import revoke_terminal
from ballot_server.state import ServerState
from crypto.ballot import GENESIS_TRACKING_CODE
from crypto.signing import SignedEnvelope, SigningKey
from evote.certificates import REVOCATION_KIND
from evote.client import ServerRefused

CACHE_S = 0.5


def _refused_soon(call: Callable[[], Any], code: str) -> None:
    """Call until refused with ``code`` (bounded: a worker's cached copy lives CACHE_S)."""
    deadline = time.monotonic() + 20 * CACHE_S
    while True:
        try:
            call()
        except ServerRefused as refusal:
            if refusal.code == code:
                return
            raise
        assert time.monotonic() < deadline, f"still served after {20 * CACHE_S} s"
        time.sleep(CACHE_S / 5)


def test_a_revoked_terminal_is_refused_by_a_worker_that_had_cached_its_key(
    election: Election, database_urls: tuple[str, str], tmp_path: Path
) -> None:
    setup, _ = make_setup(election, database_urls, terminal_cache_s=CACHE_S)
    try:
        setup.poll("T1", "open")
        booth = setup.terminals["T1"]
        voters = iter(election.eligible())
        authorization = setup.check_in("T1", election.card(next(voters)))["authorization"]
        journaled = booth.sign("cast", setup.ballot("T1", authorization, 1, GENESIS_TRACKING_CODE))
        assert booth.status()["terminal_id"] == "T1"  # this worker now holds T1's key
        # HQ, from another process (as `evote server revoke-terminal` runs).
        hq_state = ServerState(ServerConfig(*database_urls, election.keys))
        try:
            revoke_terminal(hq_state, "T1", "stolen from the station")
        finally:
            hq_state.dispose()
        _refused_soon(booth.status, "terminal_revoked")
        _refused_soon(booth.inquiry_challenge, "terminal_revoked")
        refused(lambda: booth.submit_cast(journaled), "terminal_revoked")
        refused(lambda: setup.poll("T1", "close"), "terminal_revoked")
        # The station's other terminal is untouched.
        assert setup.check_in("T2", election.card(next(voters)))["authorization"]
        record = export_record(setup.state, tmp_path / "record")
        lines = (record / "revocations.jsonl").read_text().splitlines()
        revocation = SignedEnvelope.from_json(json.loads(lines[0]))
        payload = revocation.verify(REVOCATION_KIND, election.keys.hq_public)
        assert len(lines) == 1 and isinstance(payload, dict)
        assert (payload["terminal_id"], payload["reason"]) == ("T1", "stolen from the station")
        audit = [json.loads(line) for line in (record / "audit.jsonl").read_text().splitlines()]
        revoked = [entry for entry in audit if entry["event_id"] == "terminal.revoked"]
        assert revoked[0]["fields"] == {
            "terminal_id": "T1",
            "station_id": "S-101",
            "reason": "stolen from the station",
            "revocation": revocation.to_json(),
        }
        assert payload["revoked_at"] == revoked[0]["at"]
    finally:
        setup.server.stop()


def test_revoke_terminal_command_revokes_once_and_names_what_is_wrong(
    hq: Path,  # noqa: F811
) -> None:
    def run(*arguments: str) -> tuple[int, str]:
        result = CliRunner().invoke(server, [*arguments, "--data-dir", str(hq)])
        return result.exit_code, result.output

    key = SigningKey.generate().public_key.hex()
    assert run("register-terminal", "T1", "S-101", key)[0] == 0
    assert run("revoke-terminal", "T1")[0] == 2  # --reason is required
    code, output = run("revoke-terminal", "T1", "--reason", "   ")
    assert code == 1 and "reason" in output
    code, output = run("revoke-terminal", "T9", "--reason", "lost")
    assert code == 1 and "unknown terminal 'T9'" in output
    code, output = run("revoke-terminal", "T1", "--reason", "screen cracked, replaced")
    assert code == 0 and "terminal T1 revoked" in output
    code, output = run("revoke-terminal", "T1", "--reason", "again")
    assert code == 1 and "revoked already" in output


def test_a_terminal_key_is_read_again_inside_an_open_transaction_without_waiting(
    election: Election, tmp_path: Path
) -> None:
    """Reading a terminal's key again (its cached copy expired) while the same thread
    holds a transaction on that database: on SQLite a second transaction would wait
    for the first's write lock, so the read takes none."""
    urls = f"sqlite:///{tmp_path / 'ballot.sqlite'}", f"sqlite:///{tmp_path / 'registry.sqlite'}"
    setup, _ = make_setup(election, urls, terminal_cache_s=0.0)
    try:
        state = setup.state
        with state.sessions.begin() as session:
            session.execute(select(Station.station_id)).all()  # holds BEGIN IMMEDIATE
            assert state.terminal("T1").station_id == "S-101"
            assert state.intake_gate.terminal("T2").station_id == "S-101"
    finally:
        setup.server.stop()
