"""Officials countersign a closed station's report with their card: exactly its counts,
of the latest revision, of the last close (after an HQ reopen, not the first's)."""

from __future__ import annotations

from typing import Any

from server_harness import Setup, client_station
from test_refusals import refused

from ballot_server.polls import hq_reopen
from crypto.ballot import GENESIS_TRACKING_CODE
from evote import protocol
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


def _close_signed_for(setup: Setup, poll_version: int) -> dict[str, Any]:
    """A close by T1 naming ``poll_version``, over a fresh challenge."""
    client = setup.terminals["T1"]
    card = setup.official()
    challenge = client.official_challenge()
    return client.poll_action(
        "close",
        card.certificate,
        card.sign(challenge["challenge"]),
        challenge["challenge_id"],
        protocol.JournalDeclaration((0, GENESIS_TRACKING_CODE)),
        poll_version=poll_version,
    )


def _countersigned(setup: Setup) -> Any:
    return setup.terminals["T1"].poll_status("S-101").get("countersigned")


def test_the_officials_card_countersigns_the_closing_counts(sqlite_setup: Setup) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    refused(lambda: _countersign(setup, {"station_id": "S-101"}), "not_closed")
    report = setup.poll("T1", "close")["report"]["payload"]
    assert _countersigned(setup) is False
    counts = closing_counts(report)
    refused(lambda: _countersign(setup, {**counts, "check_ins": 1}), "countersign_mismatch")
    answer = _countersign(setup, counts)
    signed = answer["report"]["payload"][COUNTERSIGNED]
    assert signed["counts"] == counts
    assert setup.poll_report("S-101")[COUNTERSIGNED] == signed
    assert _countersigned(setup) is True


def test_a_reissued_report_needs_a_fresh_countersignature_and_refuses_the_old_one(
    sqlite_setup: Setup,
) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    first = setup.poll("T1", "close")["report"]["payload"]
    _countersign(setup, closing_counts(first))
    # T2 declares its journal after the close: the report is reissued (revision 2).
    setup.terminals["T2"].status(protocol.JournalDeclaration((0, GENESIS_TRACKING_CODE)))
    status = setup.terminals["T1"].poll_status("S-101")
    assert (status["closing_revision"], status["countersigned"]) == (2, False)
    reissued = setup.terminals["T1"].closing_report("S-101")
    assert COUNTERSIGNED not in reissued and reissued["revision"] == 2
    stale = refused(lambda: _countersign(setup, closing_counts(first)), "countersign_stale")
    assert "revision 1; this one is revision 2" in stale.message_en
    _countersign(setup, closing_counts(reissued))
    assert _countersigned(setup) is True


def test_the_first_periods_close_and_countersignature_do_not_serve_the_second(
    sqlite_setup: Setup,
) -> None:
    setup = sqlite_setup
    setup.poll("T1", "open")
    first = setup.poll("T1", "close")["report"]["payload"]
    assert first["poll_version"] == 1
    _countersign(setup, closing_counts(first))
    first_close = setup.poll_report("S-101")["closed_by"]
    assert hq_reopen(setup.state, "S-101") == "paused"
    setup.poll("T1", "resume")
    # The first close's own signed request, sent again: refused, the polls stay open.
    refused(
        lambda: setup.terminals["T1"]._request("POST", protocol.PATH_POLL_ACTION, first_close),
        "replayed_request",
    )
    # A fresh request naming the first period's version: refused with its own code.
    mismatch = refused(lambda: _close_signed_for(setup, 1), "poll_version_mismatch")
    assert mismatch.details == {"poll_version": 4}
    assert setup.terminals["T1"].poll_status("S-101")["state"] == "open"
    second = _close_signed_for(setup, 4)["report"]["payload"]
    assert (second["poll_version"], second["revision"]) == (4, 1)
    assert COUNTERSIGNED not in second
    # Same counts as the first close (nobody voted), other period: stale.
    refused(lambda: _countersign(setup, closing_counts(first)), "countersign_stale")
    _countersign(setup, closing_counts(second))
    assert _countersigned(setup) is True
