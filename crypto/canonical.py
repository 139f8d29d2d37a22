"""Canonical JSON: the one byte form used for hashing and signing.

Two parties hashing the same object must get the same bytes, so the form is
fixed: UTF-8, keys sorted by code point, no insignificant whitespace, no
floats (a float's text is not canonical across implementations), no lone
surrogates (they have no UTF-8 form). Strings are not Unicode-normalised: the
bytes a party signed are the bytes everyone hashes.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from crypto.errors import DecodingError

JsonValue = Any

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024

_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
"""A JSON escape of a UTF-16 surrogate: the only way a lone surrogate gets into parsed text."""


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


def _is_plain(value: JsonValue) -> bool:
    """Whether ``value`` is built of exactly dict (str keys), list, str, int, bool and None.

    The hot path's check: no recursion and no path strings, so it costs a
    fraction of ``json.dumps``. Exact types only (no float, no subclass, no
    tuple); anything else gets the full located check. Lone surrogates are not
    looked for here: encoding the whole text to UTF-8 finds them.
    """
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is int:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is not bool and item is not None:
            return False
    return True


def canonical_json(value: JsonValue) -> bytes:
    """Return the canonical UTF-8 bytes of a JSON-compatible value.

    Fast path: the C encoder writes the text (refusing cycles and unknown
    types), ``_is_plain`` proves the value holds no float and no non-string
    key (which the encoder would silently turn into text), and UTF-8 encoding
    of the whole text refuses lone surrogates. Whatever fails any of these
    goes through the full recursive check, which raises a located
    DecodingError (or accepts JSON-valued subclasses, as it always has).
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError, RecursionError) as error:
        _checked(value)
        raise DecodingError(f"no canonical JSON form: {error}") from error
    if not _is_plain(value):
        _checked(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        _checked(value)
        raise DecodingError("a string holds a lone surrogate") from error


def canonical_member(encoded: bytes, value: dict[str, JsonValue], key: str) -> bytes:
    """``canonical_json(value[key])``, cut out of ``encoded = canonical_json(value)``.

    For a large member of an object already encoded (a ballot inside a signed
    request inside a board entry): only the other members are encoded again,
    to find where this one starts and ends. ``encoded`` must be the caller's
    own ``canonical_json(value)``; bytes from elsewhere may not match.
    """
    if key not in value:
        raise DecodingError(f"no member {key!r}")
    names = sorted(value)
    at = names.index(key)

    def members(selected: list[str]) -> list[bytes]:
        return [canonical_json(name) + b":" + canonical_json(value[name]) for name in selected]

    before, after = members(names[:at]), members(names[at + 1 :])
    prefix = b"{" + b"".join(item + b"," for item in before) + canonical_json(key) + b":"
    suffix = b"".join(b"," + item for item in after) + b"}"
    if (
        len(encoded) <= len(prefix) + len(suffix)
        or not encoded.startswith(prefix)
        or not encoded.endswith(suffix)
    ):
        raise DecodingError(f"not the canonical form of an object with member {key!r}")
    return encoded[len(prefix) : len(encoded) - len(suffix)]


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
        # dict() in C, and a key repeated iff the dict came out shorter: a cast
        # request has ~200 objects, and a Python loop over every pair cost more
        # than the rest of the parse.
        result = dict(pairs)
        if len(result) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise DecodingError(f"duplicate key {key!r}")
                seen.add(key)
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
    # json.loads with these hooks yields only dict (str keys), list, str, int, bool and
    # None, and strict UTF-8 decoding refuses encoded surrogates, so the one way left to
    # a value without canonical bytes is a "\ud800" escape: only then walk the value.
    if _SURROGATE_ESCAPE.search(raw):
        return _checked(value)
    return value
