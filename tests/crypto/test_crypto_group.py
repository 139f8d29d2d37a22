"""The group: validated decoding of every point and scalar, identity handled on purpose."""

from __future__ import annotations

import nacl.bindings as sodium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import TORSION_POINTS_HEX, points, scalars

from crypto.errors import DecodingError, InvalidPoint, InvalidScalar
from crypto.group import (
    IDENTITY,
    ORDER,
    G,
    Point,
    base_mul,
    derive_generator,
    scalar_from_bytes,
    scalar_from_hex,
    scalar_hex,
)
from crypto.hexcodec import MALFORMED_HEX

FIELD_PRIME = 2**255 - 19
SAMPLE = base_mul(987654321)
CURVE_D = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME


def _encode_y(y: int, x_negative: bool = False) -> bytes:
    """The raw 32-byte form of a y value (possibly ≥ p) with the x sign bit."""
    return (y | (int(x_negative) << 255)).to_bytes(32, "little")


def _is_on_curve_y(y: int) -> bool:
    """Whether some x satisfies −x² + y² = 1 + d·x²·y² (Euler's criterion on x²)."""
    x_squared = (y * y - 1) * pow(CURVE_D * y * y + 1, -1, FIELD_PRIME) % FIELD_PRIME
    return x_squared == 0 or pow(x_squared, (FIELD_PRIME - 1) // 2, FIELD_PRIME) == 1


@settings(max_examples=300)
@given(st.binary(min_size=32, max_size=32))
def test_random_32_bytes_decode_to_a_subgroup_point_or_raise_invalid_point(
    encoded: bytes,
) -> None:
    try:
        point = Point.from_bytes(encoded)
    except InvalidPoint:
        return
    assert point.to_bytes() == encoded
    assert point.is_identity or sodium.crypto_core_ed25519_is_valid_point(encoded)


@pytest.mark.parametrize("encoded_hex", TORSION_POINTS_HEX[1:])
def test_small_order_points_are_rejected(encoded_hex: str) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_hex(encoded_hex)


def test_identity_is_accepted_only_where_allowed() -> None:
    assert Point.from_hex(TORSION_POINTS_HEX[0]) is IDENTITY
    with pytest.raises(InvalidPoint, match="identity"):
        Point.from_hex(TORSION_POINTS_HEX[0], allow_identity=False)


@pytest.mark.parametrize("torsion_hex", TORSION_POINTS_HEX[1:])
def test_points_outside_the_prime_order_subgroup_are_rejected(torsion_hex: str) -> None:
    mixed = sodium.crypto_core_ed25519_add(G.to_bytes(), bytes.fromhex(torsion_hex))
    with pytest.raises(InvalidPoint):
        Point.from_bytes(mixed)


@pytest.mark.parametrize("y", range(19))
def test_non_canonical_encodings_with_y_at_least_p_are_rejected(y: int) -> None:
    for negative in (False, True):
        with pytest.raises(InvalidPoint):
            Point.from_bytes(_encode_y(FIELD_PRIME + y, negative))


def test_negative_zero_encoding_of_the_identity_is_rejected() -> None:
    with pytest.raises(InvalidPoint):
        Point.from_bytes(_encode_y(1, x_negative=True))


def test_off_curve_encodings_are_rejected() -> None:
    off_curve = [y for y in range(2, 60) if not _is_on_curve_y(y)]
    assert off_curve
    for y in off_curve:
        with pytest.raises(InvalidPoint):
            Point.from_bytes(_encode_y(y))


@pytest.mark.parametrize(
    "text",
    [
        SAMPLE.hex()[:-2],
        SAMPLE.hex() + "00",
        SAMPLE.hex().upper(),
        "",
        "zz" * 32,
        " " + SAMPLE.hex()[1:],
        "０" * 64,
    ],
    ids=["truncated", "oversized", "uppercase", "empty", "not-hex", "space", "fullwidth"],
)
def test_malformed_point_hex_is_rejected_with_malformed_hex(text: str) -> None:
    with pytest.raises(DecodingError) as caught:
        Point.from_hex(text)
    assert caught.value.code == MALFORMED_HEX


@pytest.mark.parametrize("value", [None, 7, b"\x01" * 32, ["00"]])
def test_non_string_point_hex_is_rejected(value: object) -> None:
    with pytest.raises(DecodingError):
        Point.from_hex(value)


@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_points_of_the_wrong_length_are_rejected(length: int) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_bytes(bytes(length))


def test_scalars_at_or_above_the_order_are_rejected() -> None:
    assert scalar_from_hex(scalar_hex(ORDER - 1)) == ORDER - 1
    for value in (ORDER, ORDER + 1, 2**256 - 1):
        with pytest.raises(InvalidScalar):
            scalar_from_bytes(value.to_bytes(32, "little"))


@pytest.mark.parametrize("text", ["00" * 31, "00" * 33, "AB" * 32, "xy" * 32])
def test_malformed_scalar_hex_is_rejected(text: str) -> None:
    with pytest.raises(DecodingError):
        scalar_from_hex(text)


@settings(max_examples=25)
@given(points())
def test_valid_points_round_trip_through_hex(point: Point) -> None:
    assert Point.from_hex(point.hex()) == point


def test_identity_arises_and_is_handled_in_every_operation() -> None:
    point = base_mul(12345)
    assert base_mul(0) is IDENTITY
    assert point.multiply(0) is IDENTITY
    assert point.multiply(ORDER) is IDENTITY
    assert IDENTITY.multiply(7) is IDENTITY
    assert point - point == IDENTITY
    assert point + (-point) == IDENTITY
    assert IDENTITY + point == point
    assert point + IDENTITY == point
    assert point - IDENTITY == point
    assert -IDENTITY == IDENTITY
    assert (IDENTITY - point) + point == IDENTITY


@settings(max_examples=25)
@given(scalars, scalars)
def test_scalar_multiplication_is_a_homomorphism(first: int, second: int) -> None:
    assert base_mul(first + second) == base_mul(first) + base_mul(second)
    assert base_mul(first).multiply(second) == base_mul(first * second)
    assert G.multiply(first) == base_mul(first)


def test_derived_generators_are_deterministic_independent_subgroup_points() -> None:
    first, second = derive_generator("first"), derive_generator("second")
    assert derive_generator("first") == first
    assert len({first, second, G}) == 3
    for generator in (first, second):
        assert Point.from_bytes(generator.to_bytes()) == generator
        assert not generator.is_identity


@pytest.mark.parametrize("torsion_hex", TORSION_POINTS_HEX[1:])
def test_a_point_built_around_unvalidated_bytes_fails_loudly_when_multiplied(
    torsion_hex: str,
) -> None:
    with pytest.raises(InvalidPoint):
        Point(bytes.fromhex(torsion_hex)).multiply(5)
