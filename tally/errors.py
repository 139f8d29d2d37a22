"""Errors of the tally package: trustee ceremony, record, tally and verifier.

Each error has a stable ``code`` so the CLI can print one line and exit
non-zero, and tests can assert on what failed without parsing messages.
"""

from __future__ import annotations


class TallyError(Exception):
    """Base of every error the tally package raises."""

    code = "tally_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class KeystoreError(TallyError):
    """A trustee's encrypted secret file is missing, malformed or the passphrase is wrong."""

    code = "keystore_error"


class CeremonyError(TallyError):
    """A key-ceremony step was run out of order or on inconsistent inputs."""

    code = "ceremony_error"


class ComplaintFiled(CeremonyError):
    """A trustee received a bad share and wrote a signed complaint naming the sender."""

    code = "bad_share_complaint"

    def __init__(self, message: str, *, accused: int, complaint_path: str) -> None:
        super().__init__(message)
        self.accused = accused
        self.complaint_path = complaint_path


class RecordError(TallyError):
    """A record file is missing or does not have the documented shape.

    ``location`` names the file and, where it applies, the line or key;
    ``detail`` says what is wrong there.
    """

    code = "record_error"

    def __init__(self, message: str, *, location: str, code: str | None = None) -> None:
        super().__init__(f"{location}: {message}", code=code)
        self.location = location
        self.detail = message


class DecryptionError(TallyError):
    """Fewer than a quorum of valid decryption shares for some total."""

    code = "not_enough_shares"


class VerificationFailure(TallyError):
    """The verifier found a mismatch; ``check`` and ``location`` say where.

    The CLI prints exactly this and exits non-zero: the first failing item.
    """

    code = "verification_failed"

    def __init__(self, check: str, location: str, message: str, *, code: str) -> None:
        super().__init__(f"{check}: {location}: {message}", code=code)
        self.check = check
        self.location = location
        self.detail = message
