"""The ballot server's HTTP wire format, shared by the server and the terminal.

One home for every path, request body and response body (docs/api.md,
docs/openapi.json). Every terminal request is a signed envelope of kind
``terminal-request`` whose payload is ``{terminal_id, nonce, timestamp, action,
body}``; the server checks the signature against the terminal's registered key
and refuses a reused nonce or a timestamp outside its window. Ballot
submissions are the exception to the window: a terminal journals the signed
envelope before sending it and may resend it after an outage, so their
freshness comes from the per-terminal sequence and tracking-code chain instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from crypto.ballot import BallotSecrets, EncryptedBallot, tracking_code, tracking_code_of_bytes
from crypto.canonical import canonical_member
from crypto.errors import DecodingError
from crypto.hashing import hash_bytes
from crypto.hexcodec import bytes_from_hex
from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from evote.countersign import COUNTERSIGN

API = "/api/v1"
PATH_ELECTION = f"{API}/election"
PATH_TERMINAL_STATUS = f"{API}/terminal/status"
PATH_INQUIRY_CHALLENGE = f"{API}/inquiry/challenge"
PATH_CHECK_IN = f"{API}/inquiry/check-in"
PATH_ISSUE_PASS = f"{API}/inquiry/passes"
PATH_REDEEM_PASS = f"{API}/inquiry/passes/redeem"
PATH_OFFICIAL_CHALLENGE = f"{API}/polls/challenge"
PATH_POLL_ACTION = f"{API}/polls/action"
PATH_POLL_STATUS = f"{API}/polls/{{station_id}}"
PATH_CLOSING_REPORT = f"{API}/polls/{{station_id}}/closing-report"
PATH_CAST = f"{API}/ballots/cast"
PATH_CHALLENGE = f"{API}/ballots/challenge"
PATH_VOID = f"{API}/authorizations/void"
PATH_RELEASE = f"{API}/inquiry/release"
PATH_BOARD = f"{API}/board"
PATH_ROOTS = f"{API}/board/roots"
PATH_CONSISTENCY = f"{API}/board/consistency"
PATH_LOOKUP = f"{API}/board/lookup/{{tracking_code}}"
PATH_STATION_EXPORT = f"{API}/stations/{{station_id}}/export"
PATH_TURNOUT = f"{API}/turnout"

TERMINAL_REQUEST = "terminal-request"
ACTION_STATUS = "status"
ACTION_INQUIRY_CHALLENGE = "inquiry-challenge"
ACTION_CHECK_IN = "check-in"
ACTION_ISSUE_PASS = "issue-pass"
ACTION_REDEEM_PASS = "redeem-pass"
ACTION_OFFICIAL_CHALLENGE = "official-challenge"
ACTION_POLL = "poll-action"
ACTION_CAST = "cast"
ACTION_CHALLENGE = "challenge"
ACTION_VOID = "void"
ACTION_RELEASE = "release"
ACTIONS = (
    ACTION_STATUS,
    ACTION_INQUIRY_CHALLENGE,
    ACTION_CHECK_IN,
    ACTION_ISSUE_PASS,
    ACTION_REDEEM_PASS,
    ACTION_OFFICIAL_CHALLENGE,
    ACTION_POLL,
    ACTION_CAST,
    ACTION_CHALLENGE,
    ACTION_VOID,
    ACTION_RELEASE,
)
# Why a terminal voids an authorization it will not use (docs/server.md, "No voter
# locked out"); ``terminal_revoked``: another booth voids, for the voter, one that a
# revoked terminal held (``evote/release_escrow.py``).
REVOKED_HOLDER = "terminal_revoked"
VOID_REASONS = (
    "cancelled",
    "card_removed",
    "timeout",
    "answer_lost",
    "terminal_restart",
    "error",
    REVOKED_HOLDER,
)
POLL_ACTIONS = ("open", "pause", "resume", "close")
MAX_SEQUENCE = 2**31 - 1  # sequences are 32-bit signed integers in the database

MAX_REQUEST_BYTES = 512 * 1024
NONCE_BYTES = 16
CHALLENGE_BYTES = 32
RELEASE_KEY_BYTES = 16
AUTHORIZATION_KEY_BYTES = 16
# SecretBox nonce (24) + MAC (16) + release key (16) + terminal id (padded to MAX_ID_LENGTH)
RELEASE_ESCROW_BYTES = 24 + 16 + RELEASE_KEY_BYTES + 64
MAX_ID_LENGTH = 64
MAX_CHALLENGE_ID_LENGTH = 128  # an inquiry challenge id is 80 hex digits (expiry, random, MAC)


def _object(data: object, required: Set[str], optional: Set[str], what: str) -> dict[str, Any]:
    """A JSON object with exactly the required keys and perhaps some optional ones."""
    if not isinstance(data, dict):
        raise DecodingError(f"{what}: expected an object")
    missing = required - set(data)
    extra = set(data) - required - optional
    if missing or extra:
        raise DecodingError(
            f"{what}: missing {sorted(missing)}, unexpected {sorted(extra)}"
            if missing and extra
            else f"{what}: missing {sorted(missing)}"
            if missing
            else f"{what}: unexpected {sorted(extra)}"
        )
    return data


def identifier(value: object, what: str, max_length: int = MAX_ID_LENGTH) -> str:
    """An id from outside (terminal, station, challenge): a non-empty printable string
    of at most ``max_length``. Control characters and lone surrogates are refused here:
    PostgreSQL cannot store a NUL byte nor encode a surrogate, so they would otherwise
    fail in the database, not as a refusal."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > max_length
        or not value.isprintable()
    ):
        raise DecodingError(
            f"{what}: expected a non-empty printable string of at most {max_length}"
        )
    return value


