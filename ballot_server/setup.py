"""Election setup from Python (the demo, the tests) and from ``evote server``.

``create_election`` checks HQ's signature on the manifest and the trustees'
proofs, stores the election, its stations and the roll, and records the event
in the audit log. ``register_terminal`` binds a terminal key to a station.
Both then write the inquiry's copies (manifest, terminal key) to the registry
database, so that the inquiry can be deployed apart from the intake; the
intake commits first, and ``sync_inquiry`` (``evote server sync-inquiry``)
completes copies a failure in between left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ballot_server.audit import record_event
from ballot_server.chains import GENESIS_HASH
from ballot_server.declarations import backlog
from ballot_server.errors import SetupError
from ballot_server.keys import KeySet
from ballot_server.models import AuditEntry, Election, Station, Terminal
from ballot_server.polls import PollState, publish_to_inquiry
from ballot_server.registry_models import InquiryElection, InquiryTerminal, RevokedCard
from ballot_server.roll import RollRow, insert_roll, parse_roll
from ballot_server.state import ServerState
from crypto.canonical import canonical_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from crypto.threshold import TrusteePublicKeys
from evote.certificates import (
    KEYS_CERTIFICATE_KIND,
    REGISTRATION_KIND,
    REVOCATION_KIND,
    keys_certificate_payload,
    registration_payload,
    revocation_payload,
)
from evote.election import election_context
from evote.errors import ModelError
from evote.manifest import Manifest


def sign_manifest(hq_key: SigningKey, manifest_document: dict[str, Any]) -> dict[str, Any]:
    """HQ's signed manifest envelope (validated first, so HQ cannot sign a broken one)."""
    Manifest.from_json(manifest_document)
    return hq_key.sign("manifest", manifest_document).to_json()


def issue_card_certificate(
    registry_key: SigningKey,
    *,
    card_id: str,
    role: str,
    national_code: str,
    name_fa: str,
    name_en: str,
    birth_date: str,
    card_public_key: VerifyKey,
    station_id: str | None = None,
) -> dict[str, Any]:
    """A registry-signed ``card-certificate`` envelope (docs/architecture.md)."""
    payload = {
        "card_id": card_id,
        "role": role,
        "national_code": national_code,
        "name_fa": name_fa,
        "name_en": name_en,
        "birth_date": birth_date,
        "card_public_key": card_public_key.hex(),
        "station_id": station_id,
    }
    return registry_key.sign("card-certificate", payload).to_json()


def _verified_manifest(signed_manifest: dict[str, Any], keys: KeySet) -> Manifest:
    try:
        envelope = SignedEnvelope.from_json(signed_manifest)
        return Manifest.from_json(envelope.verify("manifest", keys.hq_public))
    except (CryptoError, ModelError) as error:
        raise SetupError(f"manifest: {error}") from error


