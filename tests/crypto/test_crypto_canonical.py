"""Canonical JSON: one byte form for hashing and signing, and a strict parser for input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from strategies import json_values

from crypto.canonical import canonical_json, parse_json
from crypto.errors import DecodingError


@settings(max_examples=60)
@given(json_values)
def test_canonical_bytes_parse_back_to_the_same_value(value: object) -> None:
    encoded = canonical_json(value)
    assert parse_json(encoded) == value
    assert canonical_json(parse_json(encoded)) == encoded


def test_the_canonical_form_is_sorted_compact_utf8() -> None:
    value = {"b": [1, True, None], "a": "رأی", "aa": {"y": -1, "x": ""}}
    assert canonical_json(value) == '{"a":"رأی","aa":{"x":"","y":-1},"b":[1,true,null]}'.encode()


@pytest.mark.parametrize("value", [1.5, {"x": 0.0}, [1e300], {"x": [float("nan")]}, float("inf")])
def test_floats_have_no_canonical_form(value: object) -> None:
    with pytest.raises(DecodingError, match="float"):
        canonical_json(value)


@pytest.mark.parametrize(
    "value", [{1: "x"}, {"x": b"bytes"}, {"x": (1, 2)}, {"x": {1, 2}}, "\ud800", {"\udfff": 1}]
)
def test_values_without_a_json_form_are_refused(value: object) -> None:
    with pytest.raises(DecodingError):
        canonical_json(value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate key"),
        (b'{"x":{"a":1,"a":1}}', "duplicate key"),
        (b"NaN", "NaN"),
        (b"[Infinity]", "Infinity"),
        (b'{"x":-Infinity}', "Infinity"),
        (b"1.0", "float"),
        (b'{"x":1e5}', "float"),
        (b'"\\ud800"', "surrogate"),
        (b"\xff\xfe", "UTF-8"),
        (b"{", "malformed"),
        (b"", "malformed"),
        (b"1" * 5000, "malformed"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
    ids=[
        "duplicate",
        "nested-duplicate",
        "nan",
        "infinity",
        "minus-infinity",
        "float",
        "exponent",
        "lone-surrogate",
        "not-utf8",
        "truncated",
        "empty",
        "huge-integer",
        "deep-nesting",
    ],
)
def test_the_parser_refuses_what_has_no_canonical_form(document: bytes, message: str) -> None:
    with pytest.raises(DecodingError, match=message):
        parse_json(document)


def test_the_parser_enforces_its_size_limit() -> None:
    with pytest.raises(DecodingError, match="exceeds"):
        parse_json(b"[" + b"1," * 100 + b"1]", max_bytes=100)
    assert parse_json("[1]", max_bytes=3) == [1]
