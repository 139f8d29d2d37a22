"""Errors of the shared election model."""

from __future__ import annotations


class ModelError(Exception):
    """Base of the model's errors; ``code`` is stable, ``field`` names where."""

    code = "model_error"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ManifestError(ModelError):
    """The election manifest is malformed or inconsistent."""

    code = "invalid_manifest"
