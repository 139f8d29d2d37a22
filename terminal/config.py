"""How a terminal is started: devices, server, data directory and identity."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crypto.errors import DecodingError
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SigningKey
from terminal.errors import ConfigurationError


@dataclass(frozen=True)
class TerminalConfig:
    """Everything a terminal needs; the station and ballot style come from the server.

    ``lookup_url`` is the public tracking page printed as the receipt QR (the
    server's ``/track/<code>`` unless HQ publishes it elsewhere); ``check_url`` is
    the public page that checks a challenge slip, printed as the slip's QR (the
    server's ``/check/<slip>`` unless published elsewhere). ``start_wait_s``
    is how long start-up keeps retrying a server or device that is not there yet.
    ``roll_snapshot_path`` is the station's roll snapshot (docs/offline.md): with it,
    an official may switch the terminal to offline mode once the link has been down
    for ``offline_after_s``. Offline, the station's booths share one register
    (``station_register.py``): the terminal given ``station_register_listen``
    (``HOST:PORT`` on the station LAN) holds it, the others consult it at
    ``station_register_url``.
    """

    reader_url: str
    printer_url: str
    server_url: str
    data_dir: Path
    terminal_id: str
    signing_key: SigningKey
    scanner_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    lookup_url: str | None = None
    check_url: str | None = None
    session_timeout_s: float = 180.0
    finished_timeout_s: float = 20.0
    server_timeout_s: float = 5.0
    uplink_initial_backoff_s: float = 0.25
    uplink_max_backoff_s: float = 15.0
    uplink_idle_interval_s: float = 5.0
    start_wait_s: float = 0.0
    roll_snapshot_path: Path | None = None
    offline_after_s: int = 600
    station_register_listen: str | None = None
    station_register_url: str | None = None

    @property
    def journal_path(self) -> Path:
        return self.data_dir / "journal.sqlite"

    @property
    def offline_path(self) -> Path:
        return self.data_dir / "offline.sqlite"

    @property
    def station_register_path(self) -> Path:
        return self.data_dir / "station-register.sqlite"

    @property
    def track_base_url(self) -> str:
        return (self.lookup_url or f"{self.server_url.rstrip('/')}/track").rstrip("/")

    @property
    def check_base_url(self) -> str:
        return (self.check_url or f"{self.server_url.rstrip('/')}/check").rstrip("/")


def load_signing_key(path: Path) -> SigningKey:
    """A terminal key file holds the Ed25519 seed as 64 lowercase hex digits."""
    try:
        seed = bytes_from_hex(path.read_text(encoding="ascii").strip(), 32, str(path))
    except (OSError, UnicodeDecodeError, DecodingError) as error:
        raise ConfigurationError(f"terminal key {path}: {error}") from error
    return SigningKey(seed)
