"""A faithful election record written straight from the crypto core.

The tests and the benchmark need records of any size without running the
ballot server and terminals: this writes every file of docs/record.md the
way those parts do (signed terminal requests, authorizations, tracking-code
chains, a hash chain per station, signed national roots with consistency
proofs, receipts, poll reports), so the verifier is exercised
on the real format. Nothing here is used in production.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from crypto.ballot import (
    GENESIS_TRACKING_CODE,
    ElectionContext,
    EncryptedBallot,
    encrypt_ballot,
    tracking_code,
)
from crypto.canonical import canonical_json
from crypto.group import Point
from crypto.hashing import hash_bytes
from crypto.merkle import consistency_proof, leaf_hash
from crypto.merkle import root as merkle_root
from crypto.signing import SignedEnvelope, SigningKey
from evote.certificates import (
    KEYS_CERTIFICATE_KIND,
    REGISTRATION_KIND,
    keys_certificate_payload,
    read_trustee_signers,
    registration_payload,
)
from evote.countersign import COUNTERSIGNED, countersign_message
from evote.countersign import closing_counts as countersigned_counts
from evote.manifest import Manifest
from evote.protocol import (
    ACTION_POLL,
    ACTION_VOID,
    VOID_KIND,
    JournalDeclaration,
    build_terminal_request,
    poll_action_body,
    void_body,
)
from evote.provisional import ProvisionalGrant
from evote.resolution import COUNTED, Decision
from evote.resolution import KIND as RESOLUTION_KIND
from evote.sample import sample_manifest
from tally.ceremony import CeremonyResult
from tally.record import PROVISIONAL_RESOLUTION, RECORD_FORMAT, add_trustees
from tally.totals import StationAccumulator
from tally.verify_audit import SUBTOTALS, audit_entry_hash
from tally.verify_ballots import ENTRY_DOMAIN
from tally.verify_board import REPORT_NAMES
from tally.verify_declarations import CLOSED_BY
from tally.verify_revocations import REVOCATIONS
from tally.verify_voids import VOIDED_COUNT, VOIDS

AUDIT_START: Final = 1_789_990_000
"""The audit log's first second: stations open (and are audited) before any ballot."""


class NationalLog:
    """The server's national roots (``ballot_server/national.py``) over in-memory shards."""

    def __init__(self, server: SigningKey) -> None:
        self.server = server
        self.leaves: list[bytes] = []
        self.published: dict[str, int] = {}
        self.roots: list[dict[str, Any]] = []

    def publish(self, shards: Mapping[str, list[dict[str, Any]]], at: int) -> None:
        advanced = []
        for station_id in sorted(shards):
            shard, start = shards[station_id], self.published.get(station_id, 0)
            if len(shard) <= start:
                continue
            self.leaves.extend(leaf_hash(bytes.fromhex(e["entry_hash"])) for e in shard[start:])
            self.published[station_id] = len(shard)
            advanced.append(
                {
                    "station_id": station_id,
                    "length": len(shard),
                    "head_hash": shard[-1]["entry_hash"],
                }
            )
        if advanced:
            payload = {
                "tree_size": len(self.leaves),
                "root_hash": merkle_root(self.leaves).hex(),
                "at": at,
                "shards": advanced,
            }
            self.roots.append(self.server.sign("board-root", payload).to_json())

    def consistency_proofs(self) -> list[dict[str, Any]]:
        sizes = [item["payload"]["tree_size"] for item in self.roots]
        return [
            {
                "first": first,
                "second": second,
                "proof": [node.hex() for node in consistency_proof(self.leaves[:second], first)],
            }
            for first, second in zip(sizes, sizes[1:], strict=False)
        ]


