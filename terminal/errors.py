"""Errors of the booth terminal (outside ``devices/``), each with a stable ``code``.

The kiosk never shows an exception's text: it shows the catalogue message for
the code (``terminal/i18n.py``), so every failure a voter can meet needs one.
"""

from __future__ import annotations


class TerminalError(Exception):
    """Base of the terminal's own errors."""

    code = "terminal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class IllegalTransition(TerminalError):
    """An event arrived that the session's current state does not allow; nothing changed."""

    code = "illegal_transition"

    def __init__(self, state: str, event: str) -> None:
        super().__init__(f"event {event!r} is not allowed in state {state!r}")
        self.state = state
        self.event = event


class InvalidChoices(TerminalError):
    """The voter's selections break a contest's rules (unknown candidate, too many)."""

    code = "invalid_choices"


class JournalError(TerminalError):
    """The local journal cannot be used (another terminal's journal, broken chain)."""

    code = "journal_error"


class ConfigurationError(TerminalError):
    """The terminal was started with an unusable key, device or server setting."""

    code = "configuration_error"
