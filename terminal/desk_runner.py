"""Starting and stopping a check-in desk: reader, printer, election, HTTP.

``start_desk(config)`` is what ``evote desk run`` and the tests call; it
returns once the desk page answers. The desk loads and checks the election
the way a booth does (HQ's signature, the base hash, its own registration)
and keeps the election in a journal file so a restart without network still
knows its station; it journals no ballots. Given the station's roll snapshot and
``--station-register-listen``, the desk holds the station's offline register
for the booths (``station_register.py``): it is the one machine a station
always has on.

While it runs, the desk tells the server it is there every
``DESK_HEARTBEAT_S`` (a signed status request declaring its empty journal and
its role), so HQ's page shows when each desk was last heard from. The
heartbeat keeps its own rhythm and is never sent because a pass was issued:
its time must not tell anyone when a voter checked in.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server

from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from evote.protocol import JournalDeclaration
from evote.serving import serve_in_thread
from terminal.config import TerminalConfig
from terminal.desk import Desk
from terminal.desk_app import create_desk_app
from terminal.devices.card_reader import SerialCardReader
from terminal.devices.printer import SerialPrinter
from terminal.journal import Journal
from terminal.runner import (
    card_loop,
    load_station_roll,
    start_station_register,
    station_of,
    station_register_store,
    wait_for_devices,
)
from terminal.server_link import load_election
from terminal.station_register import RegisterStore

LOG = logging.getLogger(__name__)
DESK_HEARTBEAT_S = 10.0


@dataclass
class RunningDesk:
    """A started desk. ``url`` is the desk page; ``stop()`` shuts everything down."""

    url: str
    desk: Desk
    server: BaseWSGIServer
    stop_event: threading.Event
    threads: list[threading.Thread]
    reader: SerialCardReader
    printer: SerialPrinter
    journal: Journal
    register: RegisterStore | None = None
    register_server: BaseWSGIServer | None = None

    def stop(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()
        if self.register_server is not None:
            self.register_server.shutdown()
            self.register_server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)
        self.desk.close()
        self.reader.close()
        self.printer.close()
        self.journal.close()
        if self.register is not None:
            self.register.close()


def heartbeat(
    client: BallotServerClient, journal: Journal, stop: threading.Event, interval_s: float
) -> None:
    """Declare this desk to the server now and every ``interval_s`` until stopped; a
    server that does not answer is logged and asked again next time."""
    declaration = JournalDeclaration(journal.head(), role="desk")
    while True:
        try:
            client.status(declaration)
        except (ServerUnreachable, ServerRefused) as error:
            LOG.warning("desk: status not delivered: %s", error)
        if stop.wait(interval_s):
            return


def start_desk(config: TerminalConfig) -> RunningDesk:
    """Load the election, open the devices, start the card loop and the desk page."""
    journal = Journal(config.journal_path, config.terminal_id)
    client = BallotServerClient(
        config.server_url, config.terminal_id, config.signing_key, timeout_s=config.server_timeout_s
    )
    election = load_election(client, journal, config.start_wait_s)
    client.server_key = election.server_key
    station = election.manifest.station(station_of(election.answer, config))
    store = station_register_store(config, load_station_roll(config, election, station))
    register = start_station_register(config, store)
    wait_for_devices(config)
    reader = SerialCardReader(config.reader_url)
    printer = SerialPrinter(config.printer_url)
    desk = Desk(election, station, config.terminal_id, client, reader, printer)
    stop = threading.Event()
    server = make_server(config.host, config.port, create_desk_app(desk), threaded=True)
    threads = [
        threading.Thread(
            target=card_loop, args=(desk, reader, stop), name="desk-card", daemon=True
        ),
        serve_in_thread(server, "desk-http"),
        threading.Thread(
            target=heartbeat,
            args=(client, journal, stop, DESK_HEARTBEAT_S),
            name="desk-heartbeat",
            daemon=True,
        ),
    ]
    if register is not None:
        threads.append(register[1])
    for thread in threads:
        thread.start()
    url = f"http://{config.host}:{server.server_port}"
    return RunningDesk(
        url,
        desk,
        server,
        stop,
        threads,
        reader,
        printer,
        journal,
        store,
        None if register is None else register[0],
    )
