"""Device errors: one hierarchy, each type with a stable ``code`` the kiosk maps to a message."""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error a device driver raises."""

    code = "device_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class DeviceTimeout(DeviceError):
    """The device did not answer in time (unplugged, powered off, hung)."""

    code = "device_timeout"


class CommunicationError(DeviceError):
    """The line kept garbling frames after the bounded retries."""

    code = "device_communication"


class CardRemoved(DeviceError):
    """The card left the reader; whatever was in progress must restart from SELECT."""

    code = "card_removed"


class NoCard(DeviceError):
    """An operation needs a card and none is inserted."""

    code = "no_card"


class CardError(DeviceError):
    """The card answered with an unexpected status word."""

    code = "card_error"

    def __init__(self, message: str, status_word: int) -> None:
        super().__init__(f"{message} (SW {status_word:04X})")
        self.status_word = status_word


class CardDataError(DeviceError):
    """The holder file is malformed or disagrees with its certificate."""

    code = "card_data_invalid"


class WrongPin(DeviceError):
    """The PIN was wrong; ``tries_left`` more attempts before the card blocks."""

    code = "wrong_pin"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"wrong PIN, {tries_left} tries left")
        self.tries_left = tries_left


class PinBlocked(DeviceError):
    """No PIN tries left; only the registry can unblock the card (PUK)."""

    code = "pin_blocked"


class NoRead(DeviceError):
    """A triggered scan found no code (``%%NoRead``)."""

    code = "no_read"


class ScanTimeout(NoRead):
    """Nothing was scanned within the timeout."""

    code = "scan_timeout"


class PrinterError(DeviceError):
    """Base of printer conditions; the job stays queued in the driver."""

    code = "printer_error"


class PaperOut(PrinterError):
    code = "paper_out"


class CoverOpen(PrinterError):
    code = "cover_open"


class PrinterOffline(PrinterError):
    code = "printer_offline"
