"""Whole voter sessions through the kiosk API, a real ballot server and devices on ptys."""

from __future__ import annotations

from pathlib import Path

from station_harness import STATION_ID, TERMINAL_ID, StationHarness, printed_qr_codes

from evote.client import BallotServerClient
from terminal.kiosk_client import KioskClient, KioskRefused
from terminal.runner import RunningTerminal

CHOICES = {"majlis": ["1101", "1104", "1109"], "experts": ["2203"]}


def server_client(station: StationHarness) -> BallotServerClient:
    return BallotServerClient(station.server_url, TERMINAL_ID, station.terminal_key)


def test_a_vote_is_on_the_board_and_the_receipt_links_to_it(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    voter = station.next_voter()
    assert station.sign_in(kiosk, voter)["state"] == "inquiry"
    printed_before = len(station.printer.receipts)
    code = kiosk.vote(CHOICES)
    receipt = station.printer.receipts[printed_before]
    assert printed_qr_codes(receipt) == [f"{station.server_url}/track/{code}".encode()]
    station.reader.remove()
    assert kiosk.wait_for("idle")["notice"] is None
    # The receipt prints once the ballot is journaled; the uplink delivers it next.
    _wait_delivered(running)
    entry = server_client(station).lookup(code)
    assert entry["found"] and entry["kind"] == "ballot" and entry["station_id"] == STATION_ID


def test_a_challenged_ballot_is_published_and_the_voter_votes_again(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    challenged = kiosk.wait_for("tracking")["tracking"]["code"]
    assert kiosk.post("challenge")["state"] == "challenged"
    slip = station.printer.receipts[-1]
    check_url = f"{station.server_url}/check/EVC2:{challenged}:".upper()
    assert printed_qr_codes(slip)[0].startswith(check_url.encode())
    kiosk.post("vote-again")
    cast = kiosk.vote(CHOICES)
    assert cast != challenged
    client = server_client(station)
    _wait_delivered(running)
    assert client.lookup(challenged)["kind"] == "challenged"
    assert client.lookup(cast)["kind"] == "ballot"
    assert running.booth.journal.head()[0] == 2


def test_limits_are_enforced_by_the_terminal(station: StationHarness, kiosk: KioskClient) -> None:
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    try:
        kiosk.review({"experts": ["2201", "2202"]})
    except KioskRefused as refused:
        assert refused.code == "invalid_choices"
    else:
        raise AssertionError("two choices in a 1-of-8 contest were accepted")
    assert kiosk.state()["state"] == "ballot"
    view = kiosk.review({})
    assert view["state"] == "review" and view["choices"] == {"majlis": [], "experts": []}


def test_a_voter_who_already_voted_is_refused(station: StationHarness, kiosk: KioskClient) -> None:
    voter = station.next_voter()
    station.sign_in(kiosk, voter)
    kiosk.vote(CHOICES)
    station.reader.remove()
    kiosk.wait_for("idle")
    station.sign_in(kiosk, voter)
    view = kiosk.wait_for("refused")
    assert view["notice"]["code"] == "already_voted"
    assert view["notice"]["fa"] and view["notice"]["en"]


def test_someone_not_on_the_roll_is_refused(station: StationHarness, kiosk: KioskClient) -> None:
    stranger = next(person for person in station.people if not person.on_roll)
    station.sign_in(kiosk, stranger)
    assert kiosk.wait_for("refused")["notice"]["code"] == "not_on_roll"


def test_wrong_pins_show_tries_left_then_the_lockout(
    station: StationHarness, kiosk: KioskClient
) -> None:
    voter = station.next_voter()
    wrong = "0000" if voter.pin != "0000" else "1111"
    station.reader.insert(station.card(voter))
    kiosk.wait_for("pin")
    assert kiosk.enter_pin(wrong)["tries_left"] == 2
    assert kiosk.enter_pin(wrong)["tries_left"] == 1
    view = kiosk.enter_pin(wrong)
    assert view["state"] == "refused" and view["notice"]["code"] == "pin_blocked"
    station.reader.remove()
    kiosk.wait_for("idle")
    station.reader.insert(station.card(voter))
    assert kiosk.wait_for("refused")["notice"]["code"] == "pin_blocked"


def test_pulling_the_card_before_cast_cancels_and_casts_nothing(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    printed = len(station.printer.receipts)
    station.reader.remove()
    view = kiosk.wait_for("cancelled")
    assert view["notice"]["code"] == "cancelled"
    try:
        kiosk.post("cast")
    except KioskRefused as refused:
        assert refused.code == "illegal_transition"
    assert running.booth.journal.head()[0] == 0
    assert len(station.printer.receipts) == printed


def test_a_qr_pass_starts_the_same_flow(station: StationHarness, kiosk: KioskClient) -> None:
    from crypto.canonical import canonical_json
    from crypto.signing import SigningKey

    voter = station.next_voter()
    card = station.card(voter)
    desk = server_client(station)
    challenge = desk.inquiry_challenge()
    card_key = SigningKey(bytes.fromhex(card.image["private_key_seed"]))
    signature = card_key.sign_bytes(bytes.fromhex(challenge["challenge"]))
    issued = desk.issue_pass(card.image["certificate"], signature, challenge["challenge_id"])
    station.scanner.scan(canonical_json(issued["qr_pass"]))
    kiosk.vote(CHOICES)
    kiosk.post("dismiss")
    assert kiosk.wait_for("idle")["state"] == "idle"


def test_officials_pause_and_voters_are_refused_until_resumed(
    station: StationHarness, kiosk: KioskClient
) -> None:
    station.sign_in(kiosk, station.official)
    view = kiosk.wait_for("officials")
    assert view["officials"]["waiting"] == 0
    assert kiosk.post("officials/pause")["polls_state"] == "paused"
    kiosk.post("dismiss")
    station.reader.remove()
    station.reader.insert(station.card(station.next_voter()))
    assert kiosk.wait_for("refused")["notice"]["code"] == "polls_paused"
    station.reader.remove()
    station.sign_in(kiosk, station.official)
    kiosk.wait_for("officials")
    assert kiosk.post("officials/resume")["polls_state"] == "open"


def _wait_delivered(running: RunningTerminal, timeout_s: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while running.booth.journal.counts().waiting:
        assert time.monotonic() < deadline, "journal not delivered in time"
        time.sleep(0.05)


def test_an_abandoned_session_times_out_and_casts_nothing(
    station: StationHarness, tmp_path: Path
) -> None:
    running = station.start_terminal(tmp_path / "short-timeout", session_timeout_s=1.0)
    try:
        kiosk = KioskClient(running.url)
        station.open_polls(kiosk)
        station.sign_in(kiosk, station.next_voter())
        kiosk.wait_for("ballot")
        view = kiosk.wait_for("cancelled", timeout_s=10)
        assert view["notice"]["code"] == "timeout"
        assert running.booth.journal.head()[0] == 0
    finally:
        running.stop()


def test_out_of_paper_the_vote_still_counts_and_the_receipt_prints_after_reloading(
    station: StationHarness, kiosk: KioskClient, running: RunningTerminal
) -> None:
    import time

    station.sign_in(kiosk, station.next_voter())
    kiosk.wait_for("ballot")
    kiosk.review(CHOICES)
    kiosk.post("confirm")
    kiosk.wait_for("tracking")
    printed = len(station.printer.receipts)
    with station.printer.lock:
        station.printer.paper_out = True
    view = kiosk.post("cast")
    assert view["state"] == "receipt"
    assert view["printed"]["printer_problem"] == "paper_out"
    assert running.booth.journal.head()[0] == 1
    station.printer.load_paper()
    deadline = time.monotonic() + 10
    while len(station.printer.receipts) == printed:
        assert time.monotonic() < deadline, "the held receipt was never printed"
        time.sleep(0.05)
