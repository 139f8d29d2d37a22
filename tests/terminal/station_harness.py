"""A whole polling station for terminal tests and the terminal benchmark.

A real ballot server (the Flask app on loopback, SQLite files), the sample
election with its roll, cards issued by the registry key, simulated card
reader / printer / scanner on real ptys, and a terminal key registered with
the server. Nothing is mocked: the terminal talks HTTP and serial bytes.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from ballot_server.app import create_app
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet, save_keys
from ballot_server.record import export_record
from ballot_server.setup import create_election, register_terminal, sign_manifest
from crypto.signing import SigningKey
from crypto.threshold import generate_trustee
from evote.certificates import read_trustee_signers
from evote.cli.demo import issue_card_for
from evote.manifest import Manifest
from evote.sample import Official, Person, roll_csv, sample_manifest, sample_people
from evote.serving import serve_in_thread
from firmware_sim.card import SimulatedCard
from firmware_sim.printer import PrintedReceipt, PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from firmware_sim.scanner import ScannerSimulator
from tally.ceremony import CeremonyResult, decrypt_with_trustees, run_ceremony
from tally.errors import VerificationFailure
from tally.pipeline import finish_tally, write_totals
from tally.record import Record, add_trustees
from tally.verifier import verify_record
from terminal.config import TerminalConfig
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal, start_terminal

ELECTION_DAY = date(2026, 3, 1)
STATION_ID = "S-101"
TERMINAL_ID = "T-101-1"
DESK_ID = "T-101-DESK"
ROLL_SIZE = 120
CEREMONY_PASSPHRASES = {index: f"station trustee {index}".encode() for index in range(1, 4)}


def key_ceremony(directory: Path) -> CeremonyResult:
    """The sample election's key ceremony, for a ``StationHarness`` whose record is tallied."""
    return run_ceremony(
        sample_manifest(ELECTION_DAY), CEREMONY_PASSPHRASES, directory, strength="interactive"
    )


