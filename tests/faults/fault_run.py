"""Polling day under faults: voters at every booth while the link and the processes fail.

One thread per booth takes voters through its kiosk (card, PIN, ballot, now
and then a Benaloh challenge first, cast) and SIGKILLs its own terminal right
after a cast from time to time (the ballot is journaled and printed, its
delivery in flight), restarting it from its journal. A fault thread injects
link faults (reset, stall, drop the answer after the server acted, cut the
answer short) and SIGKILLs the whole gunicorn server mid-cast, restarting it.
A voter turned away by a fault (``server_unreachable``) comes back later.

Everything observed is counted in ``Figures``; the test asserts on the
outcome (nothing lost, nothing doubled, the record verifies) and writes the
figures for ``docs/reliability.md``. Times are measured, never asserted.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from fault_station import STATION_ID, FaultStation, TerminalProcess

from evote import protocol
from evote.cli.demo_plan import random_choices
from evote.sample import Person
from terminal.kiosk_client import KioskClient

LINK_FAULTS = ("reset", "stall", "drop_answer", "cut_short")
PROCESS_FAULTS = ("server_kill", "terminal_kill")
BALLOT_PATHS = "/api/v1/ballots/"
RETRY_AFTER_S = 1.0
COME_BACK_S = 60.0  # a come-back voter's last try is this long after the first
TERMINAL_KILL_EVERY = 12  # ballots of one booth between SIGKILLs of its terminal


@dataclass
class Figures:
    """What one run saw; written to ``test-artifacts/faults/figures.json``."""

    receipted: list[tuple[str, str]] = field(default_factory=list)  # (terminal, tracking code)
    challenged: int = 0
    killed_with_ballots_waiting: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    turned_away: set[str] = field(default_factory=set)
    voted_after_turned_away: set[str] = field(default_factory=set)
    locked_out: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    recovery_s: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "ballots_receipted": len(self.receipted),
            "challenged": self.challenged,
            "faults": dict(sorted(self.faults.items())),
            "terminal_kills_with_ballots_waiting": self.killed_with_ballots_waiting,
            "voters_turned_away_by_a_fault": len(self.turned_away),
            "voted_afterwards": len(self.voted_after_turned_away),
            "still_refused_already_voted_at_the_last_try": len(self.locked_out),
            "recovery_s": {
                kind: {
                    "n": len(times),
                    "median": round(statistics.median(times), 2),
                    "max": round(max(times), 2),
                }
                for kind, times in sorted(self.recovery_s.items())
                if times
            },
            "seconds": round(self.seconds, 1),
        }


class FaultRun:
    """Drive ``station`` until ``ballots`` are receipted and ``faults_each`` of every fault
    kind happened, or for ``duration_s`` when given (the soak)."""

    def __init__(
        self,
        station: FaultStation,
        *,
        ballots: int,
        faults_each: int,
        duration_s: float | None = None,
        seed: int = 11,
    ) -> None:
        self.station = station
        self.ballots = ballots
        self.faults_each = faults_each
        self.duration_s = duration_s
        self.rng = random.Random(seed)
        self.figures = Figures()
        self.kiosks: dict[str, KioskClient] = {}
        self.voters: deque[Person] = deque(station.eligible_voters())
        self.comebacks: deque[Person] = deque()  # turned away by a fault, coming back
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # an error: everyone stops
        self.faults_over = threading.Event()  # enough of everything: come-backs only
        self.errors: list[str] = []
        self.started = 0.0
        self.style_id = station.manifest.station(STATION_ID).ballot_style_id
        self.lanes_running = 0

    # --- the run ---------------------------------------------------------------------

    def run(self) -> Figures:
        self.started = time.monotonic()
        for booth in self.station.terminals:
            self.kiosks[booth.terminal_id] = booth.start()
        first = self.station.terminals[0]
        self.station.official_action(first, self.kiosks[first.terminal_id], "open")
        threads = [
            threading.Thread(target=self._lane, args=(booth,), name=booth.terminal_id)
            for booth in self.station.terminals
        ]
        self.lanes_running = len(threads)
        threads.append(threading.Thread(target=self._faults, name="faults"))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.errors:
            raise AssertionError("; ".join(self.errors))
        self.station.link.clear_faults()
        self._come_back()
        self._drain()
        self.figures.seconds = time.monotonic() - self.started
        return self.figures

    def _come_back(self) -> None:
        """Every voter a fault turned away who has not voted yet comes back, and tries
        again while a fault or their earlier check-in, not yet released, refuses them
        (the terminal voids and releases it within seconds once the link is up)."""
        booth = self.station.terminals[0]
        with self.lock:
            waiting = [
                voter
                for voter in self.station.eligible_voters()
                if voter.national_code in self.figures.turned_away
                and voter.national_code not in self.figures.voted_after_turned_away
            ]
        for voter in waiting:
            deadline = time.monotonic() + COME_BACK_S
            while not self._visit(booth, voter, last_try=time.monotonic() > deadline):
                if time.monotonic() > deadline:
                    break

    def _done(self) -> bool:
        if self.duration_s is not None:
            return time.monotonic() - self.started > self.duration_s
        with self.lock:
            enough_ballots = len(self.figures.receipted) >= self.ballots
            enough_faults = all(
                self.figures.faults[kind] >= self.faults_each
                for kind in (*LINK_FAULTS, *PROCESS_FAULTS)
            )
        return enough_ballots and enough_faults

    def _drain(self, timeout_s: float = 120.0) -> None:
        """Wait until every booth has delivered its journal (status endpoint)."""
        deadline = time.monotonic() + timeout_s
        for booth in self.station.terminals:
            while True:
                status = booth.status()
                if status["waiting"] == 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{booth.terminal_id} never delivered: {status}")
                time.sleep(0.2)

    # --- voters ----------------------------------------------------------------------

    def _next_voter(self) -> Person | None:
        """A new voter, or one a fault turned away; once the faults are over, only the
        latter (so every booth helps them vote, and the lanes then end)."""
        faults_over = self.faults_over.is_set()
        with self.lock:
            if self.comebacks and (faults_over or not self.voters or self.rng.random() < 0.5):
                return self.comebacks.popleft()
            if self.voters and not faults_over:
                return self.voters.popleft()
            return None

    def _lane(self, booth: TerminalProcess) -> None:
        try:
            cast_here = 0
            while not self.stopping.is_set():
                if self._done():
                    self.faults_over.set()
                voter = self._next_voter()
                if voter is None and self.faults_over.is_set():
                    break
                if voter is None:  # the roll is used up; someone turned away may come back
                    time.sleep(RETRY_AFTER_S)
                    continue
                kill = cast_here % TERMINAL_KILL_EVERY == TERMINAL_KILL_EVERY // 2
                if self._visit(booth, voter, kill_after_cast=kill):
                    cast_here += 1
        except Exception as error:  # reported by the main thread
            self.errors.append(f"{booth.terminal_id}: {type(error).__name__}: {error}")
            self.stopping.set()
        finally:
            with self.lock:
                self.lanes_running -= 1

    def _kiosk(self, booth: TerminalProcess) -> KioskClient:
        return self.kiosks[booth.terminal_id]

    def _visit(
        self,
        booth: TerminalProcess,
        voter: Person,
        *,
        last_try: bool = False,
        kill_after_cast: bool = False,
    ) -> bool:
        """One visit; True if the voter left with a receipt. ``kill_after_cast``: SIGKILL
        the terminal the moment the receipt is printed, its delivery perhaps in flight."""
        kiosk = self._kiosk(booth)
        kiosk.wait_for("idle")
        self.station.insert_card(booth, voter)
        view = kiosk.wait_for("pin", "refused")
        if view["state"] == "pin":
            kiosk.enter_pin(voter.pin)
            view = kiosk.wait_for("ballot", "refused", timeout_s=30)
        if view["state"] == "refused":
            # The card leaves this reader before the voter may queue for another booth:
            # one card cannot be in two readers (pulling it here would reset it there).
            self.station.remove_card(booth)
            kiosk.wait_for("idle")
            self._turned_away(voter, str(view["notice"]["code"]), last_try)
            return False
        challenge_first = self.rng.random() < 0.1
        choices = random_choices(self.station.manifest, self.style_id, self.rng)
        code = kiosk.vote(choices, challenge_first=challenge_first)
        if kill_after_cast:
            self._kill_terminal(booth)
        with self.lock:
            self.figures.receipted.append((booth.terminal_id, code))
            self.figures.challenged += challenge_first
            if voter.national_code in self.figures.turned_away:
                self.figures.voted_after_turned_away.add(voter.national_code)
        self.station.remove_card(booth)
        self._kiosk(booth).wait_for("idle")
        return True

    def _turned_away(self, voter: Person, code: str, last_try: bool) -> None:
        """A refusal. A fault (``server_unreachable``) turns the voter away; so does, for
        such a voter, ``already_voted`` while the check-in whose answer the fault lost is
        still being voided and released. Both come back; anything else is unexpected."""
        with self.lock:
            if code == "server_unreachable":
                self.figures.turned_away.add(voter.national_code)
            retry = code == "server_unreachable" or (
                code == "already_voted" and voter.national_code in self.figures.turned_away
            )
            if retry and not last_try:
                self.comebacks.append(voter)
            elif code == "already_voted" and retry:
                self.figures.locked_out.add(voter.national_code)
            else:
                self.figures.unexpected.append(f"{voter.national_code}: {code}")
        if not last_try:
            time.sleep(RETRY_AFTER_S)

    def _kill_terminal(self, booth: TerminalProcess) -> None:
        """SIGKILL right after a cast: the ballot is journaled, its delivery maybe in flight."""
        in_flight = booth.status()["waiting"]
        booth.kill()
        killed = time.monotonic()
        self.station.remove_card(booth)
        with self.lock:
            self.figures.faults["terminal_kill"] += 1
            self.figures.killed_with_ballots_waiting += bool(in_flight)
        self.kiosks[booth.terminal_id] = booth.start()
        self._record_recovery("terminal_kill", killed, [booth])

    # --- faults ----------------------------------------------------------------------

    def _faults(self) -> None:
        try:
            round_number = 0
            while not self.faults_over.is_set() and not self._done() and self.lanes_running:
                round_number += 1
                self._inject_link_faults(round_number)
                self._kill_server()
                self.faults_over.wait(0.5 + self.rng.random())
                self._pace(round_number)
            self.faults_over.set()
        except Exception as error:
            self.errors.append(f"faults: {type(error).__name__}: {error}")
            self.stopping.set()
            self.faults_over.set()

    def _pace(self, round_number: int) -> None:
        """In the bounded run, spread the rounds over the ballots: round ``n + 1`` waits
        for ``n`` rounds' share of them. Back-to-back rounds gave 65 faults of each kind
        where 14 are asked for, and each server restart turns voters away, so the run
        took minutes longer, all the longer the busier the machine. The soak does not
        wait: faults for as long as it runs."""
        if self.duration_s is not None:
            return
        share = self.ballots * round_number // self.faults_each
        while not self.faults_over.is_set() and not self.stopping.is_set():
            with self.lock:
                if len(self.figures.receipted) >= share:
                    return
            self.faults_over.wait(0.2)

    def _inject_link_faults(self, round_number: int) -> None:
        link = self.station.link
        before = Counter(link.applied)
        for kind in LINK_FAULTS:
            # Every other round at check-ins: an answer lost after the server checked the
            # voter in must end in a void and a release, and the voter voting after all.
            on_check_in = round_number % 2 == 0
            link.inject(kind, path_contains=protocol.PATH_CHECK_IN if on_check_in else BALLOT_PATHS)
        deadline = time.monotonic() + 10
        while link.pending_faults() and time.monotonic() < deadline and not self.stopping.is_set():
            time.sleep(0.05)
        applied = Counter(link.applied) - before
        with self.lock:
            self.figures.faults.update(applied)
        link.clear_faults()

    def _kill_server(self) -> None:
        self.station.server.kill()
        killed = time.monotonic()
        with self.lock:
            self.figures.faults["server_kill"] += 1
        time.sleep(0.2 + self.rng.random() * 0.5)
        self.station.restart_server()
        threading.Thread(
            target=self._record_recovery,
            args=("server_kill", killed, self.station.terminals),
            daemon=True,
        ).start()

    def _record_recovery(
        self, kind: str, since: float, booths: list[TerminalProcess], timeout_s: float = 60.0
    ) -> None:
        """Seconds from the fault until the booths have nothing waiting again."""
        deadline = since + timeout_s
        pending = list(booths)
        while pending and time.monotonic() < deadline:
            pending = [b for b in pending if not _settled(b)]
            if pending:
                time.sleep(0.1)
        if not pending:
            with self.lock:
                self.figures.recovery_s.setdefault(kind, []).append(time.monotonic() - since)


def _settled(booth: TerminalProcess) -> bool:
    try:
        status = booth.status()
    except OSError:
        return False
    return bool(status["online"]) and status["waiting"] == 0
