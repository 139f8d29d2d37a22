"""A small HTTP client for the ballot server, used by the terminal and the demo.

Standard library only (urllib), so a booth terminal needs nothing beyond the
distribution. Every failure of a call is classified as exactly one of two
things, because the terminal's durability rests on telling them apart:

* ``ServerRefused``: the ballot server itself answered 4xx with its JSON
  refusal ``{code, message_fa, message_en}``. Resending will not change it.
* ``ServerUnreachable``: anything else — connection refused or reset, a
  timeout or stalled answer, a body cut short (``http.client.IncompleteRead``),
  a TLS failure, a 5xx, a proxy's HTML error page (even with a 4xx status:
  only the server speaks the refusal format), 408/429, or a body that is not
  the JSON object the call expects. The terminal keeps the ballot in its
  journal and resends it later; the server answers a resend with the stored
  receipt. ``kind`` says which failure it was (shown to officials).

No other exception leaves ``_request``: a caller handling these two handles
every transport failure.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any

from crypto.errors import CryptoError
from crypto.signing import SigningKey, VerifyKey
from evote import protocol
from evote.protocol import Receipt, parse_receipt


class ServerRefused(Exception):
    """The server answered 4xx: the request is wrong and resending it will not help."""

    def __init__(
        self,
        code: str,
        message_fa: str,
        message_en: str,
        status: int,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message_en}")
        self.code = code
        self.message_fa = message_fa
        self.message_en = message_en
        self.status = status
        self.details = details or {}


class ServerUnreachable(Exception):
    """No usable answer from the server: retry later. ``kind`` is one of ``UNREACHABLE_KINDS``.

    The message also names the URL tried and the reason in plain words, because
    "no answer" and "the server answered no" call for different fixes (a typo in
    ``--server``, a server not started, a server that crashed).
    """

    def __init__(self, kind: str, detail: str, url: str = "") -> None:
        reason = PLAIN_REASONS.get(kind, kind)
        text = f"{reason} ({detail})" if detail and detail.lower() not in reason.lower() else reason
        super().__init__(f"{url}: {text}" if url else text)
        self.kind = kind
        self.detail = detail
        self.url = url


UNREACHABLE_KINDS = (
    "host_not_found",
    "connection_refused",
    "connection_reset",
    "timeout",
    "incomplete_answer",
    "tls_error",
    "server_error",
    "not_the_server",
    "malformed_answer",
    "network_error",
)
PLAIN_REASONS = {
    "host_not_found": "host name not found",
    "connection_refused": "connection refused: is the server running on that port?",
    "connection_reset": "connection dropped",
    "timeout": "no answer in time",
    "incomplete_answer": "the answer was cut short",
    "tls_error": "TLS failed",
    "server_error": "the server failed",
    "not_the_server": "something other than the ballot server answered",
    "malformed_answer": "not a usable answer",
    "network_error": "network error",
}
# Statuses a proxy or an overloaded server sends for "try again", whatever the body says.
RETRY_STATUSES = frozenset({408, 425, 429})


def _unreachable_kind(error: BaseException) -> str:
    """Name a transport failure; order matters (ssl and timeouts are OSErrors too)."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return _unreachable_kind(error.reason)
    if isinstance(error, http.client.IncompleteRead):
        return "incomplete_answer"
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return "tls_error"
    if isinstance(error, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(error, socket.gaierror):
        return "host_not_found"
    if isinstance(error, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(error, ConnectionError | http.client.HTTPException):
        return "connection_reset"
    if isinstance(error, ValueError):
        return "malformed_answer"
    return "network_error"


def _refusal(status: int, raw: bytes) -> ServerRefused | None:
    """The server's own refusal in ``raw``, or None if the body is not one (a proxy's page)."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    code, message_fa, message_en = (answer.get(k) for k in ("code", "message_fa", "message_en"))
    details = answer.get("details")
    if not all(isinstance(v, str) and v for v in (code, message_fa, message_en)):
        return None
    if details is not None and not isinstance(details, dict):
        return None
    return ServerRefused(str(code), str(message_fa), str(message_en), status, details)


def _detail(error: BaseException) -> str:
    """The library's own words, without urllib's ``<urlopen error …>`` wrapping."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return _detail(error.reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def _http_error(error: urllib.error.HTTPError, url: str) -> ServerRefused | ServerUnreachable:
    status = error.code
    if status >= 500:
        return ServerUnreachable("server_error", f"HTTP {status}", url)
    try:
        raw = error.read()
    except (OSError, http.client.HTTPException) as read_error:
        return ServerUnreachable(_unreachable_kind(read_error), f"HTTP {status}", url)
    refusal = _refusal(status, raw)
    if status in RETRY_STATUSES or status < 400 or refusal is None:
        return ServerUnreachable("not_the_server", f"HTTP {status} without a refusal body", url)
    return refusal


class BallotServerClient:
    """Signed requests of one terminal to one ballot server."""

    def __init__(
        self,
        base_url: str,
        terminal_id: str,
        signing_key: SigningKey,
        *,
        timeout_s: float = 10.0,
        server_key: VerifyKey | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.terminal_id = terminal_id
        self.signing_key = signing_key
        self.timeout_s = timeout_s
        self.server_key = server_key

    # --- transport ---------------------------------------------------------------

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One call; its JSON object answer, or ``ServerRefused`` / ``ServerUnreachable``."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        url = self.base_url + path
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise _http_error(error, url) from error
        except (OSError, http.client.HTTPException, ValueError) as error:
            raise ServerUnreachable(_unreachable_kind(error), _detail(error), url) from error
        if not isinstance(answer, dict):
            raise ServerUnreachable("malformed_answer", "answered a non-object", url)
        return answer

    def sign(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """A signed terminal request (journal it first when it carries a ballot)."""
        return protocol.build_terminal_request(self.signing_key, self.terminal_id, action, body)

    def _signed(self, path: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, self.sign(action, body))

    # --- public reads ------------------------------------------------------------

    def election(self) -> dict[str, Any]:
        """Signed manifest, trustees, base hash, joint key and the signing keys."""
        return self._request("GET", protocol.PATH_ELECTION)

    def poll_status(self, station_id: str) -> dict[str, Any]:
        return self._request("GET", protocol.PATH_POLL_STATUS.format(station_id=station_id))

    def closing_report(self, station_id: str) -> dict[str, Any]:
        """The station's latest closing report (its payload), signed by the server."""
        path = protocol.PATH_CLOSING_REPORT.format(station_id=station_id)
        envelope = self._request("GET", path)
        try:
            return protocol.parse_poll_report(envelope, self.server_key)
        except CryptoError as error:
            raise ServerUnreachable("malformed_answer", f"closing report: {error}") from error

    def lookup(self, tracking_code: str) -> dict[str, Any]:
        return self._request("GET", protocol.PATH_LOOKUP.format(tracking_code=tracking_code))

    # --- terminal actions --------------------------------------------------------

    def status(self, declaration: protocol.JournalDeclaration | None = None) -> dict[str, Any]:
        """This terminal's station, poll state, last accepted sequence and chain head; with a
        declaration, the server keeps this signed request as the terminal's journal head."""
        return self._signed(
            protocol.PATH_TERMINAL_STATUS, protocol.ACTION_STATUS, protocol.status_body(declaration)
        )

    def inquiry_challenge(self) -> dict[str, Any]:
        """``{challenge_id, challenge (hex32), expires_at}`` for the voter's card to sign."""
        return self._signed(protocol.PATH_INQUIRY_CHALLENGE, protocol.ACTION_INQUIRY_CHALLENGE, {})

    def check_in(
        self,
        card_certificate: dict[str, Any],
        card_signature: bytes,
        challenge_id: str,
        release_key: bytes | None = None,
        release_escrow: str | None = None,
    ) -> dict[str, Any]:
        """Check the voter in; ``{authorization: envelope, expires_at}``. With a release
        key the authorization's id derives from it, so it can be voided and the check-in
        released even if this answer is lost (``protocol.release_derivation``); with the
        key sealed for the voter's card too, even if this terminal dies
        (``evote/release_escrow.py``)."""
        body = protocol.card_answer_body(
            challenge_id, card_certificate, card_signature, release_key, release_escrow
        )
        return self._signed(protocol.PATH_CHECK_IN, protocol.ACTION_CHECK_IN, body)

    def void(
        self,
        station_id: str,
        authorization_id: str,
        reason: str,
        holder: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Void an unused authorization at the intake; ``{void: signed envelope}``. With
        ``holder`` (terminal id, ``protocol.authorization_key``): one a revoked terminal
        of the station held."""
        body = protocol.void_body(station_id, authorization_id, reason, holder)
        return self._signed(protocol.PATH_VOID, protocol.ACTION_VOID, body)

    def release(
        self, national_code: str, release_key: bytes, void: dict[str, Any]
    ) -> dict[str, Any]:
        """Release the check-in whose voided authorization came from ``release_key``."""
        body = protocol.release_body(national_code, release_key, void)
        return self._signed(protocol.PATH_RELEASE, protocol.ACTION_RELEASE, body)

    def release_pass(
        self, pass_id: str, release_key: bytes, void: dict[str, Any]
    ) -> dict[str, Any]:
        """Release the QR pass whose voided authorization came from ``release_key``: it
        may be redeemed again."""
        body = protocol.pass_release_body(pass_id, release_key, void)
        return self._signed(protocol.PATH_RELEASE, protocol.ACTION_RELEASE, body)

    def issue_pass(
        self, card_certificate: dict[str, Any], card_signature: bytes, challenge_id: str
    ) -> dict[str, Any]:
        """At the check-in desk: check the voter in and get ``{qr_pass: envelope}``."""
        body = protocol.card_answer_body(challenge_id, card_certificate, card_signature)
        return self._signed(protocol.PATH_ISSUE_PASS, protocol.ACTION_ISSUE_PASS, body)

    def redeem_pass(
        self, qr_pass: dict[str, Any], release_key: bytes | None = None
    ) -> dict[str, Any]:
        """At the booth: trade a one-time QR pass for ``{authorization, expires_at}``; the
        authorization's id derives from ``release_key`` when given (as at check-in)."""
        body = protocol.pass_body(qr_pass, release_key)
        return self._signed(protocol.PATH_REDEEM_PASS, protocol.ACTION_REDEEM_PASS, body)

    def official_challenge(self) -> dict[str, Any]:
        return self._signed(
            protocol.PATH_OFFICIAL_CHALLENGE, protocol.ACTION_OFFICIAL_CHALLENGE, {}
        )

    def poll_action(
        self,
        action: str,
        official_certificate: dict[str, Any],
        signature: bytes,
        challenge_id: str,
        declaration: protocol.JournalDeclaration | None = None,
        *,
        override_backlog: bool = False,
        counts: dict[str, Any] | None = None,
        poll_version: int | None = None,
    ) -> dict[str, Any]:
        """open/pause/resume/close/countersign; ``{station_id, state, report}`` (report on
        open, close and countersign). A close names the ``poll_version`` it ends (the
        official challenge's answer gives it)."""
        body = protocol.poll_action_body(
            action,
            challenge_id,
            official_certificate,
            signature,
            declaration,
            override_backlog,
            counts,
            poll_version,
        )
        return self._signed(protocol.PATH_POLL_ACTION, protocol.ACTION_POLL, body)

    def cast(self, body: dict[str, Any]) -> Receipt:
        """Sign and submit a cast body (``protocol.ballot_body``) in one step."""
        return self.submit_cast(self.sign(protocol.ACTION_CAST, body))

    def submit_cast(self, envelope: dict[str, Any]) -> Receipt:
        """Submit an already signed (journaled) cast request; resending gives the same receipt."""
        answer = self._request("POST", protocol.PATH_CAST, envelope)
        try:
            return parse_receipt(answer["receipt"], self.server_key)
        except (KeyError, TypeError, ValueError, CryptoError) as error:
            raise ServerUnreachable("malformed_answer", f"receipt: {error}") from error

    def challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        """Publish a challenged (spoiled) ballot with its secrets; ``{board_position, ...}``."""
        return self.submit_challenge(self.sign(protocol.ACTION_CHALLENGE, body))

    def submit_challenge(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", protocol.PATH_CHALLENGE, envelope)
