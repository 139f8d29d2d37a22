"""``evote firmware-sim``: run a simulated device on a pty and drive it from stdin.

Each device command prints ``READER|SCANNER|PRINTER <path>`` on its own line,
then reads one control command per line (see docs/protocols.md) and answers
``OK`` or ``ERR <reason>``. At end of input the device keeps running until
interrupted, so it can be started in the background for a demo.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
from PIL import Image

from crypto.signing import SigningKey
from firmware_sim.card_guide import reader_guide
from firmware_sim.cards import CardIssueError, issue_cards, read_roll_csv
from firmware_sim.printer import PrinterSimulator
from firmware_sim.pty_device import PtyDevice
from firmware_sim.reader import ReaderSimulator
from firmware_sim.scanner import ScannerSimulator

Handler = Callable[[list[str]], str | None]
FOLLOW_POLL_S = 0.1


def _follow(path: Path, stop: threading.Event) -> Iterator[str]:
    """Lines appended to ``path`` (created empty if missing), as ``tail -f`` would give them.

    Lets a script drive a simulator running in the background with
    ``echo "insert cards/…" >> reader.commands``, no pipe or fifo to keep open.
    """
    path.touch()
    with open(path, encoding="utf-8") as handle:
        pending = ""
        while not stop.is_set():
            chunk = handle.readline()
            if not chunk:
                stop.wait(FOLLOW_POLL_S)
                continue
            pending += chunk
            if pending.endswith("\n"):
                yield pending
                pending = ""


def read_qr(image: Path) -> str:
    """The QR code's text in a printed image (a receipt PNG from the printer simulator).

    Decoding needs the zbar library (Debian ``libzbar0``) through ``pyzbar``;
    without it this command says so instead of failing the simulator.
    """
    try:
        from pyzbar.pyzbar import decode
    except ImportError as error:
        raise OSError(f"scan-image needs pyzbar and libzbar0: {error}") from error
    with Image.open(image) as picture:
        codes = decode(picture.convert("L"))
    if not codes:
        raise ValueError(f"no QR code found in {image}")
    return str(codes[0].data.decode("utf-8"))


def _interrupt(*_: object) -> None:
    """SIGTERM ends a simulator like Ctrl-C does: device stopped, link removed."""
    raise KeyboardInterrupt


def _answer(handlers: dict[str, Handler], words: list[str]) -> str:
    handler = handlers.get(words[0])
    if handler is None:
        return f"ERR unknown command {words[0]!r}; known: {', '.join(handlers)}, quit"
    try:
        return handler(words[1:]) or "OK"
    except (ValueError, OSError, IndexError, KeyError) as error:
        return f"ERR {error}"


def _serve(label: str, device: PtyDevice, handlers: dict[str, Handler], options: Serving) -> None:
    """Run ``device`` and answer control commands from stdin (or ``--commands FILE``).

    The first stdout line is ``LABEL path`` and each command gets one answer, so
    scripts can drive the device; the guide for a person goes to stderr.
    """
    path = device.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, _interrupt)
    if options.link is not None:
        options.link.unlink(missing_ok=True)
        options.link.symlink_to(path)
    click.echo(f"{label} {path}", nl=True)
    sys.stdout.flush()
    for line in options.guide:
        click.echo(line, err=True)
    lines = _follow(options.commands, stopped) if options.commands is not None else sys.stdin
    try:
        for line in lines:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            click.echo(_answer(handlers, words))
            sys.stdout.flush()
        else:
            stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
        if options.link is not None:
            options.link.unlink(missing_ok=True)


@dataclass(frozen=True)
class Serving:
    """How a simulator is driven: where its commands come from, where its path is linked."""

    commands: Path | None
    link: Path | None
    guide: list[str] = field(default_factory=list)


def serving_options(function: Callable[..., None]) -> Callable[..., None]:
    """``--commands FILE`` and ``--link PATH``, shared by every simulator command."""
    function = click.option(
        "--link",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Also make PATH a symlink to the device (like udev's /dev/serial/by-id names).",
    )(function)
    return click.option(
        "--commands",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read control commands appended to this file instead of stdin "
        "(for running in the background: echo remove >> FILE).",
    )(function)


@click.group("firmware-sim")
def firmware_sim() -> None:
    """Simulated card reader, QR scanner and receipt printer on ptys."""


@firmware_sim.command()
@serving_options
@click.option(
    "--card",
    "card_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A card file to start with inserted.",
)
@click.option(
    "--cards",
    "cards_directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("cards"),
    show_default=True,
    help="Where the issued card files are; the guide names the official's card from them.",
)
def reader(
    card_file: Path | None, cards_directory: Path, commands: Path | None, link: Path | None
) -> None:
    """CCID card reader. Commands: insert FILE, remove, fault KIND [RATE], help, quit."""
    device = ReaderSimulator()
    guide = reader_guide(cards_directory)
    if card_file is not None:
        device.insert(card_file)

    def fault(words: list[str]) -> None:
        device.inject_fault(words[0], rate=float(words[1]) if len(words) > 1 else 0.0)

    _serve(
        "READER",
        device,
        {
            "insert": lambda words: str(device.insert(Path(words[0])).image["card_id"]),
            "remove": lambda words: device.remove(),
            "fault": fault,
            "help": lambda words: "\n".join(guide),
        },
        Serving(commands, link, guide),
    )


@firmware_sim.command()
@serving_options
@click.option("--prefix", default="", help="Prefix the scanner puts before each payload.")
def scanner(prefix: str, commands: Path | None, link: Path | None) -> None:
    """QR scanner. Commands: scan TEXT, scan-image PNG (a printed pass or receipt held to
    the scanner), present [TEXT], raw HEX, mute, unmute, quit."""
    device = ScannerSimulator(prefix=prefix.encode("utf-8"))

    def present(words: list[str]) -> None:
        device.present(" ".join(words) if words else None)

    _serve(
        "SCANNER",
        device,
        {
            "scan": lambda words: None if device.scan(" ".join(words)) else "SUPPRESSED",
            "present": present,
            "scan-image": lambda words: (
                None if device.scan(read_qr(Path(words[0]))) else "SUPPRESSED"
            ),
            "raw": lambda words: device.emit_raw(bytes.fromhex("".join(words))),
            "mute": lambda words: device.mute(True),
            "unmute": lambda words: device.mute(False),
        },
        Serving(commands, link),
    )


@firmware_sim.command()
@serving_options
@click.option(
    "--out",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("receipts"),
    show_default=True,
    help="Directory for receipt-NNNN.png files.",
)
def printer(output_dir: Path, commands: Path | None, link: Path | None) -> None:
    """ESC/POS printer. Commands: paper-out [N], load-paper, cover open|close, mute, unmute,
    status, quit."""
    device = PrinterSimulator(output_dir)

    def paper_out(words: list[str]) -> None:
        if words:
            device.paper_out_after(int(words[0]))
        else:
            device.run_out_of_paper()

    def status(words: list[str]) -> str:
        return (
            f"paper_out={device.paper_out} cover_open={device.cover_open} "
            f"receipts={len(device.receipts)}"
        )

    def mute(muted: bool) -> None:
        device.faults.mute = muted

    _serve(
        "PRINTER",
        device,
        {
            "paper-out": paper_out,
            "load-paper": lambda words: device.load_paper(),
            "cover": lambda words: device.open_cover(words[0] == "open"),
            "mute": lambda words: mute(True),
            "unmute": lambda words: mute(False),
            "status": status,
        },
        Serving(commands, link),
    )


@firmware_sim.command("issue-cards")
@click.option(
    "--registry-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="File holding the registry's Ed25519 seed as 64 hex digits.",
)
@click.option(
    "--roll",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV: national_code,name_fa,name_en,birth_date,role,station_id,pin",
)
@click.option(
    "--out", "output_dir", type=click.Path(file_okay=False, path_type=Path), required=True
)
def issue_cards_command(registry_key: Path, roll: Path, output_dir: Path) -> None:
    """Issue one card file per roll row, signed by the registry key."""
    try:
        seed = bytes.fromhex(registry_key.read_text(encoding="ascii").strip())
        if len(seed) != 32:
            raise ValueError("the registry key file must hold 64 hex digits")
        paths = issue_cards(SigningKey(seed), read_roll_csv(roll), output_dir)
    except (CardIssueError, ValueError, KeyError) as error:
        raise click.ClickException(str(error)) from error
    for path in paths:
        click.echo(str(path))
