"""Terminals' own word on where their chains end, against the board.

The server signs the closing report, the receipts, the roots and the audit
log, so whoever holds its key can drop a terminal's last ballots and re-sign
all of them consistently. What that key cannot sign is a terminal's request:
the closing report carries the request that closed the station (``closed_by``,
a ``poll-action`` close signed by one of the station's terminals, declaring its
journal head) and, per terminal, the last journal head the terminal declared
(``declaration``). Each declared head must be on the board — the terminal's
ballot at that sequence with that tracking code — or a ballot the terminal
journaled is missing. The closing request is required: without it nothing
but the server speaks for where the closing terminal's chain ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from crypto.errors import CryptoError
from evote import protocol
from tally.entry_checks import EntryCheck
from tally.entry_store import Received
from tally.errors import VerificationFailure
from tally.verify_election import TerminalKey, terminal_request

CLOSED_BY: Final = "closed_by"
CHECK: Final = "terminals' declared journal heads"


@dataclass(frozen=True)
class DeclaredHead:
    """A journal head a terminal signed: its last sequence and that ballot's tracking code."""

    terminal_id: str
    sequence: int
    tracking_code: str
    location: str


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(CHECK, location, message, code=code)


def declared_heads(
    payload: dict[str, Any],
    relative: str,
    terminals: dict[str, TerminalKey],
    closed_version: int | None,
) -> list[DeclaredHead]:
    """The closing request's head (required) and every terminal's declared head. The
    closing request must name ``closed_version``, the poll version the station's last
    close ended by the audit log: a close signed before an HQ reopen is not the last."""
    station_id = str(payload["station_id"])
    location = f"{relative}:{CLOSED_BY}"
    if CLOSED_BY not in payload:
        raise _fail(location, "missing: no terminal signed the close", "unsigned_close")
    closing = terminal_request(
        payload[CLOSED_BY], station_id, terminals, location, check=CHECK, code="bad_declaration"
    )
    try:
        parsed = protocol.parse_poll_action(closing.body)
    except CryptoError as error:
        raise _fail(location, f"not a poll action ({error})", "unsigned_close") from error
    if (
        closing.action != protocol.ACTION_POLL
        or parsed.action != "close"
        or parsed.declaration is None
    ):
        raise _fail(location, "not a close declaring a journal head", "unsigned_close")
    if parsed.poll_version != closed_version or payload.get("poll_version") != closed_version:
        raise _fail(
            location,
            f"terminal {closing.terminal_id} signed the close of poll version "
            f"{parsed.poll_version} (the report says {payload.get('poll_version')!r}); the "
            f"audit log's last close of {station_id} ended poll version {closed_version}",
            "close_of_another_period",
        )
    sequence, code = parsed.declaration.journal_head
    heads = [DeclaredHead(closing.terminal_id, sequence, code.hex(), location)]
    for index, item in enumerate(payload.get("terminals", [])):
        declaration = item.get("declaration") if isinstance(item, dict) else None
        if declaration is None:
            continue
        where = f"{relative}:terminals[{index}].declaration"
        request = terminal_request(
            declaration,
            station_id,
            terminals,
            where,
            check=CHECK,
            code="bad_declaration",
            terminal_id=item.get("terminal_id"),
        )
        try:
            declared = (
                protocol.parse_poll_action(request.body).declaration
                if request.action == protocol.ACTION_POLL
                else protocol.parse_status_body(request.body)
            )
        except CryptoError as error:
            raise _fail(where, f"not a journal declaration ({error})", "bad_declaration") from error
        if declared is None:
            raise _fail(where, "declares no journal head", "bad_declaration")
        sequence, code = declared.journal_head
        heads.append(DeclaredHead(request.terminal_id, sequence, code.hex(), where))
    return heads


class DeclaredHeadsOnBoard(EntryCheck[Received, int]):
    """Every declared head is on the board: the terminal's ballot at that sequence has
    that tracking code (the terminal chains, checked before, then vouch for all earlier
    ones). Fed every entry, a dictionary lookup each."""

    def __init__(self, heads: Sequence[DeclaredHead]) -> None:
        self.heads = heads
        self.wanted = {(head.terminal_id, head.sequence) for head in heads if head.sequence}
        self.found: dict[tuple[str, int], str] = {}
        self.last: dict[str, int] = {}

    def feed(self, item: Received) -> None:
        entry = item[0]
        self.last[entry.terminal_id] = max(self.last.get(entry.terminal_id, 0), entry.sequence)
        if (entry.terminal_id, entry.sequence) in self.wanted:
            self.found[(entry.terminal_id, entry.sequence)] = entry.tracking_code

    def finish(self) -> int:
        for head in self.heads:
            if not head.sequence:
                continue
            on_board = self.found.get((head.terminal_id, head.sequence))
            last = self.last.get(head.terminal_id, 0)
            if on_board is None:
                raise _fail(
                    head.location,
                    f"terminal {head.terminal_id} signed that its journal ends at sequence "
                    f"{head.sequence} (tracking code {head.tracking_code}); the board ends at "
                    f"{last}: sequence {last + 1} is missing",
                    "declared_ballot_missing",
                )
            if on_board != head.tracking_code:
                raise _fail(
                    head.location,
                    f"terminal {head.terminal_id} declared tracking code {head.tracking_code} "
                    f"at sequence {head.sequence}; the board has {on_board} there",
                    "declared_ballot_missing",
                )
        return len(self.heads)
