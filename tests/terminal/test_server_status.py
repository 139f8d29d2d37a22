"""A restarted terminal can ask the server where its chain stands (and the answer comes)."""

from __future__ import annotations

from station_harness import TERMINAL_ID, StationHarness

from evote.client import BallotServerClient


def test_terminal_status_answers_with_poll_state_and_chain_head(station: StationHarness) -> None:
    client = BallotServerClient(station.server_url, TERMINAL_ID, station.terminal_key)
    status = client.status()
    assert status["terminal_id"] == TERMINAL_ID
    assert status["poll_state"] == "not_opened"
    assert (status["last_sequence"], status["chain_head"]) == (0, "00" * 32)