def synthetic_manifest(
    stations: int,
    provinces: int = 2,
    counties_per_province: int = 2,
    trustees: tuple[int, int] = (3, 2),
) -> dict[str, Any]:
    """The sample election's contests over ``stations`` stations spread across the hierarchy."""
    document = sample_manifest(date(2026, 11, 23))
    units = [(p, c) for p in range(provinces) for c in range(counties_per_province)]
    layout: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for number in range(stations):
        province, county = units[number % len(units)]
        layout.setdefault(province, {}).setdefault(county, []).append(
            {
                "id": f"S-{number + 1:03d}",
                "name": {"fa": f"شعبه {number + 1}", "en": f"Station {number + 1}"},
                "district_id": "tehran-1",
            }
        )
    document["provinces"] = [
        {
            "id": f"P{province}",
            "name": {"fa": f"استان {province + 1}", "en": f"Province {province + 1}"},
            "counties": [
                {
                    "id": f"P{province}-C{county}",
                    "name": {"fa": f"فرمانداری {county + 1}", "en": f"County {county + 1}"},
                    "stations": items,
                }
                for county, items in sorted(counties.items())
            ],
        }
        for province, counties in sorted(layout.items())
    ]
    document["trustees"] = {"count": trustees[0], "quorum": trustees[1]}
    return document


@dataclass(frozen=True)
class Vote:
    """One booth visit: the station, the choices, and whether the voter challenged instead."""

    station_id: str
    choices: Mapping[str, Sequence[str]]
    challenged: bool = False
    provisional: str | None = None
    """Cast offline under a provisional authorization: the registry's decision,
    ``"counted"`` or an exclusion reason (``evote/resolution.py``)."""


def random_votes(
    manifest: Manifest, count: int, seed: int = 7, challenged_every: int = 0
) -> list[Vote]:
    rng = random.Random(seed)
    votes = []
    for number in range(count):
        station = manifest.stations[number % len(manifest.stations)]
        choices = {}
        for spec in manifest.contest_specs(station.ballot_style_id):
            size = rng.randint(0, spec.votes_allowed)
            choices[spec.contest_id] = rng.sample(spec.selection_ids, size)
        challenged = bool(challenged_every) and number % challenged_every == challenged_every - 1
        votes.append(Vote(station.station_id, choices, challenged))
    return votes


@dataclass
class RecordKeys:
    """The signing keys of every party that signs something in the record."""

    hq: SigningKey = field(default_factory=SigningKey.generate)
    registry: SigningKey = field(default_factory=SigningKey.generate)
    inquiry: SigningKey = field(default_factory=SigningKey.generate)
    server: SigningKey = field(default_factory=SigningKey.generate)
    terminals: dict[str, SigningKey] = field(default_factory=dict)
    officials: dict[str, SigningKey] = field(default_factory=dict)
    """Each station's official's card key, by station id."""


_worker_setup: tuple[ElectionContext, Manifest] | None = None


def _initialize(base_hash: bytes, key_hex: str, document: dict[str, Any]) -> None:
    global _worker_setup
    _worker_setup = (
        ElectionContext(base_hash, Point.from_hex(key_hex)),
        Manifest.from_json(document),
    )


def _encrypt(vote: Vote) -> tuple[dict[str, Any], dict[str, Any]]:
    if _worker_setup is None:
        raise RuntimeError("_initialize() must run first")
    context, manifest = _worker_setup
    style = manifest.station(vote.station_id).ballot_style_id
    ballot, secrets = encrypt_ballot(context, style, manifest.contest_specs(style), vote.choices)
    return ballot.to_json(), secrets.to_json()


