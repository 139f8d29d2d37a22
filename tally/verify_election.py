"""The shape of ``election.json``, checked before anything relies on it.

Every later check (and every worker process) reads keys and terminals from
this file; a missing field or a wrong type there must be one located
``FAIL`` line, not a ``KeyError`` in a worker that breaks the process pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from crypto.errors import CryptoError
from crypto.signing import VerifyKey
from evote import protocol
from tally.errors import VerificationFailure
from tally.record import Record

ELECTION: Final = "election.json"
KEY_FIELDS: Final = (
    "hq_public_key",
    "registry_public_key",
    "inquiry_public_key",
    "server_public_key",
)
TERMINAL_FIELDS: Final = ("terminal_id", "station_id", "public_key")
MAX_TERMINAL_ID: Final = 64
"""The server refuses longer terminal ids at registration (ballot_server/setup.py)."""


@dataclass(frozen=True)
class TerminalKey:
    """One terminal of ``election.json``: its id, its station and its hex public key."""

    terminal_id: str
    station_id: str
    public_key: str

    def to_json(self) -> dict[str, str]:
        return {
            "terminal_id": self.terminal_id,
            "station_id": self.station_id,
            "public_key": self.public_key,
        }


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure("election", location, message, code=code)


def _key(value: Any, location: str) -> VerifyKey:
    try:
        return VerifyKey.from_hex(value)
    except CryptoError as error:
        raise _fail(location, f"not a public key ({error})", "bad_key") from error


def _terminal(item: Any, index: int, stations: set[str]) -> TerminalKey:
    location = f"{ELECTION}:terminals[{index}]"
    if not isinstance(item, dict):
        raise _fail(location, "expected an object", "malformed_election")
    for name in TERMINAL_FIELDS:
        if type(item.get(name)) is not str:
            raise _fail(f"{location}.{name}", "missing or not a string", "malformed_election")
    terminal_id, station_id = item["terminal_id"], item["station_id"]
    if not 0 < len(terminal_id) <= MAX_TERMINAL_ID:
        raise _fail(f"{location}.terminal_id", "must be 1..64 characters", "malformed_election")
    if station_id not in stations:
        raise _fail(f"{location}.station_id", f"{station_id!r} is not a station", "unknown_station")
    _key(item["public_key"], f"{location}.public_key")
    return TerminalKey(terminal_id, station_id, item["public_key"])


def check_election_file(record: Record, stations: set[str]) -> list[TerminalKey]:
    """Signing keys and terminals well formed; terminal ids and keys each used once."""
    election = record.election
    for name in KEY_FIELDS:
        _key(election.get(name), f"{ELECTION}:{name}")
    listed = election.get("terminals")
    if not isinstance(listed, list):
        raise _fail(f"{ELECTION}:terminals", "expected a list", "malformed_election")
    terminals = [_terminal(item, index, stations) for index, item in enumerate(listed)]
    seen_ids: set[str] = set()
    seen_keys: set[str] = set()
    for index, terminal in enumerate(terminals):
        if terminal.terminal_id in seen_ids or terminal.public_key in seen_keys:
            raise _fail(
                f"{ELECTION}:terminals[{index}]",
                f"terminal {terminal.terminal_id!r} or its key is listed twice",
                "duplicate_terminal",
            )
        seen_ids.add(terminal.terminal_id)
        seen_keys.add(terminal.public_key)
    return terminals


def terminal_request(
    value: Any,
    station_id: str,
    terminals: dict[str, TerminalKey],
    location: str,
    *,
    check: str,
    code: str,
    terminal_id: Any = None,
) -> protocol.TerminalRequest:
    """A request signed by a registered terminal of ``station_id`` (the one named
    ``terminal_id``, if given): what the record carries as a terminal's own word,
    which the server's key cannot forge. Fails as ``check`` with ``code``, or with
    the signature's error."""
    try:
        request = protocol.parse_terminal_request(value)
    except CryptoError as error:
        raise VerificationFailure(
            check, location, f"not a terminal request ({error})", code=code
        ) from error
    terminal = terminals.get(request.terminal_id)
    if (
        terminal is None
        or terminal.station_id != station_id
        or (terminal_id is not None and request.terminal_id != terminal_id)
    ):
        raise VerificationFailure(
            check,
            location,
            f"signed as terminal {request.terminal_id!r}, not "
            + (
                f"{terminal_id!r} of {station_id}" if terminal_id else f"a terminal of {station_id}"
            ),
            code=code,
        )
    try:
        request.envelope.verify(protocol.TERMINAL_REQUEST, VerifyKey.from_hex(terminal.public_key))
    except CryptoError as error:
        raise VerificationFailure(check, location, str(error), code=error.code) from error
    return request