def create_election(
    state: ServerState,
    signed_manifest: dict[str, Any],
    trustees: Sequence[TrusteePublicKeys],
    roll_csv_text: str | None = None,
    trustee_signers: Mapping[int, str] | None = None,
) -> str:
    """Create the election this server serves; returns its id. HQ certifies the
    trustees' signing keys (``evote.certificates.read_trustee_signers``) with the
    service keys; an election set up without them (tests that publish no record)
    certifies none, and a record of it fails verification."""
    keys = state.config.keys
    manifest = _verified_manifest(signed_manifest, keys)
    # Every input is checked before anything is stored: a bad roll row must not
    # leave an election behind without its roll.
    district_ids = {district.district_id for district in manifest.districts}
    rows = parse_roll(roll_csv_text, district_ids) if roll_csv_text is not None else None
    try:
        for trustee in trustees:
            trustee.verify(manifest.manifest_hash, manifest.quorum)
        context = election_context(manifest, trustees)
    except (CryptoError, ValueError) as error:
        raise SetupError(f"trustees: {error}") from error
    certificate = (
        _hq(keys)
        .sign(
            KEYS_CERTIFICATE_KIND,
            keys_certificate_payload(
                manifest.election_id,
                manifest.manifest_hash.hex(),
                keys.registry_public.hex(),
                keys.inquiry_public.hex(),
                keys.server_public.hex(),
                trustee_signers or {},
            ),
        )
        .to_json()
    )
    now = state.now()
    ordered = sorted(trustees, key=lambda trustee: trustee.index)
    manifest_text = canonical_json(signed_manifest).decode("utf-8")
    inquiry_copy = InquiryElection(
        election_id=manifest.election_id, manifest_envelope=manifest_text
    )
    with state.registry_sessions() as registry:
        held = registry.execute(select(InquiryElection)).scalar_one_or_none()
        if held is not None and not _same(held, inquiry_copy):
            raise SetupError("another election already exists in the registry database")
    with state.sessions.begin() as session:
        if session.execute(select(Election)).first() is not None:
            raise SetupError("an election already exists in this database")
        session.add(
            Election(
                election_id=manifest.election_id,
                manifest_envelope=manifest_text,
                trustees=canonical_json([t.to_json() for t in ordered]).decode("utf-8"),
                manifest_hash=manifest.manifest_hash.hex(),
                base_hash=context.base_hash.hex(),
                joint_public_key=context.public_key.hex(),
                hq_public_key=keys.hq_public.hex(),
                registry_public_key=keys.registry_public.hex(),
                inquiry_public_key=keys.inquiry_public.hex(),
                server_public_key=keys.server_public.hex(),
                created_at=now,
            )
        )
        for station in manifest.stations:
            session.add(
                Station(
                    station_id=station.station_id,
                    county_id=station.county_id,
                    province_id=station.province_id,
                    ballot_style_id=station.ballot_style_id,
                    poll_state=PollState.NOT_OPENED.value,
                    opened_at=None,
                    closed_at=None,
                )
            )
        record_event(
            session,
            keys.server,
            "election.created",
            now,
            election_id=manifest.election_id,
            manifest_hash=manifest.manifest_hash.hex(),
            base_hash=context.base_hash.hex(),
            keys_certificate=certificate,
        )
    _copy_to_inquiry(state, [inquiry_copy])
    if rows is not None:
        _store_roll(state, rows)
    return manifest.election_id


def import_roll(state: ServerState, csv_text: str) -> int:
    """Import roll rows into the registry database; all or nothing. Returns the count."""
    manifest = state.election().manifest
    rows = parse_roll(csv_text, {district.district_id for district in manifest.districts})
    return _store_roll(state, rows)


def _store_roll(state: ServerState, rows: list[RollRow]) -> int:
    with state.registry_sessions.begin() as session:
        insert_roll(session, rows)
    with state.sessions.begin() as session:
        record_event(
            session, state.config.keys.server, "roll.imported", state.now(), rows=len(rows)
        )
    return len(rows)


def _hq(keys: KeySet) -> SigningKey:
    """HQ's key, which certifies the election's keys and every terminal where HQ sets up."""
    if keys.hq is None:
        raise SetupError(
            "this host holds no hq.key: run election set-up and terminal registration "
            "where HQ's key is (the record needs HQ's signature on every key)"
        )
    return keys.hq


def register_terminal(
    state: ServerState, terminal_id: str, station_id: str, public_key: VerifyKey
) -> None:
    """Bind a terminal's Ed25519 key to a station (HQ, before election day)."""
    try:
        state.election().manifest.station(station_id)
    except KeyError as error:
        raise SetupError(f"unknown station {station_id!r}") from error
    if not terminal_id or len(terminal_id) > 64:
        raise SetupError("terminal id must be 1..64 characters")
    registration = (
        _hq(state.config.keys)
        .sign(
            REGISTRATION_KIND,
            registration_payload(
                state.election().election_id, terminal_id, station_id, public_key.hex()
            ),
        )
        .to_json()
    )
    now = state.now()
    try:
        with state.sessions.begin() as session:
            session.add(
                Terminal(
                    terminal_id=terminal_id,
                    station_id=station_id,
                    public_key=public_key.hex(),
                    registered_at=now,
                    last_sequence=0,
                    chain_head=GENESIS_HASH,
                    declared_sequence=None,
                    declared_chain_head=None,
                )
            )
            record_event(
                session,
                state.config.keys.server,
                "terminal.registered",
                now,
                terminal_id=terminal_id,
                station_id=station_id,
                public_key=public_key.hex(),
                registration=registration,
            )
    except IntegrityError as error:
        raise SetupError(f"terminal {terminal_id!r} or its key is already registered") from error
    _copy_to_inquiry(
        state,
        [
            InquiryTerminal(
                terminal_id=terminal_id, station_id=station_id, public_key=public_key.hex()
            )
        ],
    )


