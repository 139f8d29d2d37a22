"""Every signing key of the record, certified from HQ's key.

``election.json`` lists the registry, inquiry, server and terminal keys, but
anyone can write that file; what makes them this election's keys is HQ's
signature on them, carried in the audit log: the ``keys_certificate`` of
``election.created`` (which also names each trustee's signing key, as the
ceremony's bindings in ``trustees/`` do) and the ``registration`` of each
``terminal.registered``
(``evote/certificates.py``). With HQ's key pinned (``--hq-key``), a record
rebuilt around fresh keys — every server-signed file re-signed, a terminal
added — fails here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, VerifyKey
from evote.certificates import (
    KEYS_CERTIFICATE_KIND,
    REGISTRATION_KIND,
    keys_certificate_payload,
    registration_payload,
)
from tally.errors import VerificationFailure
from tally.pipeline import trustee_signers
from tally.record import Record
from tally.verify_audit import AUDIT_LOG


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure("keys certified by HQ", location, message, code=code)


def _certified(value: Any, kind: str, hq_key: VerifyKey, location: str) -> Any:
    try:
        return SignedEnvelope.from_json(value).verify(kind, hq_key)
    except CryptoError as error:
        raise _fail(location, f"{kind}: {error}", error.code) from error


def check_anchored_keys(
    record: Record, entries: Sequence[dict[str, Any]], hq_key: VerifyKey
) -> int:
    """HQ certified election.json's service keys, and every registered terminal's key.

    Runs after the audit log has been matched with the record, so there is
    exactly one ``election.created`` and one registration per terminal of
    ``election.json``, with the same id, station and key.
    """
    election = record.election
    certified = 0
    for entry in entries:
        location = f"{AUDIT_LOG}:{entry['position'] + 1}"
        fields = entry["fields"]
        if entry["event_id"] == "election.created":
            expected = keys_certificate_payload(
                election["election_id"],
                election["manifest_hash"],
                election["registry_public_key"],
                election["inquiry_public_key"],
                election["server_public_key"],
                {index: key.hex() for index, key in trustee_signers(record).items()},
            )
            found = _certified(
                fields.get("keys_certificate"), KEYS_CERTIFICATE_KIND, hq_key, location
            )
            if found != expected:
                raise _fail(
                    location, "HQ certified other keys than election.json's", "uncertified_key"
                )
        elif entry["event_id"] == "terminal.registered":
            expected = registration_payload(
                election["election_id"],
                fields.get("terminal_id"),
                fields.get("station_id"),
                fields.get("public_key"),
            )
            found = _certified(fields.get("registration"), REGISTRATION_KIND, hq_key, location)
            if found != expected:
                raise _fail(
                    location,
                    f"HQ did not register terminal {fields.get('terminal_id')!r} with this key",
                    "uncertified_key",
                )
        else:
            continue
        certified += 1
    return certified
