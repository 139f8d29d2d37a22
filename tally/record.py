"""Reading an election record (docs/record.md) and writing its tally parts.

The verifier and the tally read only these files, never the server's
database; every read names the file (and line) that was wrong so an auditor
can find it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Final

from crypto.canonical import MAX_DOCUMENT_BYTES, canonical_json, parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote import provisional
from evote.errors import ModelError
from evote.manifest import Manifest
from evote.record_layout import CONSISTENCY as CONSISTENCY
from evote.record_layout import ENTRIES as ENTRIES
from evote.record_layout import PROVISIONAL_RESOLUTION as PROVISIONAL_RESOLUTION
from evote.record_layout import RECEIPTS as RECEIPTS
from evote.record_layout import RECORD_FORMAT as RECORD_FORMAT
from evote.record_layout import ROOTS as ROOTS
from evote.resolution import Decision, ResolutionError, read_resolution
from tally.errors import RecordError

TOTALS: Final = "tally/encrypted_totals.json"
SHARES: Final = "tally/decryption_shares.json"
RESULTS_JSON: Final = "results/results.json"
RESULTS_CSV: Final = "results/results.csv"
REPORT_HTML: Final = "results/report.html"
POLL_TAPES: Final = "results/poll-tapes"


MAX_FILE_BYTES: Final = 64 * 1024 * 1024
"""No single JSON file of a record comes near this (the board is JSON lines)."""
READ_PART_BYTES: Final = 1 << 16
"""A whole file is read in parts of this size: one ``read(MAX_FILE_BYTES + 1)``
reserves the whole limit for every file, 64 MB that tracemalloc counts (though
never touched) for a report of a few KB, hiding the verifier's real memory."""


def _unreadable(relative: str, error: OSError) -> RecordError:
    """A located error for a file that cannot be opened, naming why in one line."""
    if isinstance(error, FileNotFoundError):
        return RecordError("missing", location=relative, code="missing_file")
    if isinstance(error, IsADirectoryError):
        return RecordError("a directory, expected a file", location=relative, code="not_a_file")
    return RecordError(
        f"unreadable ({error.strerror or error})", location=relative, code="unreadable_file"
    )


def trustee_files(index: int) -> tuple[str, str, str]:
    """Public keys, signer binding and confirmation of one trustee (same names in exchange)."""
    return (
        f"trustee-{index}.json",
        f"trustee-{index}.signer.json",
        f"trustee-{index}.confirmation.json",
    )