InquiryCopy = InquiryElection | InquiryTerminal
_COPIED_COLUMNS = {
    InquiryElection: ("election_id", "manifest_envelope"),
    InquiryTerminal: ("terminal_id", "station_id", "public_key"),
}


def _same(held: object, copy: InquiryCopy) -> bool:
    return all(getattr(held, name) == getattr(copy, name) for name in _COPIED_COLUMNS[type(copy)])


def _copy_to_inquiry(state: ServerState, copies: Sequence[InquiryCopy]) -> int:
    """Write the inquiry's copies (registry database) of what the intake holds, after
    the intake's own audited commit: a failure in between leaves an intake record the
    inquiry does not know yet (``sync_inquiry`` completes it), never the reverse. An
    identical copy already there is left alone; a different one is refused. Returns
    how many were written."""
    written = 0
    try:
        with state.registry_sessions.begin() as registry:
            for copy in copies:
                key = getattr(copy, _COPIED_COLUMNS[type(copy)][0])
                held = registry.get(type(copy), key)
                if held is None:
                    registry.add(copy)
                    written += 1
                elif not _same(held, copy):
                    raise SetupError(f"the registry database holds another {key!r}")
    except IntegrityError as error:
        raise SetupError(f"the registry database refused a copy: {error.orig}") from error
    return written


def sync_inquiry(state: ServerState) -> int:
    """Copy the signed manifest, every terminal key and revocation and every station's
    poll state from the intake database to the inquiry's tables (an interrupted setup,
    a rebuilt registry, an election created before the inquiry kept copies).
    Idempotent; returns how many copies (manifest, terminal keys) were written."""
    with Session(state.engine) as session:
        election = session.execute(select(Election)).scalar_one_or_none()
        if election is None:
            raise SetupError("no election in the intake database")
        stations = session.execute(select(Station)).scalars().all()
        terminals = session.execute(select(Terminal).order_by(Terminal.terminal_id)).scalars()
        copies: list[InquiryCopy] = [
            InquiryElection(
                election_id=election.election_id, manifest_envelope=election.manifest_envelope
            ),
            *(
                InquiryTerminal(
                    terminal_id=t.terminal_id, station_id=t.station_id, public_key=t.public_key
                )
                for t in terminals
            ),
        ]
        revoked = [(t["terminal_id"], t["revoked_at"]) for t in revocations(session)]
    for station in stations:  # the highest version wins, so a copy never goes back
        publish_to_inquiry(
            state, station.station_id, PollState(station.poll_state), station.poll_version
        )
    written = _copy_to_inquiry(state, copies)
    for terminal_id, revoked_at in revoked:
        _revoke_at_inquiry(state, terminal_id, revoked_at)
    return written


MAX_REASON_LENGTH = 500


