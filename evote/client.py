"""A small HTTP client for the ballot server, used by the terminal and the demo.

Standard library only (urllib), so a booth terminal needs nothing beyond the
distribution. Refusals (4xx) become ``ServerRefused`` with the stable code and
both messages; anything that means "try again later" (no connection, timeout,
5xx) becomes ``ServerUnreachable``, which the terminal answers by keeping the
ballot in its journal and resending it later.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

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
    """No usable answer (connection refused, timeout, 5xx): retry later."""


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

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raw = error.read()
            if error.code >= 500:
                raise ServerUnreachable(f"server error {error.code}") from error
            try:
                answer = json.loads(raw.decode("utf-8"))
                raise ServerRefused(
                    answer["code"],
                    answer["message_fa"],
                    answer["message_en"],
                    error.code,
                    answer.get("details"),
                ) from error
            except (ValueError, KeyError, TypeError) as decode_error:
                raise ServerRefused(
                    "malformed_response", "", f"HTTP {error.code}", error.code
                ) from decode_error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ServerUnreachable(str(error)) from error

    def sign(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """A signed terminal request (journal it first when it carries a ballot)."""
        return protocol.build_terminal_request(self.signing_key, self.terminal_id, action, body)

    def _signed(self, path: str, action: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, self.sign(action, body))

    # --- public reads ------------------------------------------------------------

    def election(self) -> dict[str, Any]:
        """Signed manifest, trustees, base hash, joint key and the signing keys."""
        result: dict[str, Any] = self._request("GET", protocol.PATH_ELECTION)
        return result

    def poll_status(self, station_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET", protocol.PATH_POLL_STATUS.format(station_id=station_id)
        )
        return result

    def lookup(self, tracking_code: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "GET", protocol.PATH_LOOKUP.format(tracking_code=tracking_code)
        )
        return result

    # --- terminal actions --------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """This terminal's station, poll state, last accepted sequence and chain head."""
        result: dict[str, Any] = self._signed(
            protocol.PATH_TERMINAL_STATUS, protocol.ACTION_STATUS, {}
        )
        return result

    def inquiry_challenge(self) -> dict[str, Any]:
        """``{challenge_id, challenge (hex32), expires_at}`` for the voter's card to sign."""
        result: dict[str, Any] = self._signed(
            protocol.PATH_INQUIRY_CHALLENGE, protocol.ACTION_INQUIRY_CHALLENGE, {}
        )
        return result

    def check_in(
        self, card_certificate: dict[str, Any], card_signature: bytes, challenge_id: str
    ) -> dict[str, Any]:
        """Check the voter in; ``{authorization: envelope, expires_at}``."""
        body = protocol.card_answer_body(challenge_id, card_certificate, card_signature)
        result: dict[str, Any] = self._signed(
            protocol.PATH_CHECK_IN, protocol.ACTION_CHECK_IN, body
        )
        return result

    def issue_pass(
        self, card_certificate: dict[str, Any], card_signature: bytes, challenge_id: str
    ) -> dict[str, Any]:
        """At the check-in desk: check the voter in and get ``{qr_pass: envelope}``."""
        body = protocol.card_answer_body(challenge_id, card_certificate, card_signature)
        result: dict[str, Any] = self._signed(
            protocol.PATH_ISSUE_PASS, protocol.ACTION_ISSUE_PASS, body
        )
        return result

    def redeem_pass(self, qr_pass: dict[str, Any]) -> dict[str, Any]:
        """At the booth: trade a one-time QR pass for ``{authorization, expires_at}``."""
        result: dict[str, Any] = self._signed(
            protocol.PATH_REDEEM_PASS, protocol.ACTION_REDEEM_PASS, protocol.pass_body(qr_pass)
        )
        return result

    def official_challenge(self) -> dict[str, Any]:
        result: dict[str, Any] = self._signed(
            protocol.PATH_OFFICIAL_CHALLENGE, protocol.ACTION_OFFICIAL_CHALLENGE, {}
        )
        return result

    def poll_action(
        self,
        action: str,
        official_certificate: dict[str, Any],
        signature: bytes,
        challenge_id: str,
        journal_head: tuple[int, bytes] | None = None,
    ) -> dict[str, Any]:
        """open/pause/resume/close; ``{station_id, state, report}`` (report on open/close)."""
        body = protocol.poll_action_body(
            action, challenge_id, official_certificate, signature, journal_head
        )
        result: dict[str, Any] = self._signed(protocol.PATH_POLL_ACTION, protocol.ACTION_POLL, body)
        return result

    def cast(self, body: dict[str, Any]) -> Receipt:
        """Sign and submit a cast body (``protocol.ballot_body``) in one step."""
        return self.submit_cast(self.sign(protocol.ACTION_CAST, body))

    def submit_cast(self, envelope: dict[str, Any]) -> Receipt:
        """Submit an already signed (journaled) cast request; resending gives the same receipt."""
        answer = self._request("POST", protocol.PATH_CAST, envelope)
        return parse_receipt(answer["receipt"], self.server_key)

    def challenge(self, body: dict[str, Any]) -> dict[str, Any]:
        """Publish a challenged (spoiled) ballot with its secrets; ``{board_position, ...}``."""
        return self.submit_challenge(self.sign(protocol.ACTION_CHALLENGE, body))

    def submit_challenge(self, envelope: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", protocol.PATH_CHALLENGE, envelope)
        return result
