"""What people read, drawn again from the verified results and compared.

``results.csv`` and ``report.html`` are pure functions of ``results.json``
and the manifest and must match byte for byte; each station's poll tape is
drawn again and must match pixel for pixel (PNG compression may differ, the
picture may not), so a tape swapped for another station's or edited fails.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from evote.manifest import Manifest
from tally.errors import VerificationFailure
from tally.poll_tape import poll_tape_image
from tally.record import POLL_TAPES, REPORT_HTML, RESULTS_CSV, Record
from tally.report_html import render_report
from tally.results import results_csv


def _fail(location: str, message: str, code: str) -> VerificationFailure:
    return VerificationFailure("results", location, message, code=code)


def _recorded_image(record: Record, relative: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(record.read_bytes(relative)), formats=["PNG"]) as image:
            image.load()
            return image.copy()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise _fail(relative, f"not a readable PNG ({error})", "bad_poll_tape") from error


def check_presentation(record: Record, manifest: Manifest, results: dict[str, Any]) -> int:
    """The CSV, the HTML report and every station's poll tape show exactly ``results``."""
    for relative, text in (
        (RESULTS_CSV, results_csv(results)),
        (REPORT_HTML, render_report(manifest, results)),
    ):
        if record.read_bytes(relative) != text.encode("utf-8"):
            raise _fail(relative, "differs from the results", "results_mismatch")
    stations = [unit for unit in results["units"] if unit["level"] == "station"]
    for unit in stations:
        relative = f"{POLL_TAPES}/{unit['unit_id']}.png"
        recorded = _recorded_image(record, relative)
        expected = poll_tape_image(manifest, unit)
        if (recorded.mode, recorded.size) != (expected.mode, expected.size) or (
            recorded.tobytes() != expected.tobytes()
        ):
            raise _fail(
                relative,
                f"does not show the results of station {unit['unit_id']}",
                "poll_tape_mismatch",
            )
    return 2 + len(stations)
