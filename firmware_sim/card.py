"""The simulated national ID card: an ISO 7816-4 APDU processor over a card image file.

It behaves like a T=0 card behind a TPDU-level reader: a case-4 command may
arrive with or without its trailing Le; without it the card answers ``61xx`` and
the host fetches the data with GET RESPONSE. The PIN retry counter is written
back to the card file before the status word leaves the card, so pulling the
card or killing the simulator never restores a spent try.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from crypto.signing import SignedEnvelope, SigningKey
from firmware_sim.cards import PIN_MAX_TRIES, holder_file, write_card_file

# A T=0 ATR with no interface bytes and 8 historical bytes naming the application.
ATR = bytes([0x3B, 0x08]) + b"EVOTE-ID"
APPLICATION_AID = b"\xf0EVOTEID"
MASTER_FILE_ID = 0x3F00
HOLDER_FILE_ID = 0x0101
PIN_REFERENCE = 0x81

SW_OK = b"\x90\x00"
SW_END_OF_FILE = b"\x62\x82"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY_NOT_SATISFIED = b"\x69\x82"
SW_PIN_BLOCKED = b"\x69\x83"
SW_NO_CURRENT_EF = b"\x69\x86"
SW_WRONG_DATA = b"\x6a\x80"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_OFFSET_BEYOND = b"\x6b\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"


class SimulatedCard:
    """One card, backed by its image file (or only in memory when ``path`` is None)."""

    def __init__(self, image: dict[str, Any], path: Path | None = None) -> None:
        self.image = image
        self.path = path
        self._key = SigningKey(bytes.fromhex(image["private_key_seed"]))
        self._holder = holder_file(image["holder"], SignedEnvelope.from_json(image["certificate"]))
        self.reset()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SimulatedCard:
        card_path = Path(path)
        return cls(json.loads(card_path.read_text(encoding="utf-8")), card_path)

    @property
    def pin_tries_left(self) -> int:
        return int(self.image["pin_tries_left"])

    def reset(self) -> None:
        """Power cycle: volatile state (selection, PIN verified) is lost."""
        self._application_selected = False
        self._current_file: int | None = None
        self._pin_verified = False
        self._pending_response = b""

    def _save_tries(self, tries_left: int) -> None:
        self.image["pin_tries_left"] = tries_left
        if self.path is not None:
            write_card_file(self.path, self.image)

    def process(self, apdu: bytes) -> bytes:
        """Execute one command APDU (or T=0 TPDU) and return response data + SW."""
        if len(apdu) < 4:
            return SW_WRONG_LENGTH
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        if cla != 0x00:
            return SW_CLA_NOT_SUPPORTED
        handlers = {
            0xA4: self._select,
            0xB0: self._read_binary,
            0x20: self._verify,
            0x84: self._get_challenge,
            0x88: self._internal_authenticate,
            0xC0: self._get_response,
        }
        handler = handlers.get(ins)
        if handler is None:
            return SW_INS_NOT_SUPPORTED
        if ins != 0xC0:
            self._pending_response = b""
        return handler(p1, p2, body)

    @staticmethod
    def _command_data(body: bytes) -> tuple[bytes, int | None] | None:
        """Split Lc, data and an optional Le; None when the lengths do not add up."""
        if not body:
            return None
        length = body[0]
        if len(body) == 1 + length:
            return body[1:], None
        if len(body) == 2 + length:
            return body[1 : 1 + length], body[-1] or 256
        return None

    def _answer(self, data: bytes, expected: int | None) -> bytes:
        """Return data now if Le was sent, else park it for GET RESPONSE (T=0)."""
        if expected is not None:
            return data + SW_OK
        self._pending_response = data
        return bytes([0x61, len(data) & 0xFF])

    def _select(self, p1: int, p2: int, body: bytes) -> bytes:
        parsed = self._command_data(body)
        if parsed is None:
            return SW_WRONG_LENGTH
        data, _ = parsed
        if p1 == 0x04:
            if data != APPLICATION_AID:
                return SW_NOT_FOUND
            self._application_selected = True
            self._current_file = None
            return SW_OK
        if p1 in (0x00, 0x02) and len(data) == 2:
            file_id = int.from_bytes(data, "big")
            if file_id == MASTER_FILE_ID:
                self._application_selected = False
                self._current_file = None
                return SW_OK
            if file_id == HOLDER_FILE_ID and self._application_selected:
                self._current_file = file_id
                return SW_OK
            return SW_NOT_FOUND
        return SW_WRONG_P1P2

    def _read_binary(self, p1: int, p2: int, body: bytes) -> bytes:
        if len(body) != 1:
            return SW_WRONG_LENGTH
        if self._current_file != HOLDER_FILE_ID:
            return SW_NO_CURRENT_EF
        if p1 & 0x80:
            return SW_WRONG_P1P2
        offset = (p1 << 8) | p2
        if offset > len(self._holder):
            return SW_OFFSET_BEYOND
        wanted = body[0] or 256
        chunk = self._holder[offset : offset + wanted]
        return chunk + (SW_OK if len(chunk) == wanted else SW_END_OF_FILE)

    def _verify(self, p1: int, p2: int, body: bytes) -> bytes:
        if p1 != 0x00 or p2 != PIN_REFERENCE:
            return SW_WRONG_P1P2
        tries = self.pin_tries_left
        if tries == 0:
            return SW_PIN_BLOCKED
        if not body:
            return SW_OK if self._pin_verified else bytes([0x63, 0xC0 | tries])
        parsed = self._command_data(body)
        if parsed is None or len(parsed[0]) != 8:
            return SW_WRONG_LENGTH
        offered = parsed[0].rstrip(b"\xff")
        if not offered.isdigit() and offered:
            return SW_WRONG_DATA
        if offered == self.image["pin"].encode("ascii"):
            if tries != PIN_MAX_TRIES:
                self._save_tries(PIN_MAX_TRIES)
            self._pin_verified = True
            return SW_OK
        self._pin_verified = False
        tries -= 1
        self._save_tries(tries)
        return SW_PIN_BLOCKED if tries == 0 else bytes([0x63, 0xC0 | tries])

    def _get_challenge(self, p1: int, p2: int, body: bytes) -> bytes:
        if p1 or p2:
            return SW_WRONG_P1P2
        if len(body) != 1 or body[0] not in (0, 8):
            return SW_WRONG_LENGTH
        return os.urandom(8) + SW_OK

    def _internal_authenticate(self, p1: int, p2: int, body: bytes) -> bytes:
        parsed = self._command_data(body)
        if parsed is None or not parsed[0]:
            return SW_WRONG_LENGTH
        if not self._pin_verified:
            return SW_SECURITY_NOT_SATISFIED
        challenge, expected = parsed
        return self._answer(self._key.sign_bytes(challenge), expected)

    def _get_response(self, p1: int, p2: int, body: bytes) -> bytes:
        if len(body) != 1 or not self._pending_response:
            return SW_WRONG_LENGTH
        wanted = body[0] or 256
        data = self._pending_response[:wanted]
        self._pending_response = self._pending_response[wanted:]
        remaining = len(self._pending_response)
        return data + (bytes([0x61, remaining & 0xFF]) if remaining else SW_OK)
