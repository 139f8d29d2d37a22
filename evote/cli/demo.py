"""A complete simulated election on this machine, through the real code paths.

Nothing here is a shortcut: trustees run the file-based key ceremony, the
ballot server runs on loopback with SQLite, every station has a terminal with
a simulated card reader and receipt printer on real ptys, and each simulated
voter goes through the kiosk API a touchscreen uses, with a card in the reader
and a PIN. At the end the record is exported, 2 of 3 trustees decrypt the
totals, the verifier checks everything, and the decrypted counts are compared
with a plaintext count of what the voters chose.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from ballot_server.config import ServerConfig
from ballot_server.keys import KeySet, save_keys
from ballot_server.reconciliation import reconcile
from ballot_server.record import export_record
from ballot_server.runner import RunningServer, start_server
from ballot_server.setup import create_election, register_terminal, sign_manifest
from ballot_server.snapshot import station_snapshot
from crypto.signing import SigningKey
from evote.certificates import read_trustee_signers
from evote.cli.demo_plan import OfflinePlan, PlaintextCount, Visit, plan_offline, plan_visits
from evote.cli.progress import Ticker
from evote.link import CuttableLink
from evote.manifest import Manifest
from evote.resolution import read_resolution
from evote.sample import Official, Person, roll_csv, sample_manifest, sample_people
from firmware_sim.card import SimulatedCard
from firmware_sim.cards import RollRow, issue_card, write_card_file
from firmware_sim.printer import PrinterSimulator
from firmware_sim.reader import ReaderSimulator
from tally.ceremony import CeremonyResult, decrypt_with_trustees, run_ceremony
from tally.pipeline import finish_tally, write_totals
from tally.record import Record, add_trustees
from tally.verifier import verify_record
from terminal.config import TerminalConfig
from terminal.kiosk_client import KioskClient
from terminal.runner import RunningTerminal, start_terminal

Echo = Callable[[str], None]
DECRYPTING_TRUSTEES = (1, 2)
OFFLINE_AFTER_S = 1
"""How long the cut-off station's link must be down before its official may go offline."""


class DemoMismatch(Exception):
    """The election did not come out as the simulated voters voted."""

    code = "demo_mismatch"


@dataclass
class DemoStation:
    """One polling station: its devices, the link to HQ, its terminal."""

    station_id: str
    official: Official
    reader: ReaderSimulator
    printer: PrinterSimulator
    link: CuttableLink
    terminal: RunningTerminal
    kiosk: KioskClient
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        self.terminal.stop()
        self.link.close()
        self.reader.stop()
        self.printer.stop()


@dataclass
class DemoOutcome:
    output: Path
    results: dict[str, Any]
    count: PlaintextCount
    refusals: Counter[str]
    verifier_lines: list[str]
    seconds: float
    provisional: tuple[int, int]
    """Provisional ballots counted and excluded by the registry's reconciliation."""


def issue_card_for(registry: SigningKey, holder: Person | Official) -> dict[str, Any]:
    """The card the registry issues to a sample voter or official (a card image)."""
    official = isinstance(holder, Official)
    row = RollRow(
        national_code=holder.national_code,
        name_fa=holder.name_fa,
        name_en=holder.name_en,
        birth_date=holder.birth_date,
        role="official" if official else "voter",
        station_id=holder.station_id if isinstance(holder, Official) else None,
        pin=holder.pin,
    )
    return issue_card(registry, row, f"card-{holder.national_code}")


def _passphrases() -> dict[int, bytes]:
    return {index: f"demo trustee {index} passphrase".encode() for index in range(1, 4)}


