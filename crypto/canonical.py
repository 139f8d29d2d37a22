"""Canonical JSON: the one byte form used for hashing and signing.

Two parties hashing the same object must get the same bytes, so the form is
fixed: UTF-8, keys sorted, no insignificant whitespace, no floats (a float's
text is not canonical across implementations).
"""

from __future__ import annotations

import json
from typing import Any

from crypto.errors import DecodingError

JsonValue = Any

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def _reject_floats(value: JsonValue, path: str) -> None:
    if isinstance(value, float):
        raise DecodingError(f"{path}: floats are not allowed in canonical JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodingError(f"{path}: object keys must be strings")
            _reject_floats(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_floats(item, f"{path}[{index}]")
    elif value is not None and not isinstance(value, str | int | bool):
        raise DecodingError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_json(value: JsonValue) -> bytes:
    """Return the canonical UTF-8 bytes of a JSON-compatible value."""
    _reject_floats(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def parse_json(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> JsonValue:
    """Parse JSON from outside strictly: size-limited, no NaN/Infinity, no duplicate keys."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise DecodingError(f"document of {len(raw)} bytes exceeds the {max_bytes}-byte limit")

    def no_duplicates(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
        result: dict[str, JsonValue] = {}
        for key, item in pairs:
            if key in result:
                raise DecodingError(f"duplicate key {key!r}")
            result[key] = item
        return result

    def no_constant(name: str) -> JsonValue:
        raise DecodingError(f"{name} is not allowed")

    try:
        return json.loads(
            raw.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constant
        )
    except UnicodeDecodeError as error:
        raise DecodingError(f"not UTF-8: {error}") from error
    except json.JSONDecodeError as error:
        raise DecodingError(f"malformed JSON: {error}") from error
    except RecursionError as error:
        raise DecodingError("JSON nested too deeply") from error