def _integer(value: object, what: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DecodingError(f"{what}: expected an integer in {low}..{high}")
    return value


def _envelope(value: object, what: str) -> SignedEnvelope:
    try:
        return SignedEnvelope.from_json(value)
    except DecodingError as error:
        raise DecodingError(f"{what}: {error}") from error


# --- terminal requests ------------------------------------------------------------------


@dataclass(frozen=True)
class TerminalRequest:
    """A decoded (not yet authenticated) terminal request."""

    envelope: SignedEnvelope
    terminal_id: str
    nonce: str
    timestamp: int
    action: str
    body: dict[str, Any]


def build_terminal_request(
    signing_key: SigningKey,
    terminal_id: str,
    action: str,
    body: dict[str, Any],
    *,
    now: int | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """Sign ``body`` as a terminal request; returns the envelope's JSON (the HTTP body)."""
    payload = {
        "terminal_id": terminal_id,
        "nonce": (nonce if nonce is not None else os.urandom(NONCE_BYTES)).hex(),
        "timestamp": int(time.time()) if now is None else now,
        "action": action,
        "body": body,
    }
    return signing_key.sign(TERMINAL_REQUEST, payload).to_json()


def parse_terminal_request(data: object) -> TerminalRequest:
    """Decode the shape of a terminal request; the caller checks signer and freshness."""
    envelope = _envelope(data, "request")
    if envelope.kind != TERMINAL_REQUEST:
        raise DecodingError(f"request: expected a {TERMINAL_REQUEST!r} envelope")
    payload = _object(
        envelope.payload, {"terminal_id", "nonce", "timestamp", "action", "body"}, set(), "request"
    )
    action = payload["action"]
    if action not in ACTIONS:
        raise DecodingError(f"request.action: expected one of {', '.join(ACTIONS)}")
    body = payload["body"]
    if not isinstance(body, dict):
        raise DecodingError("request.body: expected an object")
    bytes_from_hex(payload["nonce"], NONCE_BYTES, "request.nonce")
    return TerminalRequest(
        envelope=envelope,
        terminal_id=identifier(payload["terminal_id"], "request.terminal_id"),
        nonce=payload["nonce"],
        timestamp=_integer(payload["timestamp"], "request.timestamp", 0, 2**40),
        action=action,
        body=body,
    )


# --- inquiry and officials ----------------------------------------------------------------


@dataclass(frozen=True)
class CardAnswer:
    """A card certificate and the card's signature over a server challenge; at a booth
    check-in also the terminal's secret release key (``release_derivation``)."""

    challenge_id: str
    certificate: SignedEnvelope
    card_signature: bytes
    release_key: bytes | None = None
    release_escrow: str | None = None


def card_answer_body(
    challenge_id: str,
    card_certificate: dict[str, Any],
    card_signature: bytes,
    release_key: bytes | None = None,
    release_escrow: str | None = None,
) -> dict[str, Any]:
    """Body of check-in, issue-pass and (with ``action``) poll-action requests; a booth's
    check-in adds its release key and the key sealed for the voter's card
    (``evote/release_escrow.py``)."""
    body = {
        "challenge_id": challenge_id,
        "card_certificate": card_certificate,
        "card_signature": card_signature.hex(),
    }
    if release_key is not None:
        body["release_key"] = release_key.hex()
    if release_escrow is not None:
        body["release_escrow"] = release_escrow
    return body


def parse_card_answer(body: dict[str, Any], optional: Set[str] = frozenset()) -> CardAnswer:
    data = _object(body, {"challenge_id", "card_certificate", "card_signature"}, optional, "body")
    return CardAnswer(
        challenge_id=identifier(data["challenge_id"], "body.challenge_id", MAX_CHALLENGE_ID_LENGTH),
        certificate=_envelope(data["card_certificate"], "body.card_certificate"),
        card_signature=bytes_from_hex(data["card_signature"], 64, "body.card_signature"),
        release_key=_optional_release_key(data),
        release_escrow=_optional_escrow(data),
    )


def _optional_escrow(data: dict[str, Any]) -> str | None:
    """A check-in's sealed release key (hex), when the terminal sent one: stored as
    given, so checked for length and hex digits here."""
    escrow = data.get("release_escrow")
    if escrow is None:
        return None
    bytes_from_hex(escrow, RELEASE_ESCROW_BYTES, "body.release_escrow")
    return str(escrow).lower()


def _optional_release_key(data: dict[str, Any]) -> bytes | None:
    """A check-in's or pass redemption's release key, when the terminal sent one."""
    release_key = data.get("release_key")
    if release_key is None:
        return None
    return bytes_from_hex(release_key, RELEASE_KEY_BYTES, "body.release_key")


# --- voids and releases (no voter locked out) -----------------------------------------------


def authorization_key(release_key: bytes) -> bytes:
    """The release key's public half: with the holder terminal's id it gives the
    authorization's id (``authorization_id``), never the commitment."""
    return hash_bytes("evote/authorization-key/v1", release_key, digest_size=16)


def authorization_id(key: bytes, terminal_id: str) -> str:
    """The id of the authorization the inquiry issued to ``terminal_id`` for a release
    key whose ``authorization_key`` is ``key``: anyone shown the key can check which
    terminal an authorization was issued to (a void for a revoked terminal shows it)."""
    return hash_bytes("evote/authorization-id/v2", key, terminal_id, digest_size=16).hex()


def release_derivation(release_key: bytes, terminal_id: str) -> tuple[str, str]:
    """``(authorization_id, release_commitment)`` of a terminal's secret release key.

    The inquiry gives the authorization this id and stores only the commitment beside
    the check-in; neither reveals the other without the key, which the terminal keeps
    until the authorization is cast (then forgets it) or voided (then shows it to
    release the check-in). The terminal knows the id before the answer comes, so it
    can void an authorization whose answer it never received. Both bind the terminal
    the check-in came from: a release names it (the void's holder), so a void of
    another terminal's id releases nothing, and a void for a revoked holder shows
    whose authorization it spent (``authorization_id``)."""
    identifier_ = authorization_id(authorization_key(release_key), terminal_id)
    commitment = hash_bytes("evote/release-commitment/v2", release_key, terminal_id)
    return identifier_, commitment.hex()


VOID_KIND = "authorization-void"
VOID_FIELDS = frozenset(
    {
        "election_id",
        "authorization_id",
        "station_id",
        "terminal_id",
        "reason",
        "voided_at",
        "request",
    }
)
"""The server-signed void's payload (``board/voids.jsonl``): ``request`` is the
terminal's own signed void request, so the record shows the terminal asked for it."""


def void_body(
    station_id: str,
    authorization_id: str,
    reason: str,
    holder: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """A void request; ``holder`` (terminal id, ``authorization_key``) when the booth
    voids for the voter an authorization a revoked terminal held."""
    body = {"station_id": station_id, "authorization_id": authorization_id, "reason": reason}
    if holder is not None:
        body["holder_terminal_id"], body["authorization_key"] = holder[0], holder[1].hex()
    return body


@dataclass(frozen=True)
class VoidRequest:
    station_id: str
    authorization_id: str
    reason: str
    holder_terminal_id: str | None = None  # only for ``REVOKED_HOLDER``


HOLDER_FIELDS = frozenset({"holder_terminal_id", "authorization_key"})


def parse_void_body(body: dict[str, Any]) -> VoidRequest:
    """A void request. One for a revoked holder names the holder and shows the key its
    id derives from, so the server and the verifier can check it was that terminal's."""
    data = _object(body, {"station_id", "authorization_id", "reason"}, HOLDER_FIELDS, "body")
    if data["reason"] not in VOID_REASONS:
        raise DecodingError(f"body.reason: expected one of {', '.join(VOID_REASONS)}")
    bytes_from_hex(data["authorization_id"], 16, "body.authorization_id")
    holder = None
    named = HOLDER_FIELDS & set(data)
    if named != (HOLDER_FIELDS if data["reason"] == REVOKED_HOLDER else set()):
        raise DecodingError(f"body: a {REVOKED_HOLDER} void, and only it, names its holder")
    if data["reason"] == REVOKED_HOLDER:
        holder = identifier(data["holder_terminal_id"], "body.holder_terminal_id")
        key = bytes_from_hex(
            data["authorization_key"], AUTHORIZATION_KEY_BYTES, "body.authorization_key"
        )
        if authorization_id(key, holder) != data["authorization_id"]:
            raise DecodingError("body.authorization_id: not the holder's authorization")
    return VoidRequest(
        identifier(data["station_id"], "body.station_id"),
        data["authorization_id"],
        data["reason"],
        holder,
    )


def void_holder(void_payload: dict[str, Any]) -> str:
    """The terminal whose authorization a (verified) server-signed void spent: the
    voiding terminal's own, or the revoked holder its request names."""
    request = SignedEnvelope.from_json(void_payload["request"]).payload
    body = request["body"] if isinstance(request, dict) else None
    holder = body.get("holder_terminal_id") if isinstance(body, dict) else None
    return str(holder if holder is not None else void_payload["terminal_id"])


def release_body(national_code: str, release_key: bytes, void: dict[str, Any]) -> dict[str, Any]:
    """Release a card voter's check-in."""
    return {"national_code": national_code, "release_key": release_key.hex(), "void": void}


def pass_release_body(pass_id: str, release_key: bytes, void: dict[str, Any]) -> dict[str, Any]:
    """Release a redeemed QR pass (it may then be redeemed again)."""
    return {"pass_id": pass_id, "release_key": release_key.hex(), "void": void}


@dataclass(frozen=True)
class ReleaseRequest:
    """What to release: a card voter's check-in (``national_code``) or a pass (``pass_id``)."""

    release_key: bytes
    void: SignedEnvelope
    national_code: str | None = None
    pass_id: str | None = None


def parse_release_body(body: dict[str, Any]) -> ReleaseRequest:
    holder = "pass_id" if isinstance(body, dict) and "pass_id" in body else "national_code"
    data = _object(body, {holder, "release_key", "void"}, set(), "body")
    release_key = bytes_from_hex(data["release_key"], RELEASE_KEY_BYTES, "body.release_key")
    void = _envelope(data["void"], "body.void")
    if holder == "pass_id":
        pass_id = identifier(data["pass_id"], "body.pass_id", 32)
        return ReleaseRequest(release_key, void, pass_id=pass_id)
    national_code = identifier(data["national_code"], "body.national_code", 10)
    return ReleaseRequest(release_key, void, national_code=national_code)


def journal_head_json(journal_head: tuple[int, bytes]) -> dict[str, Any]:
    return {"sequence": journal_head[0], "chain_head": journal_head[1].hex()}


def _journal_head(value: object, what: str) -> tuple[int, bytes]:
    raw = _object(value, {"sequence", "chain_head"}, set(), what)
    return (
        _integer(raw["sequence"], f"{what}.sequence", 0, MAX_SEQUENCE),
        bytes_from_hex(raw["chain_head"], 32, f"{what}.chain_head"),
    )


# --- a terminal's journal declaration (status and closing requests) -------------------

MAX_DECLARED_REJECTED = 1000
DECLARATION_FIELDS = ("journal_head", "waiting", "rejected", "role", "offline_check_ins")


@dataclass(frozen=True)
class RejectedBallot:
    """A journaled ballot the server refused for good, as the terminal declares it."""

    sequence: int
    tracking_code: str
    code: str

    def to_json(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "tracking_code": self.tracking_code, "code": self.code}


TERMINAL_ROLES = ("booth", "desk")


@dataclass(frozen=True)
class JournalDeclaration:
    """What a terminal's journal holds: its head, how many wait, which were refused;
    whether the terminal is a booth or a check-in desk (whose journal holds no ballots),
    so HQ can tell them apart; and how many voters it checked in offline (provisional
    authorizations it issued, cast or not: the closing report's offline check-ins,
    docs/offline.md)."""

    journal_head: tuple[int, bytes]
    waiting: int = 0
    rejected: tuple[RejectedBallot, ...] = ()
    role: str = "booth"
    offline_check_ins: int = 0


def status_body(declaration: JournalDeclaration | None) -> dict[str, Any]:
    """Body of a terminal status request; with a declaration, the server keeps it signed.
    ``role`` is sent only for a desk (a booth's bodies stay as they were)."""
    if declaration is None:
        return {}
    body = {
        "journal_head": journal_head_json(declaration.journal_head),
        "waiting": declaration.waiting,
        "rejected": [item.to_json() for item in declaration.rejected],
        "offline_check_ins": declaration.offline_check_ins,
    }
    if declaration.role != "booth":
        body["role"] = declaration.role
    return body


def parse_status_body(body: dict[str, Any]) -> JournalDeclaration | None:
    """None for an empty body; ``waiting``, ``rejected``, ``role`` and
    ``offline_check_ins`` may be left out (0, none, booth, 0)."""
    if not body:
        return None
    data = _object(body, {"journal_head"}, set(DECLARATION_FIELDS[1:]), "body")
    role = data.get("role", "booth")
    if role not in TERMINAL_ROLES:
        raise DecodingError(f"body.role: expected one of {list(TERMINAL_ROLES)}")
    rejected = data.get("rejected", [])
    if not isinstance(rejected, list) or len(rejected) > MAX_DECLARED_REJECTED:
        raise DecodingError(f"body.rejected: expected a list of at most {MAX_DECLARED_REJECTED}")
    items = []
    for index, item in enumerate(rejected):
        what = f"body.rejected[{index}]"
        raw = _object(item, {"sequence", "tracking_code", "code"}, set(), what)
        items.append(
            RejectedBallot(
                _integer(raw["sequence"], f"{what}.sequence", 1, MAX_SEQUENCE),
                bytes_from_hex(raw["tracking_code"], 32, f"{what}.tracking_code").hex(),
                identifier(raw["code"], f"{what}.code"),
            )
        )
    return JournalDeclaration(
        _journal_head(data["journal_head"], "body.journal_head"),
        _integer(data.get("waiting", 0), "body.waiting", 0, MAX_SEQUENCE),
        tuple(items),
        role,
        _integer(data.get("offline_check_ins", 0), "body.offline_check_ins", 0, MAX_SEQUENCE),
    )


def poll_action_body(
    action: str,
    challenge_id: str,
    official_certificate: dict[str, Any],
    card_signature: bytes,
    declaration: JournalDeclaration | None = None,
    override_backlog: bool = False,
    counts: dict[str, Any] | None = None,
    poll_version: int | None = None,
) -> dict[str, Any]:
    """An official's poll action; at close the terminal declares its journal
    (``status_body``'s fields) and names the station's ``poll_version`` it closes (the
    official challenge's answer gives it: after an HQ reopen the second close is not
    the first's), and ``override_backlog`` is the official's explicit "close although
    ballots are still waiting". The ``countersign`` action carries the closing
    ``counts`` the card signed (``evote/countersign.py``)."""
    body = card_answer_body(challenge_id, official_certificate, card_signature)
    body["action"] = action
    body.update(status_body(declaration))
    if override_backlog:
        body["override_backlog"] = True
    if counts is not None:
        body["counts"] = counts
    if poll_version is not None:
        body["poll_version"] = poll_version
    return body


@dataclass(frozen=True)
class PollActionRequest:
    action: str
    answer: CardAnswer
    declaration: JournalDeclaration | None
    override_backlog: bool = False
    counts: dict[str, Any] | None = None
    poll_version: int | None = None


def parse_poll_action(body: dict[str, Any]) -> PollActionRequest:
    answer = parse_card_answer(
        body, {"action", "override_backlog", "counts", "poll_version", *DECLARATION_FIELDS}
    )
    action = body.get("action")
    if action not in (*POLL_ACTIONS, COUNTERSIGN):
        raise DecodingError(
            f"body.action: expected one of {', '.join((*POLL_ACTIONS, COUNTERSIGN))}"
        )
    counts = body.get("counts")
    if (action == COUNTERSIGN) != isinstance(counts, dict):
        raise DecodingError("body.counts: an object exactly when countersigning")
    if (action == "close") != ("poll_version" in body):
        raise DecodingError("body.poll_version: given exactly when closing")
    poll_version = body.get("poll_version")
    if poll_version is not None:
        poll_version = _integer(poll_version, "body.poll_version", 0, MAX_SEQUENCE)
    override = body.get("override_backlog", False)
    if not isinstance(override, bool):
        raise DecodingError("body.override_backlog: expected true or false")
    declared = {key: body[key] for key in DECLARATION_FIELDS if key in body}
    return PollActionRequest(
        action, answer, parse_status_body(declared), override, counts, poll_version
    )


def pass_body(qr_pass: dict[str, Any], release_key: bytes | None = None) -> dict[str, Any]:
    """Redeem a QR pass; with a release key (docs/server.md, "No voter locked out") the
    authorization's id derives from it, so the pass can be released if it goes unused."""
    body = {"qr_pass": qr_pass}
    return body if release_key is None else {**body, "release_key": release_key.hex()}


@dataclass(frozen=True)
class RedeemRequest:
    qr_pass: SignedEnvelope
    release_key: bytes | None


def parse_pass_body(body: dict[str, Any]) -> RedeemRequest:
    data = _object(body, {"qr_pass"}, {"release_key"}, "body")
    return RedeemRequest(_envelope(data["qr_pass"], "body.qr_pass"), _optional_release_key(data))


# --- ballots ---------------------------------------------------------------------------


def ballot_body(
    station_id: str,
    sequence: int,
    previous_tracking_code: bytes,
    ballot: EncryptedBallot,
    authorization: dict[str, Any],
    secrets: BallotSecrets | None = None,
) -> dict[str, Any]:
    """The body of a cast (no secrets) or challenge (secrets revealed) request.

    The tracking code is computed here, so the terminal and the server chain
    tracking codes the same way (docs/record.md).
    """
    body: dict[str, Any] = {
        "station_id": station_id,
        "sequence": sequence,
        "previous_tracking_code": previous_tracking_code.hex(),
        "tracking_code": tracking_code(ballot, previous_tracking_code).hex(),
        "ballot": ballot.to_json(),
        "authorization": authorization,
    }
    if secrets is not None:
        body["secrets"] = secrets.to_json()
    return body


@dataclass(frozen=True)
class BallotSubmission:
    station_id: str
    sequence: int
    previous_tracking_code: bytes
    tracking_code: bytes
    ballot: EncryptedBallot
    authorization: SignedEnvelope
    secrets: BallotSecrets | None


def parse_ballot_body(
    body: dict[str, Any], action: str, encoded_body: bytes | None = None
) -> BallotSubmission:
    """Decode a cast/challenge body, validating every point and the tracking code.

    ``encoded_body``, when the caller has it (the canonical bytes of ``body``, cut
    out of the signed request's), spares encoding the ballot again for its
    tracking code."""
    keys = {
        "station_id",
        "sequence",
        "previous_tracking_code",
        "tracking_code",
        "ballot",
        "authorization",
    }
    if action == ACTION_CHALLENGE:
        keys.add("secrets")
    data = _object(body, keys, set(), "body")
    ballot = EncryptedBallot.from_json(data["ballot"])
    previous = bytes_from_hex(data["previous_tracking_code"], 32, "body.previous_tracking_code")
    code = bytes_from_hex(data["tracking_code"], 32, "body.tracking_code")
    expected = (
        tracking_code(ballot, previous)
        if encoded_body is None
        else tracking_code_of_bytes(canonical_member(encoded_body, data, "ballot"), previous)
    )
    if expected != code:
        raise DecodingError(
            "body.tracking_code does not match the ballot", code="tracking_code_mismatch"
        )
    return BallotSubmission(
        station_id=identifier(data["station_id"], "body.station_id"),
        sequence=_integer(data["sequence"], "body.sequence", 1, MAX_SEQUENCE),
        previous_tracking_code=previous,
        tracking_code=code,
        ballot=ballot,
        authorization=_envelope(data["authorization"], "body.authorization"),
        secrets=BallotSecrets.from_json(data["secrets"]) if "secrets" in data else None,
    )


# --- responses -------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """The server's signed promise that a ballot is on the board."""

    envelope: dict[str, Any]
    election_id: str
    tracking_code: str
    station_id: str
    terminal_id: str
    sequence: int
    board_position: int
    received_at: int


POLL_REPORT_KIND = "poll-report"


def parse_poll_report(envelope_json: object, server_key: VerifyKey | None = None) -> dict[str, Any]:
    """A poll report's payload, its signature checked (against ``server_key`` when
    given): officials countersign only a report the server signed."""
    payload = _envelope(envelope_json, "report").verify(POLL_REPORT_KIND, server_key)
    if not isinstance(payload, dict):
        raise DecodingError("report: expected an object")
    return payload


def parse_receipt(envelope_json: object, server_key: VerifyKey | None = None) -> Receipt:
    """Verify a receipt envelope (against ``server_key`` when given) and decode it."""
    envelope = _envelope(envelope_json, "receipt")
    payload = _object(
        envelope.verify("receipt", server_key),
        {
            "election_id",
            "tracking_code",
            "station_id",
            "terminal_id",
            "sequence",
            "board_position",
            "received_at",
        },
        set(),
        "receipt",
    )
    return Receipt(
        envelope=envelope.to_json(),
        election_id=payload["election_id"],
        tracking_code=payload["tracking_code"],
        station_id=payload["station_id"],
        terminal_id=payload["terminal_id"],
        sequence=payload["sequence"],
        board_position=payload["board_position"],
        received_at=payload["received_at"],
    )


def error_body(
    code: str, message_fa: str, message_en: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every 4xx answer: ``{code, message, message_fa, message_en[, details]}``."""
    body: dict[str, Any] = {
        "code": code,
        "message": message_en,
        "message_fa": message_fa,
        "message_en": message_en,
    }
    if details:
        body["details"] = details
    return body
