"""The group: validated decoding of every point and scalar, identity handled on purpose."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import points, scalars

from crypto.errors import DecodingError, InvalidPoint, InvalidScalar
from crypto.group import (
    IDENTITY,
    ORDER,
    G,
    Point,
    add_in_constant_work,
    base_mul,
    derive_generator,
    scalar_from_bytes,
    scalar_from_hex,
    scalar_hex,
)
from crypto.hexcodec import MALFORMED_HEX

SAMPLE = base_mul(987654321)

MULTIPLES_OF_G_HEX = (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
)
"""RFC 9496 Appendix A.1: the encodings of 0·G … 15·G."""

BAD_ENCODINGS_HEX = {
    "non-canonical field element": (
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    "negative field element": (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
        "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
        "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
        "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
        "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
        "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    ),
    "non-square x²": (
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
        "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
        "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
        "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
        "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
        "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
        "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
        "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    ),
    "negative xy": (
        "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
        "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
        "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
        "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
        "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
        "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
        "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
        "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    ),
    "s = -1 (y = 0)": ("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",),
}
"""RFC 9496 Appendix A.2 (as libsodium's own tests list them): encodings every
implementation must refuse."""

ED25519_TORSION_HEX = (
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
)
"""The small-order points of Ed25519 (encodings of the group this one replaced):
bytes an attacker who knew the old format would try."""


def test_multiples_of_the_generator_match_rfc_9496() -> None:
    assert G.hex() == MULTIPLES_OF_G_HEX[1]
    for multiple, expected in enumerate(MULTIPLES_OF_G_HEX):
        assert base_mul(multiple).hex() == expected
        assert G.multiply(multiple).hex() == expected
        assert Point.from_hex(expected) == base_mul(multiple)


@pytest.mark.parametrize(
    "encoded_hex",
    [encoded for group in BAD_ENCODINGS_HEX.values() for encoded in group],
)
def test_the_rfc_9496_bad_encodings_are_rejected(encoded_hex: str) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_hex(encoded_hex)


@pytest.mark.parametrize("encoded_hex", ED25519_TORSION_HEX)
def test_ed25519_small_order_encodings_are_rejected(encoded_hex: str) -> None:
    with pytest.raises(InvalidPoint):
        Point.from_hex(encoded_hex)


@settings(max_examples=300)
@given(st.binary(min_size=32, max_size=32))
def test_random_32_bytes_decode_to_the_one_encoding_of_an_element_or_raise_invalid_point(
    encoded: bytes,
) -> None:
    try:
        point = Point.from_bytes(encoded)
    except InvalidPoint:
        return
    assert point.to_bytes() == encoded
    assert add_in_constant_work(point, IDENTITY).to_bytes() == encoded
    assert point.multiply(ORDER + 1) == point


@settings(max_examples=50)
@given(points())
def test_an_encoding_with_the_top_bit_set_is_rejected(point: Point) -> None:
    flipped = bytearray(point.to_bytes())
    flipped[31] |= 0x80
    with pytest.raises(InvalidPoint):
        Point.from_bytes(bytes(flipped))


def test_identity_is_accepted_only_where_allowed() -> None:
    assert Point.from_hex(MULTIPLES_OF_G_HEX[0]) is IDENTITY
    with pytest.raises(InvalidPoint, match="identity"):
        Point.from_hex(MULTIPLES_OF_G_HEX[0], allow_identity=False)


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


def test_derived_generators_are_deterministic_independent_group_elements() -> None:
    first, second = derive_generator("first"), derive_generator("second")
    assert derive_generator("first") == first
    assert len({first, second, G}) == 3
    for generator in (first, second):
        assert Point.from_bytes(generator.to_bytes()) == generator
        assert not generator.is_identity


@pytest.mark.parametrize("encoded_hex", BAD_ENCODINGS_HEX["negative field element"])
def test_a_point_built_around_unvalidated_bytes_fails_loudly_in_every_operation(
    encoded_hex: str,
) -> None:
    unvalidated = Point(bytes.fromhex(encoded_hex))
    for operation in (
        lambda: unvalidated.multiply(5),
        lambda: unvalidated + SAMPLE,
        lambda: SAMPLE - unvalidated,
        lambda: add_in_constant_work(SAMPLE, unvalidated),
    ):
        with pytest.raises(InvalidPoint):
            operation()
