"""Exceptions raised by the crypto core.

Every error carries a stable ``code`` so that the HTTP layer, the CLI and the
verifier can report it without parsing messages.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base of every error the crypto core raises."""

    code = "crypto_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class DecodingError(CryptoError):
    """Bytes, hex or JSON from outside did not have the required shape."""

    code = "decoding_error"


class InvalidPoint(DecodingError):
    """An encoding is not the canonical encoding of a ristretto255 group element."""

    code = "invalid_point"


class InvalidScalar(DecodingError):
    """An encoding is not a canonical scalar below the group order."""

    code = "invalid_scalar"


class InvalidProof(CryptoError):
    """A zero-knowledge proof does not verify for its statement."""

    code = "invalid_proof"


class InvalidSignature(CryptoError):
    """An Ed25519 signature does not verify for the claimed signer."""

    code = "invalid_signature"


class InvalidBallot(CryptoError):
    """An encrypted ballot does not match its contest specification."""

    code = "invalid_ballot"


class DiscreteLogOutOfRange(CryptoError):
    """A decrypted group element is not g^m for any m within the stated bound."""

    code = "discrete_log_out_of_range"


class ThresholdError(CryptoError):
    """Not enough valid decryption shares, or an inconsistent ceremony input."""

    code = "threshold_error"


class BadTrusteeShare(ThresholdError):
    """A trustee's key share or decryption share fails its check.

    ``trustee_index`` names the culprit so the failure can be attributed.
    """

    code = "bad_trustee_share"

    def __init__(self, message: str, *, trustee_index: int) -> None:
        super().__init__(message)
        self.trustee_index = trustee_index


class InvalidMerkleProof(CryptoError):
    """An inclusion or consistency proof does not lead to the claimed tree head."""

    code = "invalid_merkle_proof"
