"""A heartbeat for long steps: a line every interval until the step ends.

``make demo`` used to sit silent for half a minute during polling day; a
person watching cannot tell a slow step from a hung one. ``Ticker`` prints
``  … label: done/total (elapsed s)`` from a background thread while the step
runs, and nothing for a step that ends before the first tick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

Echo = Callable[[str], None]


class Ticker:
    """``with Ticker(echo, "visits", count, total):`` prints progress every ``interval_s``."""

    def __init__(
        self,
        echo: Echo,
        label: str,
        count: Callable[[], int] | None = None,
        total: int | None = None,
        *,
        interval_s: float = 1.0,
    ) -> None:
        self.echo = echo
        self.label = label
        self.count = count
        self.total = total
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"progress-{label}", daemon=True)
        self._started = 0.0

    def line(self) -> str:
        elapsed = f"{time.monotonic() - self._started:.0f} s"
        if self.count is None:
            return f"  … {self.label} ({elapsed})"
        of = f"/{self.total}" if self.total is not None else ""
        return f"  … {self.label}: {self.count()}{of} ({elapsed})"

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.echo(self.line())

    def __enter__(self) -> Ticker:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