def encrypt_votes(
    ceremony: CeremonyResult, manifest: Manifest, votes: Sequence[Vote], workers: int = 1
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    args = (ceremony.base_hash, ceremony.joint_public_key.hex(), manifest.document)
    if workers <= 1:
        _initialize(*args)
        return [_encrypt(vote) for vote in votes]
    with ProcessPoolExecutor(workers, initializer=_initialize, initargs=args) as pool:
        return list(pool.map(_encrypt, votes, chunksize=16))


def _write_lines(path: Path, items: Sequence[Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for item in items:
            handle.write(canonical_json(item) + b"\n")


def audit_log(
    server: SigningKey, events: Sequence[tuple[str, dict[str, Any]]], *, at: int
) -> list[dict[str, Any]]:
    """Lines of ``audit.jsonl`` as the ballot server writes them (docs/record.md)."""
    lines, previous = [], bytes(32)
    for position, (event_id, fields) in enumerate(events):
        digest = audit_entry_hash(previous, position, event_id, at + position, fields)
        lines.append(
            {
                "position": position,
                "event_id": event_id,
                "at": at + position,
                "fields": fields,
                "previous_hash": previous.hex(),
                "entry_hash": digest.hex(),
                "signature": server.sign_bytes(digest).hex(),
            }
        )
        previous = digest
    return lines


def _provisional_authorization(
    keys: RecordKeys,
    election_id: str,
    station_id: str,
    ballot_json: dict[str, Any],
    terminal_id: str,
) -> tuple[ProvisionalGrant, SignedEnvelope]:
    """A provisional authorization as a terminal in offline mode signs it, for a voter
    with a registry-certified card that signed the grant (``evote/provisional.py``)."""
    grant = ProvisionalGrant.fresh(
        election_id=election_id,
        station_id=station_id,
        ballot_style_id=ballot_json["ballot_style_id"],
        terminal_id=terminal_id,
        checked_in_at=1_790_000_040,
        snapshot_id="0" * 32,
    )
    card = SigningKey.generate()
    certificate = keys.registry.sign(
        "card-certificate",
        {
            "card_id": f"card-{grant.authorization_id}",
            "role": "voter",
            "national_code": "0012345679",
            "name_fa": "رأی‌دهنده",
            "name_en": "Voter",
            "birth_date": "1370-05-12",
            "card_public_key": card.public_key.hex(),
            "station_id": None,
        },
    )
    return grant, grant.sign(
        keys.terminals[terminal_id],
        keys.registry.public_key,
        national_code="0012345679",
        birth_date="1370-05-12",
        card_certificate=certificate,
        card_signature=card.sign_bytes(grant.card_challenge()),
    )


CLOSED_VERSION = 1
"""The poll version a synthetic record's close ends: its audit log opens each station
(version 1) and closes it (version 2)."""


def official_card(keys: RecordKeys, station_id: str) -> tuple[SigningKey, dict[str, Any]]:
    """The station official's card key and its registry-signed certificate."""
    card = keys.officials.setdefault(station_id, SigningKey.generate())
    certificate = keys.registry.sign(
        "card-certificate",
        {
            "card_id": f"official-{station_id}",
            "role": "official",
            "national_code": "0012345679",
            "name_fa": "مسئول شعبه",
            "name_en": "Station official",
            "birth_date": "1360-01-01",
            "card_public_key": card.public_key.hex(),
            "station_id": station_id,
        },
    )
    return card, certificate.to_json()


def close_request(
    keys: RecordKeys,
    terminal_id: str,
    head: tuple[int, bytes],
    station_id: str,
    poll_version: int = CLOSED_VERSION,
) -> dict[str, Any]:
    """The poll-action close a terminal signs with its journal head and the poll version
    it ends, the official's card answering a server challenge (``terminal/officials.py``)."""
    card, certificate = official_card(keys, station_id)
    challenge = os.urandom(32)
    body = poll_action_body(
        "close",
        challenge.hex(),
        certificate,
        card.sign_bytes(challenge),
        JournalDeclaration(head),
        poll_version=poll_version,
    )
    return build_terminal_request(
        keys.terminals[terminal_id], terminal_id, ACTION_POLL, body, now=1_800_000_000
    )


def void(
    keys: RecordKeys,
    election_id: str,
    station_id: str,
    terminal_id: str,
    authorization_id: str | None = None,
) -> dict[str, Any]:
    """A void of an authorization its terminal gave up (a voter cancelled; a fresh
    one unless named), as the server signs it around the terminal's request
    (``ballot_server/release.py``)."""
    authorization_id = authorization_id or os.urandom(16).hex()
    request = build_terminal_request(
        keys.terminals[terminal_id],
        terminal_id,
        ACTION_VOID,
        void_body(station_id, authorization_id, "cancelled"),
        now=1_790_000_500,
    )
    payload = {
        "election_id": election_id,
        "authorization_id": authorization_id,
        "station_id": station_id,
        "terminal_id": terminal_id,
        "reason": "cancelled",
        "voided_at": 1_790_000_500,
        "request": request,
    }
    return keys.server.sign(VOID_KIND, payload).to_json()


def closing_counts(balance: Counter[str]) -> dict[str, int]:
    """A closing report's counts when every voter who came cast or challenged once and
    left (a visit that only challenged leaves its authorization unused)."""
    online_cast, offline_cast = balance["online_cast"], balance["offline_cast"]
    return {
        "authorizations_issued": online_cast + balance["online_unused"],
        "offline_check_ins": offline_cast + balance["offline_unused"],
        "ballots_cast": online_cast + offline_cast,
        "provisional_cast": offline_cast,
        "authorizations_released": 0,
        "authorizations_unused": balance["online_unused"],
        "provisional_unused": balance["offline_unused"],
    }


def count_closing(report: dict[str, Any], shard: Sequence[dict[str, Any]]) -> None:
    """A closing report's ballot counts, per terminal and in all, from its station's
    shard (``ballot_server/reports.py``)."""
    per_terminal: dict[str, dict[str, int]] = {}
    for entry in shard:
        terminal_id = entry["payload"]["payload"]["terminal_id"]
        per_terminal.setdefault(terminal_id, {"ballot": 0, "challenged": 0})[entry["kind"]] += 1
    for item in report["terminals"]:
        counts = per_terminal.get(item["terminal_id"], {"ballot": 0, "challenged": 0})
        item["ballots_cast"], item["challenged"] = counts["ballot"], counts["challenged"]
    report["ballots_cast"] = sum(item["ballots_cast"] for item in report["terminals"])
    report["challenged"] = sum(item["challenged"] for item in report["terminals"])


def countersign(keys: RecordKeys, report: dict[str, Any]) -> None:
    """The station official's card signs the closing report's counts
    (``terminal/officials.py``, ``evote/countersign.py``)."""
    card, certificate = official_card(keys, report["station_id"])
    challenge = os.urandom(32)
    counts = countersigned_counts(report)
    report[COUNTERSIGNED] = {
        "counts": counts,
        "challenge": challenge.hex(),
        "card_certificate": certificate,
        "card_signature": card.sign_bytes(countersign_message(challenge, counts)).hex(),
    }


def build_record(
    root: Path,
    ceremony: CeremonyResult,
    manifest_document: dict[str, Any],
    votes: Sequence[Vote],
    *,
    terminals_per_station: int = 1,
    workers: int = 1,
    keys: RecordKeys | None = None,
    root_every: int = 10,
) -> RecordKeys:
    """Write manifest, election, trustees, board, roots, receipts and reports.

    A national root is published after every ``root_every`` ballots (and the
    last): often in tests, so that they cover many roots; rarely in the national
    benchmark, where the server publishes one a minute over some 85,000 entries.
    """
    root = Path(root)
    keys = keys or RecordKeys()
    manifest = Manifest.from_json(manifest_document)
    encrypted = encrypt_votes(ceremony, manifest, votes, workers)
    terminals: dict[str, list[str]] = {}
    for station in manifest.stations:
        for number in range(terminals_per_station):
            terminal_id = f"T-{station.station_id}-{number + 1}"
            keys.terminals.setdefault(terminal_id, SigningKey.generate())
            terminals.setdefault(station.station_id, []).append(terminal_id)
    chains: dict[str, tuple[int, bytes]] = {}
    visits: dict[str, int] = {}
    shards: dict[str, list[dict[str, Any]]] = {}
    receipts: list[dict[str, Any]] = []
    log = NationalLog(keys.server)
    decisions: list[Decision] = []
    balances: dict[str, Counter[str]] = {s.station_id: Counter() for s in manifest.stations}
    for number, (vote, (ballot_json, secrets_json)) in enumerate(
        zip(votes, encrypted, strict=True)
    ):
        station_terminals = terminals[vote.station_id]
        visits[vote.station_id] = visits.get(vote.station_id, -1) + 1
        terminal_id = station_terminals[visits[vote.station_id] % len(station_terminals)]
        sequence, previous_code = chains.get(terminal_id, (0, GENESIS_TRACKING_CODE))
        code = tracking_code(EncryptedBallot.from_json(ballot_json), previous_code)
        chains[terminal_id] = (sequence + 1, code)
        if vote.provisional is None:
            authorization = keys.inquiry.sign(
                "authorization",
                {
                    "authorization_id": os.urandom(16).hex(),
                    "election_id": manifest.election_id,
                    "station_id": vote.station_id,
                    "ballot_style_id": ballot_json["ballot_style_id"],
                    "expires_at": 1_800_000_000,
                    "poll_period": 1,
                },
            )
        else:
            grant, authorization = _provisional_authorization(
                keys, manifest.election_id, vote.station_id, ballot_json, terminal_id
            )
            decisions.append(
                Decision(
                    len(shards.get(vote.station_id, [])),
                    grant.authorization_id,
                    vote.station_id,
                    vote.provisional == COUNTED,
                    None if vote.provisional == COUNTED else vote.provisional,
                )
            )
        body = {
            "station_id": vote.station_id,
            "sequence": sequence + 1,
            "previous_tracking_code": previous_code.hex(),
            "tracking_code": code.hex(),
            "ballot": ballot_json,
            "authorization": authorization.to_json(),
        }
        if vote.challenged:
            body["secrets"] = secrets_json
        side = "online" if vote.provisional is None else "offline"
        balances[vote.station_id][f"{side}_{'unused' if vote.challenged else 'cast'}"] += 1
        request = {
            "terminal_id": terminal_id,
            "nonce": os.urandom(8).hex(),
            "timestamp": 1_790_000_000 + number,
            "action": "challenge" if vote.challenged else "cast",
            "body": body,
        }
        payload = keys.terminals[terminal_id].sign("terminal-request", request).to_json()
        kind = "challenged" if vote.challenged else "ballot"
        shard = shards.setdefault(vote.station_id, [])
        position = len(shard)
        previous_hash = bytes.fromhex(shard[-1]["entry_hash"]) if shard else bytes(32)
        entry_hash = hash_bytes(
            ENTRY_DOMAIN, previous_hash, vote.station_id, position, kind, canonical_json(payload)
        )
        shard.append(
            {
                "station_id": vote.station_id,
                "position": position,
                "kind": kind,
                "previous_hash": previous_hash.hex(),
                "entry_hash": entry_hash.hex(),
                "payload": payload,
            }
        )
        if not vote.challenged:
            receipt = {
                "election_id": manifest.election_id,
                "tracking_code": code.hex(),
                "station_id": vote.station_id,
                "terminal_id": terminal_id,
                "sequence": sequence + 1,
                "board_position": position,
                "received_at": 1_790_000_000 + number,
            }
            receipts.append(keys.server.sign("receipt", receipt).to_json())
        if number % root_every == root_every - 1 or number == len(votes) - 1:
            log.publish(shards, at=1_790_000_000 + number)
    _write_lines(
        root / "board/entries.jsonl",
        [entry for station_id in sorted(shards) for entry in shards[station_id]],
    )
    _write_lines(root / "board/roots.jsonl", log.roots)
    _write_lines(root / "board/consistency.jsonl", log.consistency_proofs())
    if decisions:
        decisions.sort(key=lambda decision: (decision.station_id, decision.board_position))
        resolution_payload = {
            "election_id": manifest.election_id,
            "resolved_at": 1_800_000_100,
            "decisions": [decision.to_json() for decision in decisions],
        }
        _write_lines(
            root / PROVISIONAL_RESOLUTION,
            [keys.registry.sign(RESOLUTION_KIND, resolution_payload).to_json()],
        )
    sums = StationAccumulator()
    for vote, (ballot_json, _) in zip(votes, encrypted, strict=True):
        if not vote.challenged:
            sums.add_ballot(vote.station_id, ballot_json)
    subtotals = {
        unit.unit_id: {
            contest_id: {key: value.to_json() for key, value in totals.ciphertexts.items()}
            for contest_id, totals in unit.contests.items()
        }
        for unit in sums.station_units(manifest)
    }
    _write_lines(root / "board/receipts.jsonl", receipts)
    voids = [
        void(keys, manifest.election_id, s.station_id, terminals[s.station_id][0])
        for s in manifest.stations
    ]
    voids.sort(key=lambda item: (item["payload"]["voided_at"], item["payload"]["authorization_id"]))
    _write_lines(root / VOIDS, voids)
    _write_lines(root / REVOCATIONS, [])
    for station in manifest.stations:
        for which in ("opening", "closing"):
            report: dict[str, Any] = {
                "election_id": manifest.election_id,
                "station_id": station.station_id,
                "report": REPORT_NAMES[which],
                "at": 1_790_000_000 if which == "opening" else 1_800_000_000,
                "terminals": [
                    {
                        "terminal_id": terminal_id,
                        "last_sequence": chains.get(terminal_id, (0, b""))[0]
                        if which == "closing"
                        else 0,
                        "chain_head": (
                            chains.get(terminal_id, (0, GENESIS_TRACKING_CODE))[1]
                            if which == "closing"
                            else GENESIS_TRACKING_CODE
                        ).hex(),
                    }
                    for terminal_id in terminals[station.station_id]
                ],
            }
            if which == "closing":
                report["poll_version"], report["revision"] = CLOSED_VERSION, 1
                report[SUBTOTALS] = subtotals[station.station_id]
                report[VOIDED_COUNT] = 1
                closer = terminals[station.station_id][0]
                report[CLOSED_BY] = close_request(
                    keys, closer, chains.get(closer, (0, GENESIS_TRACKING_CODE)), station.station_id
                )
                report.update(closing_counts(balances[station.station_id]))
                count_closing(report, shards.get(station.station_id, []))
                report["check_ins"] = report["ballots_cast"]
                countersign(keys, report)
            _write_lines(
                root / f"reports/{station.station_id}-{which}.json",
                [keys.server.sign("poll-report", report).to_json()],
            )
    _write_lines(root / "manifest.json", [keys.hq.sign("manifest", manifest_document).to_json()])
    registered = [
        {
            "terminal_id": terminal_id,
            "station_id": station_id,
            "public_key": keys.terminals[terminal_id].public_key.hex(),
        }
        for station_id, ids in terminals.items()
        for terminal_id in ids
    ]
    election = {
        "election_id": manifest.election_id,
        "manifest_hash": manifest.manifest_hash.hex(),
        "base_hash": ceremony.base_hash.hex(),
        "joint_public_key": ceremony.joint_public_key.hex(),
        "trustee_count": manifest.trustee_count,
        "quorum": manifest.quorum,
        "hq_public_key": keys.hq.public_key.hex(),
        "registry_public_key": keys.registry.public_key.hex(),
        "inquiry_public_key": keys.inquiry.public_key.hex(),
        "server_public_key": keys.server.public_key.hex(),
        "terminals": registered,
    }
    _write_lines(root / "election.json", [election])
    (root / "FORMAT").write_text(RECORD_FORMAT + "\n", encoding="ascii")
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "election.created",
            {
                "election_id": manifest.election_id,
                "manifest_hash": manifest.manifest_hash.hex(),
                "keys_certificate": keys.hq.sign(
                    KEYS_CERTIFICATE_KIND,
                    keys_certificate_payload(
                        manifest.election_id,
                        manifest.manifest_hash.hex(),
                        keys.registry.public_key.hex(),
                        keys.inquiry.public_key.hex(),
                        keys.server.public_key.hex(),
                        read_trustee_signers(
                            ceremony.exchange, range(1, manifest.trustee_count + 1)
                        ),
                    ),
                ).to_json(),
            },
        ),
        *(
            (
                "terminal.registered",
                {
                    **item,
                    "registration": keys.hq.sign(
                        REGISTRATION_KIND,
                        registration_payload(
                            manifest.election_id,
                            item["terminal_id"],
                            item["station_id"],
                            item["public_key"],
                        ),
                    ).to_json(),
                },
            )
            for item in registered
        ),
        *(("poll.opened", {"station_id": s.station_id}) for s in manifest.stations),
        *(
            ("board.root", {k: item["payload"][k] for k in ("tree_size", "root_hash")})
            for item in log.roots[:-1]
        ),
        *(("poll.closed", {"station_id": s.station_id}) for s in manifest.stations),
        *(
            ("board.root", {k: item["payload"][k] for k in ("tree_size", "root_hash")})
            for item in log.roots[-1:]
        ),
    ]
    _write_lines(root / "audit.jsonl", audit_log(keys.server, events, at=AUDIT_START))
    add_trustees(root, ceremony.exchange, manifest.trustee_count)
    return keys
