"""Starting and stopping a whole terminal: devices, journal, uplink, threads, HTTP.

``start_terminal(config)`` is what ``evote terminal run``, the tests, the
benchmark and the demo call; it returns once the kiosk URL answers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from werkzeug.serving import BaseWSGIServer, make_server

from evote.client import BallotServerClient
from evote.manifest import Station
from evote.roll_snapshot import RollSnapshot, SnapshotOpener
from evote.serving import serve_in_thread
from terminal.app import create_app
from terminal.booth import Booth
from terminal.config import TerminalConfig
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.errors import DeviceError
from terminal.devices.printer import SerialPrinter
from terminal.devices.scanner import SerialScanner
from terminal.errors import ConfigurationError
from terminal.journal import Journal
from terminal.offline_roll import load_station_snapshot
from terminal.offline_station import OfflineStation, StationIdentity
from terminal.server_link import Election, load_election, uplink_sender
from terminal.station_register import (
    Register,
    RegisterStore,
    RemoteRegister,
    parse_listen,
    serve_register,
)
from terminal.uplink import Uplink

DEVICE_POLL_S = 0.1
WATCHDOG_INTERVAL_S = 0.5


class _Closable(Protocol):
    def close(self) -> None: ...


@dataclass
class RunningTerminal:
    """A started terminal. ``url`` is the kiosk page; ``stop()`` shuts everything down."""

    url: str
    booth: Booth
    server: BaseWSGIServer
    stop_event: threading.Event
    threads: list[threading.Thread] = field(default_factory=list)
    devices: list[_Closable] = field(default_factory=list)
    register_server: BaseWSGIServer | None = None

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        if self.register_server is not None:
            self.register_server.shutdown()
            self.register_server.server_close()
        if self.booth.uplink is not None:
            self.booth.uplink.stop()
        self.booth.releases.stop()
        for thread in self.threads:
            thread.join(timeout=5)
        self.booth.close()
        if self.booth.offline is not None:
            self.booth.offline.close()
            if isinstance(self.booth.offline.register, RegisterStore):
                self.booth.offline.register.close()
        for device in self.devices:
            device.close()
        self.booth.journal.close()


def station_of(election_answer: dict[str, Any], config: TerminalConfig) -> str:
    """The station HQ registered this terminal (and exactly this key) to."""
    own_key = config.signing_key.public_key.hex()
    for entry in election_answer.get("terminals", []):
        if entry.get("terminal_id") == config.terminal_id:
            if entry.get("public_key") != own_key:
                raise ConfigurationError(
                    f"terminal {config.terminal_id} is registered with another key"
                )
            return str(entry["station_id"])
    raise ConfigurationError(f"terminal {config.terminal_id} is not registered for this election")


class CardHolderFlow(Protocol):
    """What the card loop drives: a booth, or a check-in desk."""

    reader_lock: threading.RLock

    def on_card_inserted(self) -> None: ...
    def on_card_removed(self) -> None: ...


def load_station_roll(
    config: TerminalConfig, election: Election, station: Station
) -> RollSnapshot | None:
    """The station's roll snapshot opened with this terminal's key, when one is configured."""
    if config.roll_snapshot_path is None:
        return None
    opener = SnapshotOpener(
        election.registry_key,
        election.election_id,
        station.station_id,
        config.terminal_id,
        config.signing_key,
    )
    return load_station_snapshot(config.roll_snapshot_path, opener)


def station_register_store(
    config: TerminalConfig, snapshot: RollSnapshot | None
) -> RegisterStore | None:
    """The station register, when this terminal (a booth or the desk) holds it."""
    if config.station_register_listen is None:
        return None
    if snapshot is None:
        raise ConfigurationError(
            "--station-register-listen needs --roll-snapshot", code="roll_snapshot_missing"
        )
    return RegisterStore(config.station_register_path, snapshot)


def open_offline_station(
    config: TerminalConfig, election: Election, station: Station
) -> OfflineStation | None:
    """The offline register over the station's roll snapshot, when one is configured."""
    snapshot = load_station_roll(config, election, station)
    if snapshot is None:
        return None
    identity = StationIdentity(
        election.election_id,
        station.station_id,
        station.ballot_style_id,
        config.terminal_id,
        config.signing_key,
        election.registry_key,
    )
    register: Register | None = station_register_store(config, snapshot)
    if register is None and config.station_register_url is not None:
        register = RemoteRegister(config.station_register_url, snapshot)
    return OfflineStation(
        config.offline_path,
        identity,
        snapshot,
        required_down_s=config.offline_after_s,
        register=register,
    )


