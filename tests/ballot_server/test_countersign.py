"""Officials countersign a closed station's report with their card: exactly its counts."""

from __future__ import annotations

from typing import Any

from server_harness import Setup, client_station
from test_refusals import refused

from evote.countersign import COUNTERSIGN, COUNTERSIGNED, closing_counts, countersign_message


def _countersign(setup: Setup, counts: dict[str, Any]) -> dict[str, Any]:
    client = setup.terminals["T1"]
    card = setup.official(client_station(setup, "T1"))
    challenge = client.official_challenge()
    signature = card.key.sign_bytes(
        countersign_message(bytes.fromhex(challenge["challenge"]), counts)
    )
    return client.poll_action(
        COUNTERSIGN, card.certificate, signature, challenge["challenge_id"], counts=counts
    )


def test_the_officials_card_countersigns_the_closing_counts(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    refused(lambda: _countersign(setup, {"station_id": "S-101"}), "not_closed")
    report = setup.poll("T1", "close")["report"]["payload"]
    counts = closing_counts(report)
    refused(lambda: _countersign(setup, {**counts, "check_ins": 1}), "countersign_mismatch")
    answer = _countersign(setup, counts)
    signed = answer["report"]["payload"][COUNTERSIGNED]
    assert signed["counts"] == counts
    assert setup.poll_report("S-101")[COUNTERSIGNED] == signed
