"""Officials' countersignatures of the closing reports, against the verified board.

Nothing the server alone signs may prove a station's count (issue 12): each
closing report carries ``countersigned``, the counts an official's card signed
at the terminal right after the close (``evote/countersign.py``). The verifier
checks the card's certificate (signed by the registry key HQ certified, an
official of this station), the card's signature, and that the counts are the
board's: ballots cast and challenged per terminal and in all, and the
check-ins and voids of the report (the voids checked against
``board/voids.jsonl`` before). The counts name the report they countersign: the
poll version the station's last close ended by the audit log (a countersignature
from before an HQ reopen is not one of the last close) and the report's revision
(a report reissued after the close needs a fresh one): otherwise
``countersign_stale``. Per station, never per ballot group operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from crypto.canonical import canonical_json
from crypto.errors import CryptoError
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SignedEnvelope, VerifyKey
from evote.countersign import COUNTERSIGNED, countersign_message, other_report
from tally.entry_store import EntryStore
from tally.errors import VerificationFailure
from tally.record import Record
from tally.verify_board import Shards, signed_report

CHECK: Final = "officials' countersignatures"
COUNTERSIGN_FIELDS: Final = frozenset({"counts", "challenge", "card_certificate", "card_signature"})


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure(CHECK, location, message, code=code)


def _official_key(value: Any, station_id: str, registry_key: VerifyKey, location: str) -> VerifyKey:
    """The card key of an official of ``station_id``, as the registry certified it."""
    try:
        certificate = SignedEnvelope.from_json(value).verify("card-certificate", registry_key)
        if not isinstance(certificate, dict):
            raise _fail(location, "certificate payload is not an object", "bad_countersignature")
        key = VerifyKey.from_hex(certificate.get("card_public_key"))
    except CryptoError as error:
        raise _fail(location, f"card certificate: {error}", "bad_countersignature") from error
    if certificate.get("role") != "official" or certificate.get("station_id") != station_id:
        raise _fail(location, f"not an official's card of {station_id}", "bad_countersignature")
    return key


def _board_counts(
    report: dict[str, Any],
    per_terminal: Mapping[str, Mapping[str, int]],
    identity: dict[str, Any],
) -> dict[str, Any]:
    """The counts an honest close signs, from the board (``per_terminal``: the
    station's entries of each kind by terminal), the report's check-ins and voids,
    and ``identity`` (which report: poll version and revision)."""
    station_id = report["station_id"]
    terminals = [
        {
            "terminal_id": item.get("terminal_id"),
            "ballots_cast": per_terminal.get(str(item.get("terminal_id")), {}).get("ballot", 0),
            "challenged": per_terminal.get(str(item.get("terminal_id")), {}).get("challenged", 0),
        }
        for item in report.get("terminals", [])
        if isinstance(item, dict)
    ]
    return {
        "election_id": report["election_id"],
        "station_id": station_id,
        **identity,
        "check_ins": report.get("check_ins"),
        "ballots_cast": sum(item["ballots_cast"] for item in terminals),
        "challenged": sum(item["challenged"] for item in terminals),
        "authorizations_voided": report.get("authorizations_voided"),
        "terminals": terminals,
    }


def check_countersignatures(
    record: Record,
    stations: Sequence[str],
    store: EntryStore,
    shards: Shards,
    registry_key: VerifyKey,
    server_key: VerifyKey,
    closed_versions: dict[str, int],
) -> int:
    """Each closing report countersigned by an official's card, over the board's counts
    of this very report (``closed_versions``: the poll version each station's last
    close ended, from the audit log)."""
    for station_id in stations:
        report = signed_report(record, station_id, "closing", server_key)
        location = f"reports/{station_id}-closing.json:{COUNTERSIGNED}"
        signed = report.get(COUNTERSIGNED)
        if not isinstance(signed, dict) or set(signed) != COUNTERSIGN_FIELDS:
            raise _fail(
                location, "no official's card signed the closing counts", "not_countersigned"
            )
        card_key = _official_key(signed["card_certificate"], station_id, registry_key, location)
        try:
            challenge = bytes_from_hex(signed["challenge"], 32, "challenge")
            card_key.verify_bytes(
                countersign_message(challenge, signed["counts"]),
                bytes_from_hex(signed["card_signature"], 64, "card_signature"),
            )
        except CryptoError as error:
            raise _fail(location, f"card signature: {error}", "bad_countersignature") from error
        identity = {
            "poll_version": closed_versions.get(station_id),
            "revision": report.get("revision"),
        }
        stale = other_report(signed["counts"], identity)
        if stale is not None:
            raise _fail(f"{location}.counts", stale, "countersign_stale")
        lines = shards.lines(station_id)
        per_terminal = store.kinds_by_terminal(*lines) if lines else {}
        expected = _board_counts(report, per_terminal, identity)
        if canonical_json(signed["counts"]) != canonical_json(expected):
            wrong = next(
                (
                    name
                    for name, value in expected.items()
                    if not isinstance(signed["counts"], dict)
                    or canonical_json(signed["counts"].get(name)) != canonical_json(value)
                ),
                "counts",
            )
            raise _fail(
                f"{location}.counts.{wrong}",
                f"the official signed {signed['counts'].get(wrong)!r}"
                if isinstance(signed["counts"], dict)
                else "the official signed no counts",
                "countersign_mismatch",
            )
    return len(stations)
