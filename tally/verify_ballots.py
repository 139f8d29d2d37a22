"""Per-entry checks of the bulletin board, the verifier's heavy part.

Runs in worker processes: the parent passes JSON lines (never objects) and a
JSON-able context once per worker; each chunk returns the facts the parent
needs for the sequential checks (chains, authorizations, receipts, reports),
the first failure in the chunk, and partial station sums of the cast ballots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple

from crypto.ballot import (
    BallotSecrets,
    ContestSpec,
    ElectionContext,
    EncryptedBallot,
    tracking_code_of_bytes,
    verify_ballot,
    verify_challenge,
)
from crypto.canonical import canonical_json, canonical_member, parse_json
from crypto.errors import CryptoError, InvalidSignature
from crypto.group import POINT_BYTES, Point
from crypto.hashing import hash_bytes
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SIGNATURE_DOMAIN, SignedEnvelope, VerifyKey
from evote import provisional
from evote.provisional import ProvisionalError
from tally.errors import TallyError
from tally.repeats import bucket_records
from tally.totals import StationAccumulator

ENTRY_DOMAIN: Final = "evote/board-entry/v2"
ACTIONS: Final = {"ballot": "cast", "challenged": "challenge"}
REQUEST_KIND: Final = "terminal-request"
ENVELOPE_FIELDS: Final = frozenset({"kind", "payload", "signer", "signature"})
_TRACKING_CODE: Final = re.compile(r'"tracking_code":"([0-9a-f]{64})"')
"""The body's own key (``previous_tracking_code`` has no quote right before this)."""


class EntryFacts(NamedTuple):
    """What the sequential checks need from one entry (plain data: crosses processes).

    A named tuple: the board-wide checks build one again from each row of the
    ``EntryStore`` at every pass, five times faster than a frozen dataclass.
    """

    line: int
    position: int
    timestamp: int
    """The terminal's signed request time (unix s): never decreases along its chain."""
    kind: str
    previous_hash: str
    entry_hash: str
    terminal_id: str
    station_id: str
    sequence: int
    previous_tracking_code: str
    tracking_code: str
    authorization_id: str
    provisional: bool
    """Cast under a provisional authorization (a station offline): counted only when the
    registry's resolution says so (``verify_provisional.py``)."""
    poll_period: int | None
    """The poll version of the opening the inquiry authorized it under (None when
    provisional: issued with no server)."""


@dataclass
class BallotSums:
    """Cast ballots summed per station: the ones that count, and apart the provisional
    ones the registry excluded (a closing report sums both: the station cast them)."""

    counted: StationAccumulator = field(default_factory=StationAccumulator)
    excluded: StationAccumulator = field(default_factory=StationAccumulator)

    def merge(self, other: BallotSums) -> None:
        self.counted.merge(other.counted)
        self.excluded.merge(other.excluded)

    def cast(self) -> StationAccumulator:
        every = StationAccumulator()
        every.merge(self.counted)
        every.merge(self.excluded)
        return every


@dataclass
class ChunkResult:
    facts: list[EntryFacts]
    failure: tuple[int, str, str] | None
    sums: BallotSums
    alphas: dict[int, bytes] = field(default_factory=dict)
    """Every ciphertext's alpha with its line, as ``repeats.bucket_records``: no two
    may be equal on a board. Sorted into buckets here, so the parent only appends
    them to the buckets' files (``repeats.py``) and keeps none."""


