"""What the kiosk shows when something ends a step: a code and its two messages."""

from __future__ import annotations

from dataclasses import dataclass

from evote.client import ServerRefused
from evote.refusals import refusal
from terminal.i18n import CATALOGUE, text


@dataclass(frozen=True)
class Notice:
    """``ok`` marks a success (shown green); everything else is a failure shown with its reason."""

    code: str
    fa: str
    en: str
    ok: bool = False

    @classmethod
    def succeeded(cls, code: str, **values: object) -> Notice:
        notice = cls.of(code, **values)
        return cls(notice.code, notice.fa, notice.en, ok=True)

    @classmethod
    def of(cls, code: str, **values: object) -> Notice:
        """From the terminal's catalogue (unknown codes fall back to a generic message)."""
        key = code if code in CATALOGUE else "terminal_error"
        return cls(code, text(key, "fa", **values), text(key, "en", **values))

    @classmethod
    def from_refusal(cls, refusal: ServerRefused) -> Notice:
        """The server's own catalogue message, which names the reason precisely."""
        if refusal.message_fa and refusal.message_en:
            return cls(refusal.code, refusal.message_fa, refusal.message_en)
        return cls.of(refusal.code)

    @classmethod
    def refusal(cls, code: str) -> Notice:
        """A refusal the terminal itself makes (offline mode), from the shared catalogue."""
        entry = refusal(code)
        return cls(code, entry.message_fa, entry.message_en)

    def to_json(self) -> dict[str, str | bool]:
        return {"code": self.code, "fa": self.fa, "en": self.en, "ok": self.ok}
