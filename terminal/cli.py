"""``evote terminal``: run a booth terminal on this machine."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import click

from crypto.signing import SigningKey
from terminal.config import TerminalConfig, load_signing_key
from terminal.errors import TerminalError
from terminal.kiosk_client import KioskClient
from terminal.runner import start_terminal
from terminal.touch import describe, touch


@click.group()
def terminal() -> None:
    """Polling station booth terminal."""


@terminal.command()
@click.option("--reader", "reader_url", required=True, help="Card reader serial device or URL.")
@click.option("--printer", "printer_url", required=True, help="Receipt printer serial device.")
@click.option("--scanner", "scanner_url", default=None, help="QR pass scanner serial device.")
@click.option("--server", "server_url", required=True, help="Ballot server base URL.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where the journal lives (keep it on durable storage).",
)
@click.option("--terminal-id", required=True, help="The id HQ registered this terminal under.")
@click.option(
    "--terminal-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="File holding the terminal's Ed25519 seed (64 hex digits).",
)
@click.option("--port", type=int, default=8080, show_default=True, help="Kiosk port (loopback).")
@click.option(
    "--lookup-url",
    default=None,
    help="Public tracking page the receipt QR points to, as URL/<tracking code> "
    "[default: the --server URL's /track]. Set it when voters cannot reach --server.",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(0, 600),
    default=0,
    help="At start, keep retrying an unreachable server or a missing device for this "
    "many seconds (a terminal booting before its link is up).",
)
def run(
    reader_url: str,
    printer_url: str,
    scanner_url: str | None,
    server_url: str,
    data_dir: Path,
    terminal_id: str,
    terminal_key: Path,
    port: int,
    lookup_url: str | None,
    wait_s: float,
) -> None:
    """Run the terminal until interrupted; prints the kiosk URL to open in Chromium."""
    try:
        config = TerminalConfig(
            reader_url=reader_url,
            printer_url=printer_url,
            scanner_url=scanner_url,
            server_url=server_url,
            data_dir=data_dir,
            terminal_id=terminal_id,
            signing_key=load_signing_key(terminal_key),
            port=port,
            lookup_url=lookup_url,
            start_wait_s=wait_s,
        )
        running = start_terminal(config)
    except (TerminalError, OSError) as error:
        raise click.ClickException(f"terminal: {error}") from error
    click.echo(running.url, nl=True)
    stopped = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stopped.set())
    stopped.wait()
    running.stop()


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
