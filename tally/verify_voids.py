"""Voided authorizations (``board/voids.jsonl``) against the terminals and the board.

A void spends an authorization no ballot used (docs/server.md, "No voter
locked out"). The server signs it, but only a terminal of the station can ask
for one: each void carries the terminal's signed request, so the server's key
alone cannot invent voids (nor hide a ballot behind one). Every void names
an authorization never cast, once; each station's closing report counts
exactly its voids.

A void *for a revoked terminal* (reason ``terminal_revoked``: another booth
voided, for the voter, an authorization a dead booth held) shows the key the
authorization's id derives from together with its holder, so anyone can check
the authorization was that terminal's; the holder must be a terminal of the
station that HQ revoked (``revocations.jsonl``, HQ-signed) no later than the
void, and each such void has its audit event
(``authorization.voided_for_revoked``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from crypto.errors import CryptoError
from crypto.signing import VerifyKey
from evote import protocol
from evote.record_layout import VOIDS as VOIDS
from tally.errors import VerificationFailure
from tally.record import Record
from tally.verify_audit import AUDIT_LOG, event_key, one_to_one
from tally.verify_board import same, signed_lines, signed_report
from tally.verify_election import TerminalKey, terminal_request

VOIDED_COUNT: Final = "authorizations_voided"
CHECK: Final = "voided authorizations"
FOR_REVOKED_CHECK: Final = "voids for revoked terminals"
FOR_REVOKED: Final = "authorization.voided_for_revoked"
FOR_REVOKED_MATCHED_ON: Final = (
    "authorization_id",
    "station_id",
    "holder_terminal_id",
    "terminal_id",
    "voided_at",
)


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(CHECK, location, message, code=code)


def _check_void(
    payload: dict[str, Any], location: str, election_id: str, terminals: dict[str, TerminalKey]
) -> protocol.VoidRequest:
    if set(payload) != protocol.VOID_FIELDS or payload["election_id"] != election_id:
        raise _fail(
            location,
            f"expected exactly {sorted(protocol.VOID_FIELDS)} of this election",
            "bad_void",
        )
    request = terminal_request(
        payload["request"],
        str(payload["station_id"]),
        terminals,
        location,
        check=CHECK,
        code="bad_void",
        terminal_id=payload["terminal_id"],
    )
    try:
        asked = protocol.parse_void_body(request.body)
    except CryptoError as error:
        raise _fail(
            location, f"the terminal's request is not a void ({error})", "bad_void"
        ) from error
    if request.action != protocol.ACTION_VOID or (
        asked.station_id,
        asked.authorization_id,
        asked.reason,
    ) != (payload["station_id"], payload["authorization_id"], payload["reason"]):
        raise _fail(location, "the terminal asked for another void", "bad_void")
    if type(payload["voided_at"]) is not int:
        raise _fail(location, "voided_at is not an integer", "bad_void")
    return asked


def _check_holder_revoked(
    payload: dict[str, Any],
    holder_id: str,
    location: str,
    terminals: dict[str, TerminalKey],
    revoked_at: dict[str, int],
) -> None:
    """The revoked terminal a void was made for: of the void's station, not the voiding
    terminal, revoked by HQ no later than the void."""
    holder = terminals.get(holder_id)
    revoked = revoked_at.get(holder_id)
    if holder is None or holder.station_id != payload["station_id"]:
        raise _fail(location, f"{holder_id} is not a terminal of this station", "bad_void")
    if holder_id == payload["terminal_id"] or revoked is None or revoked > payload["voided_at"]:
        raise _fail(
            location,
            f"voided for terminal {holder_id}, which HQ had not revoked",
            "void_for_unrevoked",
        )


def check_voids(
    record: Record,
    terminals: dict[str, TerminalKey],
    server_key: VerifyKey,
    cast_line: Callable[[str], int | None],
    stations: Sequence[str],
) -> int:
    """Every void asked for by its terminal, of an authorization never cast, once, in
    order; each closing report's ``authorizations_voided`` equal to its station's.
    ``cast_line`` finds the board line of the ballot cast with an authorization."""
    election_id = record.manifest.election_id
    seen: set[str] = set()
    per_station: dict[str, int] = {}
    previous: tuple[int, str] = (0, "")
    for location, payload in signed_lines(record, VOIDS, protocol.VOID_KIND, server_key):
        _check_void(payload, location, election_id, terminals)
        authorization_id = payload["authorization_id"]
        order = (payload["voided_at"], authorization_id)
        if order < previous:
            raise _fail(location, "voids out of order (voided_at, authorization_id)", "void_order")
        if authorization_id in seen:
            raise _fail(
                location, f"authorization {authorization_id} voided twice", "duplicate_void"
            )
        cast_at = cast_line(authorization_id)
        if cast_at is not None:
            raise _fail(
                location,
                f"authorization {authorization_id} is voided, yet the ballot at "
                f"board/entries.jsonl:{cast_at} was cast with it",
                "void_of_cast_ballot",
            )
        previous = order
        seen.add(authorization_id)
        station_id = payload["station_id"]
        per_station[station_id] = per_station.get(station_id, 0) + 1
    for station_id in sorted(set(per_station) - set(stations)):
        raise _fail(VOIDS, f"voids at {station_id}, which has no closing report", "voids_mismatch")
    for station_id in stations:
        closing = signed_report(record, station_id, "closing", server_key)
        voided, expected = closing.get(VOIDED_COUNT), per_station.get(station_id, 0)
        if not same(voided, expected):
            raise _fail(
                f"reports/{station_id}-closing.json:{VOIDED_COUNT}",
                f"counts {voided!r} voids, {VOIDS} holds {expected}",
                "voids_mismatch",
            )
    return len(seen)


def check_revoked_holder_voids(
    record: Record,
    terminals: dict[str, TerminalKey],
    server_key: VerifyKey,
    revoked_at: dict[str, int],
    audit: Sequence[dict[str, Any]],
) -> int:
    """Every void for a revoked terminal as the module says (after ``check_voids`` and
    the revocations' own check): the holder revoked in time, each void with its audit
    event and each event with its void. Answers how many there are."""
    election_id = record.manifest.election_id
    for_revoked: dict[bytes, str] = {}
    for location, payload in signed_lines(record, VOIDS, protocol.VOID_KIND, server_key):
        holder_id = _check_void(payload, location, election_id, terminals).holder_terminal_id
        if holder_id is not None:
            _check_holder_revoked(payload, holder_id, location, terminals, revoked_at)
            fields = {**payload, "holder_terminal_id": holder_id}
            for_revoked[event_key(fields, *FOR_REVOKED_MATCHED_ON)] = location
    announced = {
        event_key({**entry["fields"], "voided_at": entry["at"]}, *FOR_REVOKED_MATCHED_ON): (
            f"{AUDIT_LOG}:{entry['position'] + 1}"
        )
        for entry in audit
        if entry["event_id"] == FOR_REVOKED and isinstance(entry["fields"], dict)
    }
    one_to_one(announced, for_revoked, "void for a revoked terminal")
    return len(for_revoked)