class _Context:
    """The election facts every entry is checked against, rebuilt once per worker."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.election_id: str = data["election_id"]
        self.election = ElectionContext(
            bytes.fromhex(data["base_hash"]), Point.from_hex(data["joint_public_key"])
        )
        self.inquiry_key = VerifyKey.from_hex(data["inquiry_public_key"])
        self.terminals = {
            item["terminal_id"]: (item["station_id"], VerifyKey.from_hex(item["public_key"]))
            for item in data["terminals"]
        }
        self.station_styles: dict[str, str] = data["station_styles"]
        self.counted_provisional = frozenset(data["counted_provisional"])
        self.alpha_buckets: int = data["alpha_buckets"]
        self.specs = {
            style: tuple(ContestSpec(c, tuple(s), k) for c, s, k in specs)
            for style, specs in data["specs"].items()
        }


_context: _Context | None = None


def initialize(context: dict[str, Any]) -> None:
    """Process-pool initializer (also called in-process for one worker)."""
    global _context
    _context = _Context(context)


class EntryError(TallyError):
    """One entry fails a check; the parent turns it into a located VerificationFailure."""


def _require(condition: bool, message: str, code: str) -> None:
    if not condition:
        raise EntryError(message, code=code)


def _verify_request(key: VerifyKey, envelope: dict[str, Any], payload_bytes: bytes) -> None:
    """``SignedEnvelope.verify(REQUEST_KIND, key)`` on payload bytes already canonical.

    The message is ``crypto.signing.signing_message``'s layout; building it from
    bytes cut out of the entry saves encoding the whole ballot twice more.
    """
    if envelope["kind"] != REQUEST_KIND:
        raise InvalidSignature(f"expected a {REQUEST_KIND!r} envelope, got {envelope['kind']!r}")
    if VerifyKey.from_hex(envelope["signer"]).key != key.key:
        raise InvalidSignature("envelope signed by an unexpected key")
    message = SIGNATURE_DOMAIN + REQUEST_KIND.encode("ascii") + b"\x00" + payload_bytes
    key.verify_bytes(message, bytes_from_hex(envelope["signature"], 64, "signature"))


def _authorization(
    context: _Context, body: dict[str, Any], terminal_id: str, terminal_key: VerifyKey
) -> tuple[dict[str, Any], bool]:
    """The authorization's payload, and whether it is provisional: an inquiry-signed
    one, or a provisional one signed by the very terminal that cast the ballot."""
    envelope = SignedEnvelope.from_json(body["authorization"])
    if envelope.kind != provisional.KIND:
        payload = envelope.verify("authorization", context.inquiry_key)
        if not isinstance(payload, dict):
            raise EntryError("authorization payload", code="bad_authorization")
        return payload, False
    try:
        grant, _ = provisional.read_grant(envelope, terminal_key)
    except ProvisionalError as error:
        raise EntryError(str(error), code="bad_authorization") from error
    _require(grant.terminal_id == terminal_id, "another terminal's grant", "bad_authorization")
    return vars(grant), True


def _check_entry(
    context: _Context, line: int, text: str, sums: BallotSums
) -> tuple[EntryFacts, bytes]:
    """The entry's facts and its ciphertexts' alphas, or EntryError."""
    entry = parse_json(text)
    _require(
        isinstance(entry, dict)
        and set(entry)
        == {"station_id", "position", "kind", "previous_hash", "entry_hash", "payload"},
        "not a board entry",
        "malformed_entry",
    )
    kind, position, shard = entry["kind"], entry["position"], entry["station_id"]
    _require(
        kind in ACTIONS and type(position) is int and isinstance(shard, str),
        "bad kind, position or station",
        "bad_entry",
    )
    previous = bytes_from_hex(entry["previous_hash"], 32, "previous_hash")
    payload = entry["payload"]
    _require(
        isinstance(payload, dict) and set(payload) == ENVELOPE_FIELDS,
        "payload is not a signed envelope",
        "malformed_entry",
    )
    # Encoded once: the entry hash, the terminal's signature and the tracking code
    # each read their own part of these bytes.
    payload_bytes = canonical_json(payload)
    computed = hash_bytes(ENTRY_DOMAIN, previous, shard, position, kind, payload_bytes)
    _require(computed.hex() == entry["entry_hash"], "entry hash does not match", "bad_entry_hash")
    request = payload["payload"]
    terminal = request.get("terminal_id") if isinstance(request, dict) else None
    _require(terminal in context.terminals, f"unknown terminal {terminal!r}", "bad_terminal")
    terminal_id = str(terminal)
    station_id, terminal_key = context.terminals[terminal_id]
    request_bytes = canonical_member(payload_bytes, payload, "payload")
    _verify_request(terminal_key, payload, request_bytes)
    _require(request["action"] == ACTIONS[kind], "action does not match kind", "bad_action")
    body = request["body"]
    _require(
        body["station_id"] == station_id == shard,
        "terminal's station differs from the ballot's or the shard's",
        "bad_station",
    )
    sequence = body["sequence"]
    _require(type(sequence) is int and sequence >= 1, "bad sequence", "bad_sequence")
    authorization, provisional_grant = _authorization(context, body, terminal_id, terminal_key)
    style = context.station_styles[station_id]
    _require(
        authorization["election_id"] == context.election_id
        and authorization["station_id"] == station_id
        and authorization["ballot_style_id"] == style,
        "authorization is for another election, station or ballot style",
        "bad_authorization",
    )
    timestamp = request["timestamp"]
    _require(type(timestamp) is int, "timestamp is not an integer", "malformed_entry")
    poll_period = None
    if not provisional_grant:
        poll_period = authorization["poll_period"]
        _require(type(poll_period) is int, "poll_period is not an integer", "bad_authorization")
        expires_at = authorization["expires_at"]
        _require(
            type(expires_at) is int and timestamp <= expires_at,
            f"signed at {timestamp}, after its authorization expired at {expires_at}",
            "authorization_expired",
        )
    ballot = EncryptedBallot.from_json(body["ballot"])
    _require(ballot.ballot_style_id == style, "wrong ballot style", "bad_ballot_style")
    verify_ballot(context.election, context.specs[style], ballot)
    previous_code = bytes_from_hex(body["previous_tracking_code"], 32, "previous_tracking_code")
    ballot_bytes = canonical_member(
        canonical_member(request_bytes, request, "body"), body, "ballot"
    )
    code = tracking_code_of_bytes(ballot_bytes, previous_code)
    _require(code.hex() == body["tracking_code"], "tracking code does not match", "bad_tracking")
    if kind == "challenged":
        secrets = BallotSecrets.from_json(body["secrets"])
        verify_challenge(context.election, context.specs[style], ballot, secrets)
    elif not provisional_grant or authorization["authorization_id"] in context.counted_provisional:
        sums.counted.add_encrypted(station_id, ballot)
    else:
        sums.excluded.add_encrypted(station_id, ballot)
    facts = EntryFacts(
        line,
        position,
        timestamp,
        kind,
        entry["previous_hash"],
        entry["entry_hash"],
        terminal_id,
        station_id,
        sequence,
        body["previous_tracking_code"],
        body["tracking_code"],
        str(authorization["authorization_id"]),
        provisional_grant,
        poll_period,
    )
    alphas = b"".join(
        ciphertext.alpha.to_bytes()
        for contest in ballot.contests
        for ciphertext in (*(s.ciphertext for s in contest.selections), contest.blank)
    )
    return facts, alphas


def naming_tracking_code(message: str, text: str) -> str:
    """``message`` followed by the tracking code the entry claims, when one can be read.

    A voter holds a tracking code, not a line number: naming it lets whoever
    finds a failure tell which receipt it concerns.
    """
    found = _TRACKING_CODE.search(text)
    return f"{message} (tracking code {found.group(1)})" if found else message


def check_chunk(lines: list[tuple[int, str]]) -> ChunkResult:
    """Check a chunk of (line number, JSON line); stop at the chunk's first failure."""
    if _context is None:
        raise RuntimeError("initialize() must run before check_chunk()")
    result = ChunkResult([], None, BallotSums())
    alphas: list[tuple[int, bytes]] = []
    for line, text in lines:
        try:
            facts, blob = _check_entry(_context, line, text, result.sums)
        except (TallyError, CryptoError) as error:
            result.failure = (line, error.code, naming_tracking_code(str(error), text))
            break
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            message = naming_tracking_code(f"missing or bad field {error}", text)
            result.failure = (line, "malformed_entry", message)
            break
        result.facts.append(facts)
        alphas.extend(
            (line, blob[at : at + POINT_BYTES]) for at in range(0, len(blob), POINT_BYTES)
        )
    result.alphas = bucket_records(alphas, POINT_BYTES, _context.alpha_buckets)
    return result