def revoke_terminal(
    state: ServerState, terminal_id: str, reason: str, *, abandon_backlog: bool = False
) -> int:
    """HQ revokes a terminal (stolen, tampered with, replaced): from then on every request
    it signs is refused ``terminal_revoked`` by the intake and the inquiry, by every
    worker within ``config.terminal_cache_s``, and no ballot of it is appended (the
    ballot transaction reads the revocation). Audited (``terminal.revoked``, with the
    reason) and exported (``revocations.jsonl``). Returns the time of revocation.

    Refused while the terminal has declared ballots the board does not hold yet:
    they were journaled, perhaps receipted, and would be refused from then on.
    ``abandon_backlog`` revokes all the same (the booth and its journal are gone for
    good); the audit event then names the abandoned sequences, as the closing
    report does."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH or not reason.isprintable():
        raise SetupError(f"reason: one printable line of 1..{MAX_REASON_LENGTH} characters")
    hq = _hq(state.config.keys)
    election_id = state.election().election_id
    now = state.now()
    with state.sessions.begin() as session:
        terminal = session.execute(
            select(Terminal).where(Terminal.terminal_id == terminal_id).with_for_update()
        ).scalar_one_or_none()
        if terminal is None:
            raise SetupError(f"unknown terminal {terminal_id!r}")
        if terminal.revoked_at is not None:
            raise SetupError(
                f"terminal {terminal_id!r} was revoked already at {terminal.revoked_at}"
            )
        waiting = backlog([terminal])
        if waiting and not abandon_backlog:
            raise SetupError(
                f"terminal {terminal_id!r} declared ballots the board does not hold yet "
                f"(sequences {waiting[0]['first']}..{waiting[0]['last']}): deliver them "
                "first, or revoke with --abandon-backlog if its journal is lost"
            )
        abandoned = {"abandoned_backlog": waiting[0]} if waiting else {}
        terminal.revoked_at = now
        terminal.revocation_reason = reason
        record_event(
            session,
            state.config.keys.server,
            "terminal.revoked",
            now,
            terminal_id=terminal_id,
            station_id=terminal.station_id,
            reason=reason,
            **abandoned,
            revocation=hq.sign(
                REVOCATION_KIND,
                revocation_payload(
                    election_id, terminal_id, terminal.station_id, terminal.public_key, now, reason
                ),
            ).to_json(),
        )
    _revoke_at_inquiry(state, terminal_id, now)
    return now


def _revoke_at_inquiry(state: ServerState, terminal_id: str, revoked_at: int) -> None:
    """The inquiry's copy of a revocation (after the intake's audited commit; a failure in
    between is completed by ``sync_inquiry``)."""
    with state.registry_sessions.begin() as registry:
        registry.execute(
            update(InquiryTerminal)
            .where(InquiryTerminal.terminal_id == terminal_id, InquiryTerminal.revoked_at.is_(None))
            .values(revoked_at=revoked_at)
        )


def revocations(session: Session) -> list[dict[str, Any]]:
    """Every revoked terminal, in order of revocation (``revocations.jsonl``)."""
    rows = session.execute(
        select(Terminal)
        .where(Terminal.revoked_at.is_not(None))
        .order_by(Terminal.revoked_at, Terminal.terminal_id)
    ).scalars()
    return [
        {
            "terminal_id": row.terminal_id,
            "station_id": row.station_id,
            "public_key": row.public_key,
            "revoked_at": row.revoked_at,
            "reason": row.revocation_reason,
        }
        for row in rows
    ]


def revocation_certificates(session: Session) -> list[dict[str, Any]]:
    """HQ's signed revocations, in order of revocation (``revocations.jsonl``), as the
    ``terminal.revoked`` audit events keep them."""
    rows = session.execute(
        select(AuditEntry.fields)
        .where(AuditEntry.event_id == "terminal.revoked")
        .order_by(AuditEntry.position)
    ).scalars()
    return [json.loads(row)["revocation"] for row in rows]


def revoke_card(state: ServerState, card_id: str) -> None:
    now = state.now()
    with state.registry_sessions.begin() as session:
        if session.get(RevokedCard, card_id) is None:
            session.add(RevokedCard(card_id=card_id, revoked_at=now))
    with state.sessions.begin() as session:
        record_event(session, state.config.keys.server, "card.revoked", now, card_id=card_id)


def election_summary(state: ServerState) -> dict[str, Any]:
    """Public election data (``GET /api/v1/election`` and ``election.json``)."""
    info = state.election()
    with Session(state.engine) as session:
        terminals = session.execute(select(Terminal).order_by(Terminal.terminal_id)).scalars()
        terminal_list = [
            {"terminal_id": t.terminal_id, "station_id": t.station_id, "public_key": t.public_key}
            for t in terminals
        ]
    return {
        **info.row,
        "manifest": info.manifest_envelope,
        "trustees": [t.to_json() for t in info.trustees],
        "trustee_count": info.manifest.trustee_count,
        "quorum": info.manifest.quorum,
        "terminals": terminal_list,
    }
