"""HTTP servers served from a thread of their own, and stopped promptly.

``socketserver``'s ``serve_forever`` looks for a ``shutdown()`` request between
two ``select()`` calls, every ``poll_interval``: 0.5 s by default, so every stop of
a kiosk, desk, station register or in-process ballot server waited up to half a
second (about a second per terminal test, a ballot server and a kiosk each).
Serving with ``STOP_POLL_S`` bounds a stop by that instead, for 20 idle wake-ups a
second per server, microseconds of CPU each.
"""

from __future__ import annotations

import socketserver
import threading

STOP_POLL_S = 0.05


def serve_in_thread(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """A daemon thread, not yet started, serving ``server`` until ``server.shutdown()``."""
    return threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": STOP_POLL_S},
        name=name,
        daemon=True,
    )
