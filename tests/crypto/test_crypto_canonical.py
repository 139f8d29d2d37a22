"""Canonical JSON: one byte form for hashing and signing, and a strict parser for input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from strategies import json_values

from crypto.canonical import canonical_json, canonical_member, parse_json
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


class _Code(int):
    """An int subclass, as an IntEnum member is: accepted, written as its number."""


class _Name(str):
    pass


class _Object(dict):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize(
    "value",
    [
        {"a": [{"b": [1, 2, {"c": 0.5}]}]},
        [[[[[[1e-3]]]]]],
        {"a": {True: 1}},
        {"a": [{None: 1}]},
        {"a": {1: "x", 2: "y"}},
        {"a": {1.5: "x"}},
        {"a": ["ok", {"b": ("tuple",)}]},
        {"a": [b"bytes"]},
        {"a": ["x", "\udc80"]},
        {"a": {"\ud800x": 1}},
    ],
    ids=[
        "deep-float",
        "nested-list-float",
        "bool-key",
        "none-key",
        "int-keys",
        "float-key",
        "tuple",
        "bytes",
        "surrogate-value",
        "surrogate-key",
    ],
)
def test_the_fast_path_refuses_what_the_full_check_refuses(value: object) -> None:
    with pytest.raises(DecodingError):
        canonical_json(value)


def test_a_cycle_is_refused_not_looped_over() -> None:
    value: list[object] = [1]
    value.append(value)
    with pytest.raises(DecodingError):
        canonical_json({"a": value})


def test_json_valued_subclasses_keep_their_canonical_form() -> None:
    value = _Object({_Name("b"): [_Code(7), True], "a": _Name("x")})
    assert canonical_json(value) == b'{"a":"x","b":[7,true]}'


@settings(max_examples=60)
@given(json_values)
def test_parsing_skips_no_check_a_surrogate_escape_needs(value: object) -> None:
    escaped = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")
    assert canonical_json(parse_json(escaped)) == canonical_json(value)


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\uDBFF", b"\\udc00", b"\\uDfFf"])
def test_every_spelling_of_a_lone_surrogate_escape_is_refused(escape: bytes) -> None:
    with pytest.raises(DecodingError, match="surrogate"):
        parse_json(b'{"k":["x","' + escape + b'"]}')
    with pytest.raises(DecodingError, match="surrogate"):
        parse_json(b'{"' + escape + b'":1}')


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert parse_json(b'["\\ud83d\\ude00"]') == ["\U0001f600"]


@settings(max_examples=60)
@given(json_values)
def test_a_member_cut_out_of_its_object_is_its_own_canonical_form(value: object) -> None:
    document = {"before": [1, "x"], "member": value, "émoji": {"z": None}, "zz": "last"}
    encoded = canonical_json(document)
    for key in document:
        assert canonical_member(encoded, document, key) == canonical_json(document[key])


def test_a_member_of_other_bytes_is_refused() -> None:
    document = {"a": 1, "b": [2]}
    with pytest.raises(DecodingError):
        canonical_member(b'{"a":2,"b":[2]}', document, "b")
    with pytest.raises(DecodingError):
        canonical_member(canonical_json(document), document, "c")
