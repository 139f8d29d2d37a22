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
from terminal.runner import start_terminal


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
@click.option("--lookup-url", default=None, help="Public tracking page base for receipt QRs.")
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