class Demo:
    """Builds the election, runs polling day, tallies and verifies."""

    def __init__(
        self,
        output: Path,
        *,
        voters: int,
        turnout: float,
        echo: Echo,
        progress_interval_s: float = 1.0,
    ) -> None:
        self.output = output
        self.progress_interval_s = progress_interval_s
        self.visits_done = 0
        self.voters = voters
        self.turnout = turnout
        self.echo = echo
        self.election_day = date.today()
        self.document = sample_manifest(self.election_day)
        self.manifest = Manifest.from_json(self.document)
        self.people, self.officials = sample_people(self.election_day, size=voters)
        self.keys = KeySet.generate()
        self.cards: dict[str, SimulatedCard] = {}
        self.stations: dict[str, DemoStation] = {}
        self.count = PlaintextCount()
        self.refusals: Counter[str] = Counter()
        self.visits = plan_visits(self.manifest, self.people, turnout)
        self.offline_plan: OfflinePlan = plan_offline(self.manifest, self.visits)
        self.excluded_expected: Counter[str] = Counter()
        self.server: RunningServer | None = None
        self._count_lock = threading.Lock()

    # --- set-up -------------------------------------------------------------------

    def key_ceremony(self) -> CeremonyResult:
        self.echo("• key ceremony: 3 trustees, quorum 2 (files exchanged under trustees/)")
        return run_ceremony(
            self.document, _passphrases(), self.output / "trustees", strength="interactive"
        )

    def write_key_dirs(self, server_dir: Path) -> None:
        """One key dir per host, as docs/server.md deploys them: HQ's (its key and the
        registry's, both offline in production), the intake's (``server/``, beside its
        databases) and the inquiry's, each holding only its own private keys. The demo
        runs intake and inquiry in one process with both keys; the record's checks do
        not depend on that."""
        save_keys(
            self.output / "hq" / "keys", replace(self.keys, inquiry_key=None, server_key=None)
        )
        save_keys(server_dir / "keys", self.keys.for_services(("intake",)))
        save_keys(self.output / "inquiry" / "keys", self.keys.for_services(("inquiry",)))
        self.echo("• key dirs: hq/keys (HQ, registry), server/keys (intake), inquiry/keys")

    def start_headquarters(self, ceremony: CeremonyResult) -> RunningServer:
        server_dir = self.output / "server"
        self.write_key_dirs(server_dir)
        config = ServerConfig(
            database_url=f"sqlite:///{(server_dir / 'ballot.sqlite').resolve()}",
            registry_database_url=f"sqlite:///{(server_dir / 'registry.sqlite').resolve()}",
            keys=self.keys,
        )
        server = start_server(config)
        assert self.keys.hq is not None
        create_election(
            server.state,
            sign_manifest(self.keys.hq, self.document),
            ceremony.trustees,
            roll_csv(self.people),
            read_trustee_signers(ceremony.exchange, (t.index for t in ceremony.trustees)),
        )
        on_roll = sum(person.on_roll for person in self.people)
        self.echo(f"• ballot server and inquiry service on {server.url}; roll of {on_roll}")
        return server

    def issue_cards(self) -> None:
        assert self.keys.registry is not None
        card_dir = self.output / "cards"
        card_dir.mkdir(parents=True, exist_ok=True)
        holders: list[Person | Official] = [*self.people, *self.officials]
        for holder in holders:
            image = issue_card_for(self.keys.registry, holder)
            path = card_dir / f"{image['card_id']}.json"
            write_card_file(path, image)
            self.cards[holder.national_code] = SimulatedCard(image, path)
        self.echo(f"• {len(holders)} national cards issued by the registry key (cards/)")

    def open_station(self, server: RunningServer, official: Official) -> DemoStation:
        station_id = official.station_id
        terminal_key = SigningKey.generate()
        terminal_id = f"T-{station_id}-1"
        register_terminal(server.state, terminal_id, station_id, terminal_key.public_key)
        station_dir = self.output / "stations" / station_id
        snapshot_path = None
        if station_id == self.offline_plan.station_id:
            data, _ = station_snapshot(server.state, station_id)
            snapshot_path = station_dir / f"{station_id}.snapshot"
            snapshot_path.parent.mkdir(parents=True, exist_ok=True)
            snapshot_path.write_bytes(data)
        reader = ReaderSimulator()
        printer = PrinterSimulator(station_dir / "printed")
        reader.start()
        printer.start()
        host, port = server.url.removeprefix("http://").split(":")
        link = CuttableLink(host, int(port))
        terminal = start_terminal(
            TerminalConfig(
                reader_url=reader.path,
                printer_url=printer.path,
                server_url=link.url,
                data_dir=station_dir / "terminal",
                terminal_id=terminal_id,
                signing_key=terminal_key,
                lookup_url=f"{server.url}/track",
                server_timeout_s=3.0,
                uplink_initial_backoff_s=0.2,
                uplink_max_backoff_s=1.0,
                uplink_idle_interval_s=5.0 if snapshot_path is None else 0.5,
                roll_snapshot_path=snapshot_path,
                offline_after_s=OFFLINE_AFTER_S,
            )
        )
        station = DemoStation(
            station_id, official, reader, printer, link, terminal, KioskClient(terminal.url)
        )
        self.officials_action(station, "officials/open")
        self.echo(
            f"• {station_id}: reader {reader.path}, printer {printer.path}, "
            f"kiosk {terminal.url} — polls opened, zero report printed"
        )
        return station

    def officials_action(self, station: DemoStation, action: str) -> dict[str, Any]:
        """An official's card, PIN and one button on the officials' screen; the view after."""
        kiosk = station.kiosk
        kiosk.wait_for("idle")
        station.reader.insert(self.cards[station.official.national_code])
        kiosk.wait_for("pin")
        kiosk.enter_pin(station.official.pin)
        kiosk.wait_for("officials")
        view = kiosk.post(action)
        station.reader.remove()
        kiosk.wait_for("idle")
        return view

    # --- polling day --------------------------------------------------------------

    def visit(self, station: DemoStation, visit: Visit) -> None:
        kiosk = station.kiosk
        kiosk.wait_for("idle")
        if not visit.offline:
            station.link.heal()
        station.reader.insert(self.cards[visit.person.national_code])
        kiosk.wait_for("pin")
        if visit.wrong_pin_first:
            wrong = "0000" if visit.person.pin != "0000" else "1111"
            view = kiosk.enter_pin(wrong)
            station.log.append(f"wrong PIN shown with {view['tries_left']} tries left")
        kiosk.enter_pin(visit.person.pin)
        view = kiosk.wait_for("ballot", "refused")
        outcome = "cast" if view["state"] == "ballot" else view["notice"]["code"]
        if outcome != visit.expect:
            raise DemoMismatch(
                f"{visit.person.national_code} at {station.station_id}: "
                f"expected {visit.expect}, terminal showed {outcome}"
            )
        if outcome == "cast":
            if visit.during_outage:
                station.link.cut()
            kiosk.vote(visit.choices, challenge_first=visit.challenge_first)
            contest_ids = [c.contest_id for c in self.manifest.contests]
            with self._count_lock:
                if visit.excluded is None:
                    self.count.add(station.station_id, visit.choices, contest_ids)
                else:
                    self.excluded_expected[visit.excluded] += 1
        else:
            with self._count_lock:
                self.refusals[outcome] += 1
        if visit.note:
            station.log.append(f"{visit.person.name_en}: {visit.note} → {outcome}")
        station.reader.remove()
        kiosk.wait_for("idle")
        with self._count_lock:
            self.visits_done += 1

    def ticker(
        self, label: str, count: Callable[[], int] | None = None, total: int | None = None
    ) -> Ticker:
        """Progress lines while a step runs, so no step is silent for long."""
        return Ticker(self.echo, label, count, total, interval_s=self.progress_interval_s)

    def run_station(self, station: DemoStation, visits: list[Visit], errors: list[str]) -> None:
        current = "start"
        try:
            for number, visit in enumerate(visits):
                current = f"visit {number} ({visit.expect}, {visit.note or 'plain'})"
                self.visit(station, visit)
            station.link.heal()
        except Exception as error:  # reported by the main thread, which stops the demo
            view = station.kiosk.state()
            errors.append(
                f"{station.station_id} {current}: {type(error).__name__}: {error} "
                f"(terminal {view['state']}, notice {view['notice']})"
            )

    def wait_for(self, what: str, condition: Callable[[], bool], timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise DemoMismatch(f"{what}: not within {timeout_s:.0f} s")
            time.sleep(0.05)

    def offline_part_of_the_day(self) -> None:
        """One station cut off: its uplink switched off, its official switches it to
        offline mode, voters check in against its roll snapshot and cast provisional
        ballots; meanwhile one of them votes online at another station too. Then the
        link comes back and the terminal delivers the provisional ballots."""
        plan = self.offline_plan
        station = self.stations[plan.station_id]
        booth = station.terminal.booth
        uplink = booth.uplink
        assert uplink is not None
        station.link.cut()
        self.echo(f"• {plan.station_id}: uplink switched off")
        self.wait_for(
            f"{plan.station_id}'s terminal noticing its link is down",
            lambda: (
                uplink.down_since is not None and time.time() - uplink.down_since > OFFLINE_AFTER_S
            ),
        )
        view = self.officials_action(station, "offline/enter")
        if not booth.offline_mode:
            raise DemoMismatch(f"{plan.station_id}: offline mode refused: {view['notice']}")
        self.echo(
            f"  {plan.station_id}: the official entered offline mode (banner on every screen)"
        )
        for visit in plan.visits:
            self.visit(station, visit)
        self.visit(self.stations[plan.double_vote.station_id], plan.double_vote)
        station.link.heal()
        self.wait_for(
            f"{plan.station_id} back online with its provisional ballots delivered",
            lambda: not booth.offline_mode and booth.journal.counts().waiting == 0,
        )
        self.echo(
            f"  {plan.station_id}: link back, offline mode left, "
            f"{len(plan.visits)} provisional ballots delivered"
        )

    def polling_day(self) -> None:
        visits = self.visits
        early = [v for v in visits if v.expect != "already_voted"]
        late = [v for v in visits if v.expect == "already_voted"]
        total = len(visits) + len(self.offline_plan.visits) + 1
        self.echo(f"• polling day: {total} visits at {len(self.stations)} stations")
        errors: list[str] = []
        threads = [
            threading.Thread(
                target=self.run_station,
                args=(station, [v for v in early if v.station_id == sid], errors),
                name=f"voters-{sid}",
            )
            for sid, station in self.stations.items()
        ]
        started = time.monotonic()
        with self.ticker("visits", lambda: self.visits_done, total):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise DemoMismatch("; ".join(errors))
            self.offline_part_of_the_day()
            for visit in late:
                self.visit(self.stations[visit.station_id], visit)
        for station in self.stations.values():
            for line in station.log:
                self.echo(f"  {station.station_id}: {line}")
        cast = sum(self.count.ballots.values())
        refused = ", ".join(f"{code} {n}" for code, n in sorted(self.refusals.items()))
        self.echo(f"  {cast} ballots cast, refused: {refused} ({time.monotonic() - started:.1f} s)")

    def close_polls(self) -> None:
        for station in self.stations.values():
            deadline = time.monotonic() + 30
            while station.terminal.booth.journal.counts().waiting:
                if time.monotonic() > deadline:
                    raise DemoMismatch(f"{station.station_id}: journaled ballots never delivered")
                time.sleep(0.1)
            view = self.officials_action(station, "officials/close")
            if view["notice"]["code"] != "polls_closed_done":
                raise DemoMismatch(f"{station.station_id}: close refused: {view['notice']}")
        self.echo("• polls closed at every station; closing reports printed as poll tapes")

    def reconcile(self, server: RunningServer) -> tuple[int, int]:
        """The registry decides every provisional ballot; it must decide as planned."""
        assert self.keys.registry is not None
        envelope = reconcile(server.state)
        decisions = read_resolution(
            envelope, self.keys.registry.public_key, self.manifest.election_id
        )
        counted = sum(decision.counted for decision in decisions)
        excluded = Counter(decision.reason for decision in decisions if not decision.counted)
        self.echo(f"• provisional: {counted} counted, {len(decisions) - counted} excluded")
        expected = len(self.offline_plan.visits) - sum(self.excluded_expected.values())
        if counted != expected or excluded != self.excluded_expected:
            raise DemoMismatch(
                f"reconciliation: {counted} counted, excluded {dict(excluded)}; "
                f"expected {expected} counted, excluded {dict(self.excluded_expected)}"
            )
        return counted, len(decisions) - counted

    # --- after the polls ----------------------------------------------------------

    def tally(self, server: RunningServer, ceremony: CeremonyResult) -> dict[str, Any]:
        record_dir = self.output / "record"
        export_record(server.state, record_dir)
        add_trustees(record_dir, ceremony.exchange, self.manifest.trustee_count)
        record = Record(record_dir)
        totals = write_totals(record)
        passphrases = {i: p for i, p in _passphrases().items() if i in DECRYPTING_TRUSTEES}
        shares = decrypt_with_trustees(ceremony, passphrases, totals)
        results = finish_tally(record, shares)
        self.echo(f"• tally: trustees {DECRYPTING_TRUSTEES} decrypted the totals (quorum 2 of 3)")
        return results

    def run(self) -> DemoOutcome:
        started = time.monotonic()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        if self.output.exists():
            shutil.rmtree(self.output)
        self.output.mkdir(parents=True)
        with self.ticker("key ceremony"):
            ceremony = self.key_ceremony()
        with self.ticker("starting the ballot server"):
            server = self.start_headquarters(ceremony)
        try:
            with self.ticker("issuing cards"):
                self.issue_cards()
            with self.ticker(
                "opening the stations", lambda: len(self.stations), len(self.officials)
            ):
                for official in self.officials:
                    self.stations[official.station_id] = self.open_station(server, official)
            self.polling_day()
            with self.ticker("closing the polls"):
                self.close_polls()
            with self.ticker("reconciling provisional ballots"):
                provisional = self.reconcile(server)
            with self.ticker("tally"):
                results = self.tally(server, ceremony)
        finally:
            with self.ticker("stopping the stations and the server"):
                for station in self.stations.values():
                    station.stop()
                server.stop()
        lines: list[str] = []
        self.echo("• verifier: checking the record as anyone would")
        with self.ticker("checks done", lambda: len(lines)):
            verify_record(self.output / "record", workers=2, echo=lines.append)
        check_results(results, self.count)
        return DemoOutcome(
            self.output,
            results,
            self.count,
            self.refusals,
            lines,
            time.monotonic() - started,
            provisional,
        )


def check_results(results: dict[str, Any], count: PlaintextCount) -> None:
    """Compare every station's and the national decrypted counts with the plaintext count."""
    for unit in results["units"]:
        if unit["level"] not in ("station", "national"):
            continue
        for contest in unit["contests"]:
            decrypted = {**contest["votes"], "blank": contest["blank"]}
            if unit["level"] == "station":
                expected_ballots = count.ballots.get(unit["unit_id"], 0)
            else:
                expected_ballots = sum(count.ballots.values())
            if contest["ballots_cast"] != expected_ballots:
                raise DemoMismatch(
                    f"{unit['unit_id']} {contest['contest_id']}: {contest['ballots_cast']} "
                    f"ballots decrypted, {expected_ballots} voters got a receipt"
                )
            for selection_id, votes in decrypted.items():
                if unit["level"] == "station":
                    key = (unit["unit_id"], contest["contest_id"], selection_id)
                    expected = count.votes.get(key, 0)
                else:
                    expected = count.national().get((contest["contest_id"], selection_id), 0)
                if votes != expected:
                    raise DemoMismatch(
                        f"{unit['unit_id']} {contest['contest_id']} {selection_id}: "
                        f"decrypted {votes}, voters chose {expected}"
                    )
