"""``evote terminal`` and ``evote desk``: run a booth terminal or a check-in desk."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crypto.signing import SigningKey
from terminal.config import TerminalConfig, load_signing_key
from terminal.desk_runner import start_desk
from terminal.errors import TerminalError
from terminal.kiosk_client import KioskClient
from terminal.runner import start_terminal
from terminal.touch import describe, touch


@click.group()
def terminal() -> None:
    """Polling station booth terminal."""


def station_device_options(function: Callable[..., None]) -> Callable[..., None]:
    """Options a booth and a check-in desk share: devices, server, identity, start-up wait."""
    options = [
        click.option(
            "--reader", "reader_url", required=True, help="Card reader serial device or URL."
        ),
        click.option(
            "--printer", "printer_url", required=True, help="Receipt printer serial device."
        ),
        click.option("--server", "server_url", required=True, help="Ballot server base URL."),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False, path_type=Path),
            required=True,
            help="Where the journal lives (keep it on durable storage).",
        ),
        click.option(
            "--terminal-id", required=True, help="The id HQ registered this terminal under."
        ),
        click.option(
            "--terminal-key",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            required=True,
            help="File holding the terminal's Ed25519 seed (64 hex digits).",
        ),
        click.option(
            "--wait",
            "wait_s",
            type=click.FloatRange(0, 600),
            default=0,
            help="At start, keep retrying an unreachable server or a missing device for this "
            "many seconds (a terminal booting before its link is up).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def station_register_options(function: Callable[..., None]) -> Callable[..., None]:
    """Options a booth and a check-in desk share for offline mode (docs/offline.md)."""
    options = [
        click.option(
            "--roll-snapshot",
            "roll_snapshot_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="The station's roll snapshot (evote server roll-snapshot): allows offline "
            "mode at a booth; needed to hold the station register.",
        ),
        click.option(
            "--station-register-listen",
            default=None,
            metavar="HOST:PORT",
            help="Hold the station's offline register here, on the station LAN, for the "
            "station's booths (needs --roll-snapshot).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def make_config(**values: Any) -> TerminalConfig:
    """The config from the shared options (and any extra ones a command has)."""
    key_file = values.pop("terminal_key")
    values["start_wait_s"] = values.pop("wait_s")
    try:
        return TerminalConfig(signing_key=load_signing_key(key_file), **values)
    except TerminalError as error:
        raise click.ClickException(f"terminal: {error}") from error


def serve_until_stopped(url: str, stop: Callable[[], None]) -> None:
    """Print the page's URL and run until SIGINT/SIGTERM."""
    click.echo(url, nl=True)
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    stopped.wait()
    stop()


@terminal.command()
@station_device_options
@click.option("--scanner", "scanner_url", default=None, help="QR pass scanner serial device.")
@click.option("--port", type=int, default=8080, show_default=True, help="Kiosk port (loopback).")
@click.option(
    "--lookup-url",
    default=None,
    help="Public tracking page the receipt QR points to, as URL/<tracking code> "
    "[default: the --server URL's /track]. Set it when voters cannot reach --server.",
)
@click.option(
    "--server-timeout",
    "server_timeout_s",
    type=click.FloatRange(0.1, 120),
    default=5.0,
    show_default=True,
    help="Seconds before an unanswered server call counts as unreachable.",
)
@click.option(
    "--max-retry-interval",
    "uplink_max_backoff_s",
    type=click.FloatRange(0.1, 600),
    default=15.0,
    show_default=True,
    help="Longest wait between resends of waiting ballots (the backoff's ceiling).",
)
@station_register_options
@click.option(
    "--offline-after",
    "offline_after_s",
    type=click.IntRange(0, 86400),
    default=600,
    show_default=True,
    help="Seconds the link must have been down before an official may enter offline mode.",
)
@click.option(
    "--station-register",
    "station_register_url",
    default=None,
    metavar="URL",
    help="The station register another booth holds (its --station-register-listen), "
    "consulted before every offline check-in.",
)
def run(**values: Any) -> None:
    """Run the terminal until interrupted; prints the kiosk URL to open in Chromium."""
    config = make_config(**values)
    try:
        running = start_terminal(config)
    except (TerminalError, OSError) as error:
        raise click.ClickException(f"terminal: {error}") from error
    serve_until_stopped(running.url, running.stop)


@click.group()
def desk() -> None:
    """Polling station check-in desk: voter's card + PIN in, a QR pass for a booth out."""


@desk.command("run")
@station_device_options
@station_register_options
@click.option(
    "--port", type=int, default=8081, show_default=True, help="Desk page port (loopback)."
)
def desk_run(**values: Any) -> None:
    """Run the check-in desk until interrupted; prints the desk page's URL.

    The desk is a terminal HQ registered for the station (its own key). Drive it
    from a shell with `evote terminal touch --kiosk <URL> pin PIN`.
    """
    config = make_config(**values)
    try:
        running = start_desk(config)
    except (TerminalError, OSError) as error:
        raise click.ClickException(f"desk: {error}") from error
    serve_until_stopped(running.url, running.stop)


@terminal.command("touch")
@click.option(
    "--kiosk",
    "kiosk_url",
    default="http://127.0.0.1:8080",
    show_default=True,
    help="The terminal's kiosk URL (what `evote terminal run` printed).",
)
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 600), default=30.0)
@click.argument("action")
@click.argument("arguments", nargs=-1)
def touch_command(
    kiosk_url: str, timeout_s: float, action: str, arguments: tuple[str, ...]
) -> None:
    """Do on the kiosk what a finger would, from a shell; prints the screen it leads to.

    \b
    ACTION: wait STATE | pin PIN | vote CONTEST=ID[,ID…]… | cast | challenge |
            vote-again | finish | cancel | open | pause | resume | close
    Each waits (up to --timeout) for the screen it belongs to.
    """
    try:
        view = touch(KioskClient(kiosk_url), action, list(arguments), timeout_s)
    except (TerminalError, TimeoutError) as error:
        raise click.ClickException(f"terminal touch {action}: {error}") from error
    click.echo(describe(view))


@terminal.command()
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
def keygen(key_file: Path) -> None:
    """Create this terminal's Ed25519 key in KEY_FILE (mode 0600) and print the
    public key, which HQ registers with `evote server register-terminal`."""
    key = SigningKey.generate()
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as error:
        raise click.ClickException(f"{key_file} exists; a terminal keeps its key") from error
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.seed.hex() + "\n")
    click.echo(key.public_key.hex())
