"""A terminal crash before casting, as a real SIGKILL: the voter checks in again, votes once.

``evote terminal run`` runs as its own process (the fault suite's
``TerminalProcess``) on this station's simulated reader and printer. A voter
checks in and reaches the tracking code; the process is SIGKILLed there (no
shutdown, so nothing gives the session's authorization up), the card is
pulled, and the terminal is started again on the same journal. The restart
gives up what its journal still holds: the authorization is voided and the
check-in released, the voter checks in again and votes, the board holds that
one ballot, and a further check-in is refused ``already_voted``.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from station_harness import TERMINAL_ID, StationHarness
from test_outage import CHOICES
from test_voter_never_locked_out import released, to_ballot, votes_once_after

from ballot_server.registry_models import CheckIn
from evote.sample import Person

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))

from fault_station import TerminalProcess  # noqa: E402


def checked_in(station: StationHarness, voter: Person) -> bool:
    engine = station.app.extensions["evote"].registry_engine
    with Session(engine) as session:
        found = session.execute(
            select(CheckIn.national_code).where(CheckIn.national_code == voter.national_code)
        ).first()
    return found is not None


def held_releases(data_dir: Path) -> list[tuple[str, str | None]]:
    """The journal's releases: (voter, reason given up or None while a session holds it)."""
    with sqlite3.connect(data_dir / "journal.sqlite") as journal:
        return list(journal.execute("SELECT national_code, reason FROM releases"))


def test_terminal_killed_before_casting_then_the_voter_votes_once(
    station: StationHarness, tmp_path: Path
) -> None:
    key_file = tmp_path / "terminal.key"
    key_file.write_text(station.terminal_key.seed.hex())
    data_dir = tmp_path / "data"
    with (tmp_path / "terminal.log").open("w", encoding="utf-8") as log:
        booth = TerminalProcess(
            TERMINAL_ID,
            key_file,
            data_dir,
            station.server_url,
            log,
            reader=station.reader,
            printer=station.printer,
        )
        try:
            kiosk = booth.start()
            station.open_polls(kiosk)
            voter = station.next_voter()
            to_ballot(station, kiosk, voter)
            kiosk.review(CHOICES)
            kiosk.post("confirm")
            kiosk.wait_for("tracking")
            assert checked_in(station, voter) and not released(station, voter)

            booth.kill()  # SIGKILL: the session's authorization is still held, not given up
            assert booth.process is None
            assert held_releases(data_dir) == [(voter.national_code, None)]
            station.reader.remove()

            votes_once_after(station, booth.start(), voter)
            assert held_releases(data_dir) == []
        finally:
            booth.kill()
