"""Choices are checked against the ballot style; a challenge QR binds the revealed secrets."""

from __future__ import annotations

from datetime import date

import pytest

from crypto.ballot import GENESIS_TRACKING_CODE, ElectionContext, verify_challenge
from crypto.group import base_mul, random_scalar
from evote.challenge_slip import SlipError, parse_slip, secrets_digest
from evote.manifest import Manifest
from evote.sample import sample_manifest
from terminal.ballot import (
    challenge_qr_payload,
    prepare_ballot,
    validate_choices,
)
from terminal.errors import InvalidChoices
from terminal.printing import challenge_slip, grouped_code

MANIFEST = Manifest.from_json(sample_manifest(date(2026, 3, 1)))
STYLE = "tehran-1"


def test_choices_come_back_in_ballot_order_and_blank_is_allowed() -> None:
    choices = validate_choices(MANIFEST, STYLE, {"majlis": ["1105", "1101"]})
    assert choices == {"majlis": ["1101", "1105"], "experts": []}


@pytest.mark.parametrize(
    "raw",
    [
        {"majlis": ["1101", "1102", "1103", "1104"]},
        {"experts": ["2201", "2202"]},
        {"experts": ["9999"]},
        {"majlis": ["1101", "1101"]},
        {"president": []},
        {"majlis": "1101"},
        ["1101"],
    ],
)
def test_choices_breaking_the_rules_are_refused(raw: object) -> None:
    with pytest.raises(InvalidChoices) as raised:
        validate_choices(MANIFEST, STYLE, raw)
    assert raised.value.code == "invalid_choices"


def test_the_challenge_qr_binds_the_tracking_code_and_the_revealed_secrets() -> None:
    context = ElectionContext(bytes(32), base_mul(random_scalar()))
    choices = validate_choices(MANIFEST, STYLE, {"majlis": ["1102", "1107"], "experts": ["2203"]})
    prepared = prepare_ballot(context, MANIFEST, STYLE, choices, GENESIS_TRACKING_CODE)
    payload = challenge_qr_payload(prepared, "https://board.example/check")
    assert payload.startswith("HTTPS://BOARD.EXAMPLE/CHECK/EVC2:")
    slip = parse_slip(payload)
    assert slip.tracking_code == prepared.tracking_code.hex()
    assert slip.secrets_digest == secrets_digest(prepared.secrets)
    other = prepare_ballot(context, MANIFEST, STYLE, choices, GENESIS_TRACKING_CODE)
    assert secrets_digest(other.secrets) != slip.secrets_digest
    recovered = verify_challenge(
        context, MANIFEST.contest_specs(STYLE), prepared.ballot, prepared.secrets
    )
    assert recovered == choices
    slip_document = challenge_slip(
        MANIFEST, MANIFEST.station("S-101"), "T-1", 1, prepared, "https://board.example/check"
    )
    assert any(getattr(item, "payload", None) == payload for item in slip_document.items)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "EVC2:",
        "evote-challenge/1;ab;cd",
        "EVC2:" + "G" * 64 + ":" + "0" * 32,
        "EVC2:" + "0" * 64,
    ],
)
def test_text_that_is_not_a_slip_is_refused_with_a_code(text: str) -> None:
    with pytest.raises(SlipError) as raised:
        parse_slip(text)
    assert raised.value.code == "invalid_slip"


def test_a_typed_slip_may_have_spaces_dashes_and_lower_case() -> None:
    typed = "evc2:" + " ".join(["abcd"] * 16) + ":" + "-".join(["0f0f"] * 8)
    assert parse_slip(typed).tracking_code == "abcd" * 16


def test_tracking_codes_are_grouped_for_reading_aloud() -> None:
    assert grouped_code("ab" * 8) == "ABAB ABAB ABAB ABAB"