def readable_line(raw: bytes, newline: bool, location: str) -> str:
    """One line of a JSON-lines file (without its newline) as text: refused when
    longer than any document the record may hold, or not UTF-8."""
    if len(raw) + newline > MAX_DOCUMENT_BYTES + 1:
        raise RecordError(
            f"line longer than {MAX_DOCUMENT_BYTES} bytes", location=location, code="oversized_line"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(
            f"not UTF-8 at byte {error.start}", location=location, code="not_utf8"
        ) from error


class Record:
    """A record directory, read lazily with located errors."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def read_bytes(self, relative: str) -> bytes:
        """The whole file, refused (located) when missing, not a file, unreadable or oversized."""
        try:
            with self.path(relative).open("rb") as handle:
                data = bytearray()
                while len(data) <= MAX_FILE_BYTES and (part := handle.read(READ_PART_BYTES)):
                    data += part
        except OSError as error:
            raise _unreadable(relative, error) from error
        if len(data) > MAX_FILE_BYTES:
            raise RecordError(
                f"larger than {MAX_FILE_BYTES} bytes", location=relative, code="oversized_file"
            )
        return bytes(data)

    def read_json(self, relative: str) -> Any:
        try:
            return parse_json(self.read_bytes(relative))
        except CryptoError as error:
            raise RecordError(str(error), location=relative, code="malformed_json") from error

    def read_object(self, relative: str) -> dict[str, Any]:
        """A JSON file that must hold an object (every record document but the logs)."""
        data = self.read_json(relative)
        if not isinstance(data, dict):
            raise RecordError("expected an object", location=relative, code="malformed_json")
        return data

    def read_envelope(self, relative: str) -> SignedEnvelope:
        try:
            return SignedEnvelope.from_json(self.read_json(relative))
        except CryptoError as error:
            raise RecordError(str(error), location=relative, code="malformed_envelope") from error

    def size(self, relative: str) -> int:
        """The file's size in bytes (what a progress bar over it counts), refused
        (located) when it is missing or unreadable."""
        try:
            return self.path(relative).stat().st_size
        except OSError as error:
            raise _unreadable(relative, error) from error

    def lines(self, relative: str) -> Iterator[tuple[int, str]]:
        """(1-based line number, text) of a JSON-lines file.

        Every JSON-lines file of the record is written even when empty, so a
        missing one is an error (an absent file must not read as "nothing
        happened"); so are a line that is not UTF-8 and one longer than any
        document the record may hold, each named by its line.
        """
        try:
            handle = self.path(relative).open("rb")
        except OSError as error:
            raise _unreadable(relative, error) from error
        with handle:
            number = 0
            while True:
                try:
                    raw = handle.readline(MAX_DOCUMENT_BYTES + 2)
                except OSError as error:
                    raise _unreadable(relative, error) from error
                if not raw:
                    return
                number += 1
                ended = raw.endswith(b"\n")
                yield (
                    number,
                    readable_line(raw[:-1] if ended else raw, ended, f"{relative}:{number}"),
                )

    @cached_property
    def manifest(self) -> Manifest:
        envelope = self.read_envelope("manifest.json")
        try:
            return Manifest.from_json(envelope.payload)
        except ModelError as error:
            raise RecordError(str(error), location="manifest.json", code=error.code) from error

    @cached_property
    def election(self) -> dict[str, Any]:
        return self.read_object("election.json")

    def trustee_keys(self) -> list[TrusteePublicKeys]:
        keys = []
        for index in range(1, self.manifest.trustee_count + 1):
            relative = f"trustees/{trustee_files(index)[0]}"
            try:
                trustee = TrusteePublicKeys.from_json(self.read_json(relative))
            except CryptoError as error:
                raise RecordError(str(error), location=relative) from error
            if trustee.index != index:
                raise RecordError(f"holds trustee {trustee.index}'s keys", location=relative)
            keys.append(trustee)
        return keys

    def write_json(self, relative: str, value: Any) -> None:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(canonical_json(value) + b"\n")

    def write_text(self, relative: str, text: str) -> None:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def provisional_decisions(record: Record) -> tuple[Decision, ...]:
    """The registry's resolution of provisional ballots (signature checked against
    election.json's registry key), or none when the record has no resolution."""
    if not record.path(PROVISIONAL_RESOLUTION).exists():
        return ()
    envelope = record.read_envelope(PROVISIONAL_RESOLUTION)
    try:
        key = VerifyKey.from_hex(record.election.get("registry_public_key"))
        return read_resolution(envelope, key, record.manifest.election_id)
    except (CryptoError, ResolutionError) as error:
        raise RecordError(str(error), location=PROVISIONAL_RESOLUTION, code=error.code) from error


def provisional_authorization_id(body: dict[str, Any]) -> str | None:
    """The authorization id of a ballot body cast under a provisional authorization,
    else None (the envelope's signature is the verifier's to check)."""
    authorization = body["authorization"]
    if authorization["kind"] != provisional.KIND:
        return None
    return str(authorization["payload"]["authorization_id"])


def counted_provisional(record: Record) -> frozenset[str]:
    """Authorization ids of the provisional ballots the registry's resolution counts."""
    return frozenset(d.authorization_id for d in provisional_decisions(record) if d.counted)


def counted_ballot(
    number: int, line: str, counted: frozenset[str]
) -> tuple[str, dict[str, Any]] | None:
    """(station_id, ballot JSON) of a board line if it is a cast ballot that counts:
    challenged ones never do, provisional ones only if ``counted`` holds them."""
    try:
        entry = parse_json(line)
        if entry["kind"] != "ballot":
            return None
        body = entry["payload"]["payload"]["body"]
        provisional_id = provisional_authorization_id(body)
        if provisional_id is not None and provisional_id not in counted:
            return None
        return str(body["station_id"]), body["ballot"]
    except (CryptoError, KeyError, TypeError) as error:
        raise RecordError(f"malformed entry ({error})", location=f"{ENTRIES}:{number}") from error


def cast_ballots(record: Record) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line, station_id, ballot JSON) for every cast entry that counts."""
    counted = counted_provisional(record)
    for number, line in record.lines(ENTRIES):
        found = counted_ballot(number, line, counted)
        if found is not None:
            yield number, *found


def add_trustees(record_root: Path, exchange: Path, trustee_count: int) -> None:
    """Copy each trustee's public keys, signer binding and confirmation into ``trustees/``."""
    target = Path(record_root) / "trustees"
    target.mkdir(parents=True, exist_ok=True)
    for index in range(1, trustee_count + 1):
        for name in trustee_files(index):
            source = Path(exchange) / name
            if not source.exists():
                raise RecordError("missing from the ceremony exchange", location=str(source))
            shutil.copyfile(source, target / name)