def start_station_register(
    config: TerminalConfig, store: RegisterStore | None
) -> tuple[BaseWSGIServer, threading.Thread] | None:
    """Serve the station register on the LAN when this terminal holds it."""
    if store is None or config.station_register_listen is None:
        return None
    host, port = parse_listen(config.station_register_listen)
    try:
        server = serve_register(store, host, port)
    except OSError as error:
        raise ConfigurationError(f"station register on {host}:{port}: {error}") from error
    thread = serve_in_thread(server, "station-register")
    return server, thread


def card_loop(booth: CardHolderFlow, reader: SerialCardReader, stop: threading.Event) -> None:
    """Card in/out notifications from the reader, turned into session events.

    A card already in the reader when the terminal starts sent its notification
    to nobody, so presence is asked once first.
    """
    try:
        with booth.reader_lock:
            present = reader.card_present()
    except DeviceError:
        present = False
    if present:
        booth.on_card_inserted()
    while not stop.is_set():
        try:
            with booth.reader_lock:
                event = reader.wait_for_event(DEVICE_POLL_S)
        except DeviceError:
            stop.wait(DEVICE_POLL_S)
            continue
        if event == "inserted":
            booth.on_card_inserted()
        elif event == "removed":
            booth.on_card_removed()
        else:
            stop.wait(0.01)


def _scanner_loop(booth: Booth, scanner: SerialScanner, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            payload = scanner.read(0.5)
        except DeviceError:
            continue
        booth.on_pass_scanned(payload)


def _watchdog(booth: Booth, stop: threading.Event) -> None:
    """Session timeouts, held receipts, and the uplink's supervisor of last resort."""
    while not stop.wait(WATCHDOG_INTERVAL_S):
        booth.check_timeouts()
        if booth.uplink is not None:
            booth.uplink.ensure_running()
        booth.releases.ensure_running()


def wait_for_devices(config: TerminalConfig) -> None:
    """Give device paths that do not exist yet ``start_wait_s`` to appear (a reader
    plugged in late, a simulator still starting); serial URLs are not waited for."""
    deadline = time.monotonic() + config.start_wait_s
    paths = [config.reader_url, config.printer_url, config.scanner_url]
    for path in (Path(p) for p in paths if p and "://" not in p):
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(DEVICE_POLL_S)


def start_terminal(config: TerminalConfig) -> RunningTerminal:
    """Open devices and journal, load the election, start the threads and the kiosk server."""
    journal = Journal(config.journal_path, config.terminal_id)
    client = BallotServerClient(
        config.server_url, config.terminal_id, config.signing_key, timeout_s=config.server_timeout_s
    )
    election = load_election(client, journal, config.start_wait_s)
    wait_for_devices(config)
    client.server_key = election.server_key
    station = election.manifest.station(station_of(election.answer, config))
    reader = SerialCardReader(config.reader_url)
    printer = SerialPrinter(config.printer_url)
    devices: list[_Closable] = [reader, printer]
    booth = Booth(config, election, station, client, journal, reader, printer)
    booth.offline = open_offline_station(config, election, station)
    booth.refresh_polls()
    booth.uplink = Uplink(
        journal,
        uplink_sender(client),
        initial_backoff_s=config.uplink_initial_backoff_s,
        max_backoff_s=config.uplink_max_backoff_s,
        idle_interval_s=config.uplink_idle_interval_s,
        on_change=booth.on_link_change,
        on_idle=booth.refresh_polls,
    )
    stop = threading.Event()
    loops: list[tuple[str, Any, tuple[Any, ...]]] = [
        ("card-events", card_loop, (booth, reader, stop)),
        ("watchdog", _watchdog, (booth, stop)),
    ]
    if config.scanner_url:
        scanner = SerialScanner(config.scanner_url)
        devices.append(scanner)
        loops.append(("scanner", _scanner_loop, (booth, scanner, stop)))
    threads = [threading.Thread(target=f, args=a, name=n, daemon=True) for n, f, a in loops]
    server = make_server(config.host, config.port, create_app(booth), threaded=True)
    threads.append(serve_in_thread(server, "kiosk-http"))
    store = booth.offline.register if booth.offline is not None else None
    register = start_station_register(config, store if isinstance(store, RegisterStore) else None)
    register_server = None
    if register is not None:
        register_server = register[0]
        threads.append(register[1])
    for thread in threads:
        thread.start()
    booth.uplink.start()
    booth.releases.start()
    url = f"http://{config.host}:{server.server_port}"
    return RunningTerminal(url, booth, server, stop, threads, devices, register_server)