@dataclass
class StationHarness:
    """Server, cards and devices of one station; start and stop the server at will."""

    root: Path
    keys: KeySet = field(default_factory=KeySet.generate)
    terminal_key: SigningKey = field(default_factory=SigningKey.generate)
    port: int = 0
    server: BaseWSGIServer | None = None
    cards: dict[str, SimulatedCard] = field(default_factory=dict)
    # With a key ceremony's trustees (whose secrets decrypt), the station's record can be
    # tallied and verified (``tally_and_verify``); without, trustees are generated bare.
    ceremony: CeremonyResult | None = None
    # The server's clock stands still at this second while set (``server_time``);
    # otherwise it is the machine's.
    pinned_now: int | None = None

    def __post_init__(self) -> None:
        server_dir = self.root / "server"
        save_keys(server_dir / "keys", self.keys)
        self.app = create_app(ServerConfig.for_data_dir(server_dir, clock=self.server_time))
        state = self.app.extensions["evote"]
        document = sample_manifest(ELECTION_DAY)
        self.manifest = Manifest.from_json(document)
        assert self.keys.hq is not None
        self.people, self.officials = sample_people(ELECTION_DAY, size=ROLL_SIZE)
        if self.ceremony is None:
            trustees = [
                generate_trustee(index, self.manifest.quorum, self.manifest.manifest_hash)[1]
                for index in range(1, self.manifest.trustee_count + 1)
            ]
            create_election(
                state, sign_manifest(self.keys.hq, document), trustees, roll_csv(self.people)
            )
        else:
            create_election(
                state,
                sign_manifest(self.keys.hq, document),
                self.ceremony.trustees,
                roll_csv(self.people),
                read_trustee_signers(
                    self.ceremony.exchange, (t.index for t in self.ceremony.trustees)
                ),
            )
        register_terminal(state, TERMINAL_ID, STATION_ID, self.terminal_key.public_key)
        self.reader = ReaderSimulator()
        self.printer = PrinterSimulator(self.root / "printed")
        self.scanner = ScannerSimulator()
        for device in (self.reader, self.printer, self.scanner):
            device.start()
        self.start_server()
        self._next_voter = 0

    # --- server -------------------------------------------------------------------

    def server_time(self) -> int:
        return int(time.time()) if self.pinned_now is None else self.pinned_now

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_server(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        serve_in_thread(self.server, "station-server").start()

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def tally_and_verify(self, directory: Path) -> VerificationFailure | None:
        """Export the record as it stands, tally it (trustees 1 and 2 decrypt) and verify
        it: None when it verifies, else the verifier's first failure."""
        assert self.ceremony is not None, "a station built with a key ceremony"
        record = export_record(self.app.extensions["evote"], directory)
        add_trustees(record, self.ceremony.exchange, self.manifest.trustee_count)
        totals = write_totals(Record(record))
        quorum = {index: CEREMONY_PASSPHRASES[index] for index in (1, 2)}
        finish_tally(Record(record), decrypt_with_trustees(self.ceremony, quorum, totals))
        try:
            verify_record(record)
        except VerificationFailure as failure:
            return failure
        return None

    def hq_station(self) -> dict[str, Any]:
        """This station's row of HQ's figures (``GET /api/v1/hq``), as the page gets it."""
        with urllib.request.urlopen(f"{self.server_url}/api/v1/hq", timeout=10) as response:
            figures = json.loads(response.read())
        row: dict[str, Any] = next(s for s in figures["stations"] if s["station_id"] == STATION_ID)
        return row

    def hq_station_when(
        self, condition: Callable[[dict[str, Any]], bool], timeout_s: float = 20
    ) -> dict[str, Any]:
        """The station's HQ row once ``condition`` holds (terminals report on their own
        rhythm); fails with the last row seen."""
        deadline = time.monotonic() + timeout_s
        while True:
            row = self.hq_station()
            if condition(row):
                return row
            assert time.monotonic() < deadline, f"HQ never showed it: {row}"
            time.sleep(0.3)

    def close(self) -> None:
        self.stop_server()
        for device in (self.reader, self.printer, self.scanner):
            device.stop()

    # --- people and cards -----------------------------------------------------------

    def eligible_voters(self) -> list[Person]:
        from evote.cli.demo_plan import eligibility

        return [p for p in self.people if eligibility(p, ELECTION_DAY) == "cast"]

    def next_voter(self) -> Person:
        """A fresh eligible voter each call, so tests sharing a server never collide."""
        voter = self.eligible_voters()[self._next_voter]
        self._next_voter += 1
        return voter

    def card(self, person: Person | Official) -> SimulatedCard:
        if person.national_code not in self.cards:
            assert self.keys.registry is not None
            image = issue_card_for(self.keys.registry, person)
            self.cards[person.national_code] = SimulatedCard(image)
        return self.cards[person.national_code]

    @property
    def official(self) -> Official:
        return next(o for o in self.officials if o.station_id == STATION_ID)

    # --- terminal -------------------------------------------------------------------

    def terminal_config(self, data_dir: Path, **overrides: object) -> TerminalConfig:
        settings: dict[str, object] = {
            "reader_url": self.reader.path,
            "printer_url": self.printer.path,
            "scanner_url": self.scanner.path,
            "server_url": self.server_url,
            "data_dir": data_dir,
            "terminal_id": TERMINAL_ID,
            "signing_key": self.terminal_key,
            "server_timeout_s": 3.0,
            "uplink_initial_backoff_s": 0.1,
            "uplink_max_backoff_s": 1.0,
            **overrides,
        }
        return TerminalConfig(**settings)  # type: ignore[arg-type]

    def start_terminal(self, data_dir: Path, **overrides: object) -> RunningTerminal:
        return start_terminal(self.terminal_config(data_dir, **overrides))

    def sign_in(self, kiosk: KioskClient, person: Person | Official) -> dict[str, object]:
        """Insert the person's card and enter the right PIN; the view after the PIN."""
        self.reader.insert(self.card(person))
        kiosk.wait_for("pin")
        return kiosk.enter_pin(person.pin)

    def open_polls(self, kiosk: KioskClient) -> None:
        """Through officials' mode, as the station's official would."""
        kiosk.wait_for("idle")
        self.sign_in(kiosk, self.official)
        kiosk.wait_for("officials")
        kiosk.post("officials/open")
        self.reader.remove()
        kiosk.wait_for("idle")


def printed_qr_codes(receipt: PrintedReceipt) -> list[bytes]:
    """The QR codes on a printed receipt, read back from its image as a phone would."""
    from pyzbar.pyzbar import decode

    return [symbol.data for symbol in decode(receipt.image.convert("L"))]
