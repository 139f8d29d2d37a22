"""Terminal benchmark: from Cast pressed to the receipt printed, with the standard ballot.

A real ballot server on loopback, simulated devices on ptys and a terminal,
driven through the kiosk API exactly as the kiosk page drives it. The clock
starts when Cast is posted and stops when the printer simulator has rendered
the receipt (its cut command processed). The encryption runs while the voter
reviews, so it is reported separately (review → tracking code shown).
Prints one JSON line.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sizes import marked, size

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "terminal"))

from station_harness import StationHarness  # noqa: E402

from terminal.kiosk_client import KioskClient  # noqa: E402

VOTES = size(20, 2)
CHOICES = {"majlis": ["1101", "1105", "1108"], "experts": ["2204"]}


def _wait_printed(station: StationHarness, count: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(station.printer.receipts) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the receipt was not printed")
        time.sleep(0.0005)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        station = StationHarness(root)
        running = station.start_terminal(root / "terminal")
        try:
            kiosk = KioskClient(running.url)
            station.open_polls(kiosk)
            cast_ms, encrypt_ms = [], []
            for _ in range(VOTES):
                station.sign_in(kiosk, station.next_voter())
                kiosk.wait_for("ballot")
                started = time.perf_counter()
                kiosk.review(CHOICES)
                kiosk.post("confirm")
                kiosk.wait_for("tracking")
                encrypt_ms.append((time.perf_counter() - started) * 1000)
                printed = len(station.printer.receipts)
                started = time.perf_counter()
                kiosk.post("cast")
                _wait_printed(station, printed + 1)
                cast_ms.append((time.perf_counter() - started) * 1000)
                station.reader.remove()
                kiosk.wait_for("idle")
        finally:
            running.stop()
            station.close()
    print(
        json.dumps(
            marked(
                {
                    "bench": "terminal",
                    "cast_to_receipt_ms_median": round(statistics.median(cast_ms), 1),
                    "cast_to_receipt_ms_max": round(max(cast_ms), 1),
                    "review_to_tracking_code_ms_median": round(statistics.median(encrypt_ms), 1),
                    "votes": VOTES,
                    "ballot": "majlis up to 3 of 10 + experts 1 of 8",
                }
            )
        )
    )


if __name__ == "__main__":
    main()
