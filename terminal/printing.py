"""What the terminal prints: the voter's receipt, the challenge slip, the poll tapes.

Documents are built here from the catalogue (Persian first, English under it)
and laid out by the devices package's composer, which shapes Persian right to
left and renders one bitmap per receipt.
"""

from __future__ import annotations

import time
from datetime import datetime

from crypto.canonical import canonical_json
from crypto.hashing import hash_bytes
from evote.digits import persian_digits
from evote.jalali import format_jalali_for_reading
from evote.manifest import Manifest, Station
from terminal.ballot import PreparedBallot, challenge_qr_payload
from terminal.devices.receipt import QrBlock, ReceiptDocument, Rule, TextLine
from terminal.i18n import text

MAX_TAPE_QR_BYTES = 700


def grouped_code(code_hex: str, group: int = 4) -> str:
    """A tracking code split into groups so a person can read it aloud and compare."""
    return " ".join(code_hex[i : i + group] for i in range(0, len(code_hex), group)).upper()


def short_code(code_hex: str) -> str:
    """The first 16 hex digits, shown big on screen; the receipt carries the whole code."""
    return grouped_code(code_hex[:16])


def _when(timestamp: float) -> tuple[str, str]:
    moment = datetime.fromtimestamp(timestamp)
    clock = moment.strftime("%H:%M:%S")
    return (
        persian_digits(f"{format_jalali_for_reading(moment.date())}  {clock}"),
        f"{moment.date().isoformat()} {clock}",
    )


def _header(key: str, station: Station, terminal_id: str, at: float) -> list[TextLine | Rule]:
    when_fa, when_en = _when(at)
    return [
        TextLine(text(key, "fa"), align="center", bold=True, size=30),
        TextLine(text(key, "en"), align="center", size=20),
        Rule(),
        TextLine(station.name.fa, size=22),
        TextLine(f"{station.station_id} · {text('terminal', 'en')} {terminal_id}", size=18),
        TextLine(f"{text('time', 'fa')}: {when_fa}", size=22),
        TextLine(when_en, size=18),
        Rule(),
    ]


def _code_lines(code_hex: str) -> list[TextLine]:
    """The whole code, four groups of four per line: short enough to compare by eye.

    Persian and Latin never share a line: the Persian font has no Latin glyphs.
    """
    return [
        TextLine(text("tracking_code", "fa"), size=22),
        TextLine(text("tracking_code", "en"), size=16),
        *(
            TextLine(grouped_code(code_hex[start : start + 16]), align="center", bold=True)
            for start in range(0, len(code_hex), 16)
        ),
    ]


def _provisional_lines(provisional: bool) -> list[TextLine | Rule]:
    """Printed while the station is offline: the ballot counts once reconciled."""
    if not provisional:
        return []
    return [
        TextLine(text("provisional_receipt", "fa"), align="center", bold=True, size=24),
        TextLine(text("provisional_receipt", "en"), align="center", bold=True, size=18),
        Rule(),
    ]


def cast_receipt(
    station: Station,
    terminal_id: str,
    sequence: int,
    code_hex: str,
    lookup_url: str,
    *,
    provisional: bool = False,
) -> ReceiptDocument:
    """The voter's receipt: tracking code, station, time, and a QR to look the code up;
    marked provisional when cast in offline mode."""
    items = [
        *_header("receipt_title", station, terminal_id, time.time()),
        *_provisional_lines(provisional),
        *_code_lines(code_hex),
        QrBlock(lookup_url, module_dots=4),
        TextLine(text("receipt_lookup", "fa"), align="center", size=20),
        TextLine(text("receipt_lookup", "en"), align="center", size=16),
    ]
    return ReceiptDocument(f"receipt-{terminal_id}-{sequence}", tuple(items))


def challenge_slip(
    manifest: Manifest,
    station: Station,
    terminal_id: str,
    sequence: int,
    prepared: PreparedBallot,
    check_base_url: str,
    *,
    provisional: bool = False,
) -> ReceiptDocument:
    """The challenged ballot: what the voter chose, and a QR to check it on the board."""
    items: list[TextLine | QrBlock | Rule] = [
        *_header("challenge_title", station, terminal_id, time.time()),
        *_provisional_lines(provisional),
        *(TextLine(line, size=18) for line in text("challenge_note", "fa").split("\n")),
        *(TextLine(line, size=16) for line in text("challenge_note", "en").split("\n")),
        *_code_lines(prepared.tracking_code.hex()),
        Rule(),
    ]
    for contest_id, chosen in prepared.choices.items():
        contest = manifest.contest(contest_id)
        items.append(TextLine(contest.name.fa, bold=True, size=22))
        if not chosen:
            items.append(TextLine(text("blank_contest", "fa"), size=20))
        for selection_id in chosen:
            candidate = contest.candidate(int(selection_id))
            items.append(
                TextLine(f"{persian_digits(candidate.code)}  {candidate.name.fa}", size=20)
            )
    items += [
        Rule(),
        QrBlock(
            challenge_qr_payload(prepared, check_base_url), module_dots=6, error_correction="H"
        ),
    ]
    return ReceiptDocument(f"challenge-{terminal_id}-{sequence}", tuple(items))


def poll_tape(
    key: str,
    station: Station,
    terminal_id: str,
    report: dict[str, object] | None,
    lines: list[tuple[str, str, str]],
) -> ReceiptDocument:
    """A zero or closing report tape: labelled values, and the signed report as a QR.

    ``lines`` are (catalogue key, Persian value, English value); Persian lines
    carry no Latin text because the Persian font has no Latin glyphs.

    A report too large for a printable QR is represented by its BLAKE2b digest,
    which anyone can compare with the report published in the election record.
    """
    items: list[TextLine | QrBlock | Rule] = list(_header(key, station, terminal_id, time.time()))
    for label_key, value_fa, value_en in lines:
        items.append(TextLine(f"{text(label_key, 'fa')}: {persian_digits(value_fa)}", size=22))
        items.append(TextLine(f"{text(label_key, 'en')}: {value_en}", size=16))
    if report is not None:
        encoded = canonical_json(report)
        if len(encoded) > MAX_TAPE_QR_BYTES:
            digest = hash_bytes("evote/poll-report-digest/v1", encoded).hex()
            payload = f"evote-poll-report-digest/1;{digest}"
        else:
            payload = encoded.decode("utf-8")
        items += [Rule(), QrBlock(payload, module_dots=3)]
    return ReceiptDocument(f"{key}-{terminal_id}-{int(time.time())}", tuple(items))


def desk_pass(station: Station, desk_id: str, payload: str, expires_at: int) -> ReceiptDocument:
    """The check-in desk's pass: the signed one-time pass as a QR for the booth's scanner."""
    expires_fa, expires_en = _when(expires_at)
    items: list[TextLine | QrBlock | Rule] = [
        *_header("pass_title", station, desk_id, time.time()),
        *(TextLine(line, size=22) for line in text("pass_note", "fa").split("\n")),
        *(TextLine(line, size=16) for line in text("pass_note", "en").split("\n")),
        QrBlock(payload, module_dots=3),
        TextLine(f"{text('pass_expires', 'fa')}: {expires_fa}", size=20),
        TextLine(f"{text('pass_expires', 'en')}: {expires_en}", size=16),
    ]
    return ReceiptDocument(f"pass-{desk_id}-{int(time.time() * 1000)}", tuple(items))
