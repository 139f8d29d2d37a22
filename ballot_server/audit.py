"""The hash-chained, signed audit log of every state change.

Each entry names an event from ``EVENTS`` and carries structured fields —
never a secret and never a voter's identity. ``entry_hash`` chains the entries
(BLAKE2b over the previous hash, position, event id and canonical JSON of
``{at, fields}``) and the server key signs each entry hash, so the exported
``audit.jsonl`` can be checked without the database.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ballot_server.chains import advance_chain, lock_chain
from ballot_server.models import AuditEntry
from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from crypto.signing import SigningKey

AUDIT_DOMAIN = "evote/audit-entry/v1"

EVENTS = {
    "election.created": "HQ created the election from a signed manifest",
    "roll.imported": "voter roll rows imported (count only)",
    "card.revoked": "a card certificate was revoked",
    "terminal.registered": "HQ registered a terminal key to a station",
    "terminal.revoked": "HQ revoked a terminal: every request it signs is refused (reason)",
    "authorization.voided_for_revoked": "a booth voided, for its voter, an authorization "
    "a revoked terminal held (the voter's card recovered its release key)",
    "poll.opened": "an official opened a station's polls (zero report issued)",
    "poll.paused": "an official paused a station's polls",
    "poll.resumed": "an official resumed a station's polls",
    "poll.closed": "an official closed a station's polls (closing report issued)",
    "poll.close_override": "an official closed polls although terminals declared ballots "
    "not yet on the board (the backlog is in the fields)",
    "poll.reopened": "HQ reopened closed polls as paused",
    "report.reissued": "a closing report was reissued after late journaled ballots",
    "board.root": "the server signed a national root over every station's board shard",
}


def entry_hash(previous_hash: str, position: int, event_id: str, at: int, fields: Any) -> str:
    return hash_bytes(
        AUDIT_DOMAIN,
        bytes.fromhex(previous_hash),
        position,
        event_id,
        canonical_json({"at": at, "fields": fields}),
    ).hex()


def record_event(
    session: Session, server_key: SigningKey, event_id: str, at: int, **fields: Any
) -> None:
    """Append an event inside the caller's transaction (so it commits with the change)."""
    if event_id not in EVENTS:
        raise KeyError(f"unknown audit event {event_id!r}")
    chain = lock_chain(session, "audit")
    position = chain.length
    digest = entry_hash(chain.head_hash, position, event_id, at, fields)
    session.add(
        AuditEntry(
            position=position,
            event_id=event_id,
            at=at,
            fields=canonical_json(fields).decode("utf-8"),
            previous_hash=chain.head_hash,
            entry_hash=digest,
            signature=server_key.sign_bytes(bytes.fromhex(digest)).hex(),
        )
    )
    advance_chain(session, "audit", position + 1, digest)


def audit_lines(session: Session) -> list[dict[str, Any]]:
    """The log as exported to ``audit.jsonl``, in order."""
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.position)).scalars()
    return [
        {
            "position": row.position,
            "event_id": row.event_id,
            "at": row.at,
            "fields": json.loads(row.fields),
            "previous_hash": row.previous_hash,
            "entry_hash": row.entry_hash,
            "signature": row.signature,
        }
        for row in rows
    ]
