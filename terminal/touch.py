"""``evote terminal touch``: what a finger on the kiosk does, from a shell.

For a terminal without a touchscreen at hand (a rehearsal, the README's
walkthrough, a technician checking a booth over SSH). Each action waits for
the screen it belongs to, sends exactly what the kiosk page sends (through
``KioskClient``), and prints the screen it leads to; a refusal or a failed
officials' action exits non-zero with the reason.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Callable
from typing import Any

from terminal.errors import TerminalError
from terminal.kiosk_client import KioskClient
from terminal.officials import ACTION_DONE

View = dict[str, Any]


class TouchFailed(TerminalError):
    """The kiosk did not get to where the action leads; the message says what it shows."""


def reachable(kiosk: KioskClient, timeout_s: float) -> View:
    """The current view, retrying while the terminal is still starting."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return kiosk.state()
        except (urllib.error.URLError, ConnectionError) as error:
            if time.monotonic() >= deadline:
                raise TouchFailed(f"no kiosk at {kiosk.url}: {error}", code="no_kiosk") from error
            time.sleep(0.2)


def describe(view: View) -> str:
    """One line: the screen and, if any, the notice in English."""
    notice = view.get("notice")
    line = str(view["state"])
    if notice:
        line += f" — {notice['code']}: {notice['en']}"
    if view.get("tracking"):
        line += f" — tracking code {view['tracking']['code']}"
    return line


def parse_choices(words: list[str]) -> dict[str, list[str]]:
    """``majlis=1101,1104 experts=2203`` → ``{"majlis": ["1101", "1104"], ...}``."""
    choices: dict[str, list[str]] = {}
    for word in words:
        contest, _, selections = word.partition("=")
        if not contest:
            raise TouchFailed(f"expected CONTEST=ID[,ID…], got {word!r}", code="bad_choices")
        choices[contest] = [item for item in selections.split(",") if item]
    return choices


def touch(kiosk: KioskClient, action: str, arguments: list[str], timeout_s: float) -> View:
    """Run one action; the view it leads to."""
    reachable(kiosk, timeout_s)
    steps: dict[str, Callable[[], View]] = {
        "wait": lambda: kiosk.wait_for(*arguments, timeout_s=timeout_s),
        "pin": lambda: _on("pin", kiosk, timeout_s, lambda: kiosk.enter_pin(arguments[0])),
        "vote": lambda: _vote(kiosk, parse_choices(arguments), timeout_s),
        "cast": lambda: _cast(kiosk, timeout_s),
        "challenge": lambda: _on("tracking", kiosk, timeout_s, lambda: kiosk.post("challenge")),
        "vote-again": lambda: _on("challenged", kiosk, timeout_s, lambda: kiosk.post("vote-again")),
        "finish": lambda: kiosk.post("dismiss"),
        "cancel": lambda: kiosk.post("cancel"),
    }
    for name in ACTION_DONE:
        steps[name] = _officials_step(kiosk, name, timeout_s)
    if action not in steps:
        known = ", ".join(sorted(steps))
        raise TouchFailed(f"unknown action {action!r}; known: {known}", code="unknown_action")
    if action in {"wait", "pin"} and not arguments:
        raise TouchFailed(f"{action} needs an argument", code="missing_argument")
    return steps[action]()


def _on(state: str, kiosk: KioskClient, timeout_s: float, send: Callable[[], View]) -> View:
    kiosk.wait_for(state, timeout_s=timeout_s)
    return send()


def _vote(kiosk: KioskClient, choices: dict[str, list[str]], timeout_s: float) -> View:
    kiosk.wait_for("ballot", timeout_s=timeout_s)
    kiosk.review(choices)
    kiosk.post("confirm")
    return kiosk.wait_for("tracking", timeout_s=timeout_s)


def _cast(kiosk: KioskClient, timeout_s: float) -> View:
    view = _on("tracking", kiosk, timeout_s, lambda: kiosk.post("cast"))
    if view["state"] != "receipt":
        view = kiosk.wait_for("receipt", timeout_s=timeout_s)
    return view


def _officials_step(kiosk: KioskClient, action: str, timeout_s: float) -> Callable[[], View]:
    return lambda: _officials(kiosk, action, timeout_s)


def _officials(kiosk: KioskClient, action: str, timeout_s: float) -> View:
    view = _on("officials", kiosk, timeout_s, lambda: kiosk.post(f"officials/{action}"))
    notice = view.get("notice") or {}
    if notice.get("code") != ACTION_DONE[action]:
        raise TouchFailed(f"{action} failed: {describe(view)}", code="officials_action_failed")
    return view
