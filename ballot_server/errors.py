"""The ballot server's exception type: a stable code from the refusal catalogue.

Services raise ``ServerError(code, ...)``; the HTTP layer turns it into the
catalogue's status and ``{code, message, message_fa, message_en}`` body, so a
refusal reads the same in the API, the CLI and the terminal.
"""

from __future__ import annotations

from typing import Any

from evote.protocol import error_body
from evote.refusals import refusal


class ServerError(Exception):
    """A refusal with a catalogue code; ``detail`` explains it to an operator."""

    def __init__(self, code: str, detail: str = "", details: dict[str, Any] | None = None) -> None:
        self.entry = refusal(code)
        super().__init__(f"{code}: {detail or self.entry.message_en}")
        self.code = code
        self.detail = detail
        self.details = details or {}

    @property
    def status(self) -> int:
        return self.entry.status

    def body(self) -> dict[str, Any]:
        message_en = self.entry.message_en
        if self.detail:
            message_en = f"{message_en} ({self.detail})"
        return error_body(self.code, self.entry.message_fa, message_en, self.details)


class SetupError(Exception):
    """Election setup input is wrong (manifest, trustees, roll); the message says where."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []
