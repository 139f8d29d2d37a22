"""Every printed template keeps all of its ink, and the challenge slip's QR survives blur.

The composer once drew each line too low in its band, cutting the dots under
Persian letters: "رسید رأی" printed like "رسد رأی", "پایان" like "بابان". Here
every template — receipt, challenge slip, zero and closing tapes — is printed
with long Persian names and its ink counted against a reference rendering of
each line alone on a canvas far larger than the text: any dot lost at a line
boundary (or past the paper's edge) shows as missing ink.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFilter
from pyzbar.pyzbar import ZBarSymbol, decode

from crypto.ballot import GENESIS_TRACKING_CODE, ElectionContext
from crypto.group import base_mul, random_scalar
from evote.challenge_slip import parse_slip, secrets_digest
from evote.manifest import Manifest
from evote.sample import sample_manifest
from evote.typeface import persian_font
from terminal.ballot import PreparedBallot, prepare_ballot, validate_choices
from terminal.devices.receipt import (
    RECEIPT_WIDTH_DOTS,
    QrBlock,
    ReceiptDocument,
    TextLine,
    has_arabic_script,
    render_receipt,
    wrap_text,
)
from terminal.printing import cast_receipt, challenge_slip, poll_tape

CHECK_URL = "https://board.election.example/check"
LONG_NAMES = [
    ("سید محمدرضا پیرمحمدی‌نژاد قاضی‌زاده", "Seyyed Mohammadreza Pirmohammadinejad"),
    ("فاطمه‌زهرا ژیان‌پور یزدی", "Fatemeh-Zahra Zhianpour Yazdi"),
    ("پیمان گیلانی پیگیری", "Peyman Gilani Peygiri"),
]


def long_named_manifest() -> Manifest:
    document = copy.deepcopy(sample_manifest(date(2026, 3, 1)))
    for contest in document["contests"]:
        for index, candidate in enumerate(contest["candidates"]):
            fa, en = LONG_NAMES[index % len(LONG_NAMES)]
            candidate["name"] = {"fa": fa, "en": en}
    station = document["provinces"][0]["counties"][0]["stations"][0]
    station["name"] = {
        "fa": "شعبه ۱۰۱ مسجد جامع پیرمحمدی یزدی، خیابان پایان پیگیری",
        "en": "Branch 101",
    }
    return Manifest.from_json(document)


def reference_ink(line: TextLine, text: str) -> int:
    """Black dots of ``text`` drawn alone, far from any edge, thresholded as printed."""
    font = persian_font(line.size, line.bold)
    direction, language = ("rtl", "fa") if has_arabic_script(text) else (None, None)
    canvas = Image.new("L", (RECEIPT_WIDTH_DOTS * 3, line.size * 6), 255)
    ImageDraw.Draw(canvas).text(
        (RECEIPT_WIDTH_DOTS, line.size * 2),
        text,
        font=font,
        fill=0,
        direction=direction,
        language=language,
    )
    return ink(canvas.point(lambda value: 0 if value < 160 else 255).convert("1"))


def ink(image: Image.Image) -> int:
    return image.convert("L").histogram()[0]


def expected_ink(document: ReceiptDocument) -> int:
    total = 0
    for item in document.items:
        if isinstance(item, TextLine):
            total += sum(reference_ink(item, text) for text in wrap_text(item, RECEIPT_WIDTH_DOTS))
        else:
            total += ink(render_receipt(ReceiptDocument("alone", (item,))))
    return total


def prepared_ballot(manifest: Manifest) -> PreparedBallot:
    context = ElectionContext(bytes(32), base_mul(random_scalar()))
    choices = validate_choices(
        manifest, "tehran-1", {"majlis": ["1101", "1102", "1103"], "experts": []}
    )
    return prepare_ballot(context, manifest, "tehran-1", choices, GENESIS_TRACKING_CODE)


def templates() -> dict[str, ReceiptDocument]:
    manifest = long_named_manifest()
    station = manifest.station("S-101")
    lines = [
        ("ballots_cast", "123", "123"),
        ("last_sequence", "45", "45"),
        ("chain_head", "ab12cd34", "ab12cd34"),
    ]
    return {
        "receipt": cast_receipt(station, "T-101-1", 7, "ab" * 32, "https://board.example/track/ab"),
        "challenge-slip": challenge_slip(
            manifest, station, "T-101-1", 8, prepared_ballot(manifest), CHECK_URL
        ),
        "zero-tape": poll_tape("zero_report", station, "T-101-1", {"report": "zero"}, lines),
        "closing-tape": poll_tape("closing_report", station, "T-101-1", None, lines),
    }


@pytest.mark.parametrize("name", ["receipt", "challenge-slip", "zero-tape", "closing-tape"])
def test_no_printed_template_loses_ink_at_its_line_boundaries(name: str) -> None:
    document = templates()[name]
    printed = render_receipt(document)
    assert ink(printed) == expected_ink(document), name


def test_a_line_too_long_for_the_paper_wraps_instead_of_running_off_it() -> None:
    line = TextLine(" ".join(fa for fa, _ in LONG_NAMES), size=24)
    wrapped = wrap_text(line, RECEIPT_WIDTH_DOTS)
    assert len(wrapped) > 1 and " ".join(wrapped) == line.text
    document = ReceiptDocument("long", (line,))
    assert ink(render_receipt(document)) == expected_ink(document)


@pytest.mark.parametrize("text", ["رسید رأی", "پایان", "پیگیری", "ژیان‌پور یزدی"])
def test_the_dots_below_persian_letters_are_printed(text: str) -> None:
    line = TextLine(text, bold=True, size=30)
    document = ReceiptDocument("word", (line,))
    assert ink(render_receipt(document)) == reference_ink(line, text)


def _qr_codes(image: Image.Image) -> list[Any]:
    """The QR codes zbar finds; only those: blurred receipt text sometimes reads as a
    one-dimensional barcode (a slip printed one QR, and nothing else was asked of it)."""
    return list(decode(image, symbols=[ZBarSymbol.QRCODE]))


def test_the_challenge_slip_qr_is_short_and_decodes_after_blur() -> None:
    manifest = long_named_manifest()
    prepared = prepared_ballot(manifest)
    document = challenge_slip(
        manifest, manifest.station("S-101"), "T-101-1", 8, prepared, CHECK_URL
    )
    image = render_receipt(document).convert("L")
    for radius in (1.0, 1.5, 2.0):
        symbols = _qr_codes(image.filter(ImageFilter.GaussianBlur(radius)))
        assert len(symbols) == 1, f"no QR after a blur of {radius} dots"
        text = symbols[0].data.decode("ascii")
        assert text.startswith(CHECK_URL.upper() + "/EVC2:") and len(text) <= 160
        slip = parse_slip(text)
        assert slip.tracking_code == prepared.tracking_code.hex()
        assert slip.secrets_digest == secrets_digest(prepared.secrets)


def test_a_qr_too_big_for_six_dots_a_module_is_printed_smaller_not_refused() -> None:
    payload = "HTTPS://A-RATHER-LONG-BOARD-ADDRESS.ELECTION.EXAMPLE/CHECK/EVC2:" + "AB" * 60
    image = render_receipt(ReceiptDocument("qr", (QrBlock(payload, 6, "H"),)))
    assert image.width == RECEIPT_WIDTH_DOTS
    assert [symbol.data.decode() for symbol in _qr_codes(image.convert("L"))] == [payload]
