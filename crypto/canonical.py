"""Canonical JSON: the one byte form used for hashing and signing.

Two parties hashing the same object must get the same bytes, so the form is
fixed: UTF-8, keys sorted by code point, no insignificant whitespace, no
floats (a float's text is not canonical across implementations), no lone
surrogates (they have no UTF-8 form). Strings are not Unicode-normalised: the
bytes a party signed are the bytes everyone hashes.
"""

from __future__ import annotations

import json
from typing import Any

from crypto.errors import DecodingError

JsonValue = Any

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise DecodingError(f"{path}: a string holds a lone surrogate") from error


def _check_value(value: JsonValue, path: str) -> None:
    if isinstance(value, float):
        raise DecodingError(f"{path}: floats are not allowed in canonical JSON")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodingError(f"{path}: object keys must be strings")
            _check_text(key, path)
            _check_value(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]")
    elif isinstance(value, str):
        _check_text(value, path)
    elif value is not None and not isinstance(value, int | bool):
        raise DecodingError(f"{path}: {type(value).__name__} is not a JSON value")


def _checked(value: JsonValue) -> JsonValue:
    try:
        _check_value(value, "$")
    except RecursionError as error:
        raise DecodingError("JSON nested too deeply") from error
    return value


def canonical_json(value: JsonValue) -> bytes:
    """Return the canonical UTF-8 bytes of a JSON-compatible value."""
    text = json.dumps(_checked(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def parse_json(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> JsonValue:
    """Parse JSON from outside strictly: what it returns always has a canonical form.

    Refused with DecodingError: more than ``max_bytes``, invalid UTF-8, duplicate
    keys (two parsers could keep different ones), NaN/Infinity, floats, integers
    of more than 4300 digits, lone surrogates, nesting deeper than the stack.
    """
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeEncodeError as error:
        raise DecodingError("text holds a lone surrogate") from error
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

    def no_float(text: str) -> JsonValue:
        raise DecodingError(f"floats are not allowed ({text[:20]})")

    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=no_duplicates,
            parse_constant=no_constant,
            parse_float=no_float,
        )
    except UnicodeError as error:
        raise DecodingError(f"not UTF-8: {error}") from error
    except json.JSONDecodeError as error:
        raise DecodingError(f"malformed JSON: {error}") from error
    except RecursionError as error:
        raise DecodingError("JSON nested too deeply") from error
    except ValueError as error:
        # Python refuses integers of more than 4300 digits with a plain ValueError.
        raise DecodingError(f"malformed JSON: {error}") from error
    # "\ud800" escapes decode to lone surrogates, which have no canonical bytes.
    return _checked(value)
