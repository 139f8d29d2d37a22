"""A polling station under faults, every part a real process.

The ballot server runs under gunicorn (several workers, SQLite in WAL mode);
each booth terminal is an ``evote terminal run`` process with its card reader
and receipt printer simulated on ptys in this process; between terminals and
server sits ``evote.link.CuttableLink``, which resets, stalls, drops answers
after the server acted, and cuts answers short. ``FaultRun`` (``fault_run.py``)
drives voters through the kiosks while it injects those faults and SIGKILLs
the server and the terminals; this module only starts, stops and restarts the
parts. Used by ``tests/faults/`` and ``make soak``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from ballot_server.app import create_app
from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet, save_keys
from ballot_server.setup import create_election, register_terminal, sign_manifest
from crypto.signing import SigningKey
from evote.certificates import read_trustee_signers
from evote.cli.demo import issue_card_for
from evote.cli.demo_plan import eligibility
from evote.link import CuttableLink
from evote.manifest import Manifest
from evote.sample import Official, Person, roll_csv, sample_manifest, sample_people
from firmware_sim.card import SimulatedCard
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from tally.ceremony import CeremonyResult, run_ceremony
from terminal.kiosk_client import KioskClient

ELECTION_DAY = date(2026, 3, 1)
STATION_ID = "S-101"
REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 60.0


def passphrases() -> dict[int, bytes]:
    return {index: f"fault suite trustee {index}".encode() for index in range(1, 4)}


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def get_json(url: str, timeout_s: float = 5.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout_s) as reply:
        answer: dict[str, Any] = json.loads(reply.read())
    return answer


class GunicornServer:
    """``gunicorn 'ballot_server.app:create_app()'`` on a fresh port each start."""

    def __init__(self, data_dir: Path, log: IO[str], workers: int = 2) -> None:
        self.data_dir = data_dir
        self.log = log
        self.workers = workers
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def start(self) -> int:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                f"--workers={self.workers}",
                "--worker-class=gthread",
                "--threads=4",
                f"--bind=127.0.0.1:{self.port}",
                "--graceful-timeout=2",
                "ballot_server.app:create_app()",
            ],
            cwd=REPOSITORY,
            env={**os.environ, "EVOTE_DATA_DIR": str(self.data_dir)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # one process group: SIGKILL takes master and workers
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                get_json(f"http://127.0.0.1:{self.port}/api/v1/election", 2.0)
                return self.port
            except (OSError, ValueError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start; see server.log") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to master and workers at once, as a power cut would."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None


@dataclass
class TerminalProcess:
    """One booth: ``evote terminal run`` with its simulated reader and printer."""

    terminal_id: str
    key_file: Path
    data_dir: Path
    server_url: str
    log: IO[str]
    reader: ReaderSimulator = field(default_factory=ReaderSimulator)
    printer: PrinterSimulator = field(default_factory=PrinterSimulator)
    process: subprocess.Popen[str] | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self.reader.start()
        self.printer.start()

    def start(self) -> KioskClient:
        self.process = subprocess.Popen(
            [
                str(BIN / "evote"),
                "terminal",
                "run",
                f"--reader={self.reader.path}",
                f"--printer={self.printer.path}",
                f"--server={self.server_url}",
                f"--data-dir={self.data_dir}",
                f"--terminal-id={self.terminal_id}",
                f"--terminal-key={self.key_file}",
                "--port=0",
                "--server-timeout=6",
                "--max-retry-interval=1",
            ],
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"terminal {self.terminal_id} did not start: {self.url!r}")
        return KioskClient(self.url)

    def status(self) -> dict[str, Any]:
        return get_json(f"{self.url}/api/status")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None

    def close(self) -> None:
        self.kill()
        self.reader.stop()
        self.printer.stop()


class FaultStation:
    """HQ (gunicorn), a fault link, ``terminals`` booths, the roll and everyone's cards."""

    def __init__(self, root: Path, *, terminals: int, roll_size: int) -> None:
        self.root = root
        self.logs: list[IO[str]] = []
        self.keys = KeySet.generate()
        self.document = sample_manifest(ELECTION_DAY)
        self.manifest = Manifest.from_json(self.document)
        self.people, officials = sample_people(ELECTION_DAY, size=roll_size)
        self.official: Official = next(o for o in officials if o.station_id == STATION_ID)
        self.ceremony: CeremonyResult = run_ceremony(
            self.document, passphrases(), root / "trustees", strength="interactive"
        )
        self.server_dir = root / "server"
        save_keys(self.server_dir / "keys", self.keys)
        terminal_keys = {f"T-{STATION_ID}-{n}": SigningKey.generate() for n in range(terminals)}
        self._create_election(terminal_keys)
        self.server = GunicornServer(self.server_dir, self._log("server.log"))
        port = self.server.start()
        self.link = CuttableLink("127.0.0.1", port, stall_s=5.0)
        self.terminals: list[TerminalProcess] = []
        for terminal_id, key in terminal_keys.items():
            key_file = root / terminal_id / "terminal.key"
            key_file.parent.mkdir(parents=True)
            key_file.write_text(key.seed.hex())
            self.terminals.append(
                TerminalProcess(
                    terminal_id,
                    key_file,
                    root / terminal_id / "data",
                    self.link.url,
                    self._log(f"{terminal_id}.log"),
                )
            )
        self.cards: dict[str, SimulatedCard] = {}
        # Which booth's reader holds each card now: one card is never in two readers.
        self.card_in_reader: dict[str, str] = {}
        self.cards_lock = threading.Lock()

    def _log(self, name: str) -> IO[str]:
        handle = (self.root / name).open("w", encoding="utf-8")
        self.logs.append(handle)
        return handle

    def _create_election(self, terminal_keys: dict[str, SigningKey]) -> None:
        app = create_app(ServerConfig.for_data_dir(self.server_dir))
        state = app.extensions["evote"]
        assert self.keys.hq is not None
        create_election(
            state,
            sign_manifest(self.keys.hq, self.document),
            self.ceremony.trustees,
            roll_csv(self.people),
            read_trustee_signers(self.ceremony.exchange, (t.index for t in self.ceremony.trustees)),
        )
        for terminal_id, key in terminal_keys.items():
            register_terminal(state, terminal_id, STATION_ID, key.public_key)
        state.engine.dispose()
        state.registry_engine.dispose()

    def eligible_voters(self) -> list[Person]:
        return [p for p in self.people if eligibility(p, ELECTION_DAY) == "cast"]

    def card(self, person: Person | Official) -> SimulatedCard:
        if person.national_code not in self.cards:
            assert self.keys.registry is not None
            self.cards[person.national_code] = SimulatedCard(
                issue_card_for(self.keys.registry, person)
            )
        return self.cards[person.national_code]

    def insert_card(self, booth: TerminalProcess, person: Person | Official) -> None:
        """Put ``person``'s card into ``booth``'s reader. The same card object stands for
        the one physical card: inserting it while another reader holds it would let that
        reader's removal reset it mid-session here, so it is a bug of the driver."""
        with self.cards_lock:
            holder = self.card_in_reader.get(person.national_code)
            if holder is not None:
                raise AssertionError(f"{person.national_code}'s card is still in {holder}")
            self.card_in_reader[person.national_code] = booth.terminal_id
        booth.reader.insert(self.card(person))

    def remove_card(self, booth: TerminalProcess) -> None:
        """Pull whatever card ``booth``'s reader holds."""
        booth.reader.remove()
        with self.cards_lock:
            for code, terminal_id in list(self.card_in_reader.items()):
                if terminal_id == booth.terminal_id:
                    del self.card_in_reader[code]

    def restart_server(self) -> None:
        """After a SIGKILL: a new gunicorn (new port) behind the same link."""
        port = self.server.start()
        self.link.retarget("127.0.0.1", port)

    def official_action(
        self, booth: TerminalProcess, kiosk: KioskClient, action: str
    ) -> dict[str, Any]:
        kiosk.wait_for("idle")
        self.insert_card(booth, self.official)
        kiosk.wait_for("pin")
        kiosk.enter_pin(self.official.pin)
        kiosk.wait_for("officials")
        view = kiosk.post(f"officials/{action}")
        self.remove_card(booth)
        kiosk.wait_for("idle")
        return view

    def close(self) -> None:
        for booth in self.terminals:
            booth.close()
        self.link.close()
        self.server.kill()
        for handle in self.logs:
            handle.close()
