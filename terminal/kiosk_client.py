"""A small client of the kiosk's local HTTP API, for the demo, the tests and the benchmark.

It does exactly what the kiosk's script does (same endpoints, same bodies), so
a simulated voter goes through the same terminal code as a person at the
touchscreen. Devices (card in/out, scans) are driven on the simulators, not here.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from terminal.errors import TerminalError


class KioskRefused(TerminalError):
    """The terminal refused an action (4xx); ``code`` is the terminal's error code."""


class KioskClient:
    """Talks to one terminal's kiosk API at ``url`` (e.g. ``RunningTerminal.url``)."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read().decode("utf-8") or "{}")
            raise KioskRefused(
                answer.get("message_en", f"HTTP {error.code}"),
                code=answer.get("code", "terminal_error"),
            ) from error

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/api/state")
        return result

    def wait_for(self, *states: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """Long-poll until the terminal shows one of ``states``; the view at that moment."""
        deadline = time.monotonic() + timeout_s
        view = self.state()
        while view["state"] not in states:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"terminal stayed in {view['state']!r}, wanted {states}")
            view = self._call(
                "GET", f"/api/state?after={view['version']}&wait={min(remaining, 5.0):.2f}"
            )
        return view

    def post(self, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/api/{action}", body or {})
        return result

    def enter_pin(self, pin: str) -> dict[str, Any]:
        return self.post("pin", {"pin": pin})

    def review(self, choices: dict[str, list[str]]) -> dict[str, Any]:
        return self.post("review", {"choices": choices})

    def vote(self, choices: dict[str, list[str]], *, challenge_first: bool = False) -> str:
        """From the ballot screen to a printed receipt; returns the tracking code (hex).

        With ``challenge_first`` the first encryption is challenged (spoiled and
        printed) and the voter votes again with the same choices.
        """
        self.wait_for("ballot")
        if challenge_first:
            self.review(choices)
            self.post("confirm")
            self.wait_for("tracking")
            self.post("challenge")
            self.post("vote-again")
            self.wait_for("ballot")
        self.review(choices)
        self.post("confirm")
        self.wait_for("tracking")
        view = self.post("cast")
        if view["state"] != "receipt":
            view = self.wait_for("receipt")
        return str(view["printed"]["tracking_code"])
