"""Giving up an unused authorization so that its voter is never locked out.

A session that ends before Cast for a reason that is not the voter's (Cancel,
card pulled, idle timeout, lost check-in answer, a restart) leaves the voter
checked in (or their desk's QR pass redeemed). The booth journals a fresh
release key before each check-in or redemption (``hold``); when the session
ends without a cast it gives the authorization up (``give_up``), and this
module's thread voids it at the intake and then releases the check-in (or the
pass) at the inquiry with the signed void (docs/server.md, "No voter locked
out"). The voter can then check in again at this station (or scan the pass
again).

Safety: an authorization a journaled cast carries is never voided (the cast
forgets its release in the same journal commit, and ``Journal.cast_spends`` is
checked again before voiding), and the server itself lets a void and a cast of
one authorization race on one primary key. An authorization whose check-in was
refused outright was never issued: its release is dropped, not voided, so voids
count only authorizations that may exist.
"""

from __future__ import annotations

import logging
import os
import threading

from crypto.canonical import canonical_json, parse_json
from evote import protocol
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from terminal.journal import Journal, PendingRelease

LOG = logging.getLogger(__name__)


class Releaser:
    """The releases of one terminal, and the thread that carries them out."""

    def __init__(
        self,
        journal: Journal,
        client: BallotServerClient,
        station_id: str,
        retry_s: float = 2.0,
    ) -> None:
        self.journal = journal
        self.client = client
        self.station_id = station_id
        self.retry_s = retry_s
        self.last_error: str | None = None
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the booth's side ------------------------------------------------------------

    def hold(self, national_code: str = "", pass_id: str | None = None) -> tuple[bytes, str]:
        """A fresh release key for a check-in (of ``national_code``) or a redemption (of
        the QR pass ``pass_id``) about to be sent, journaled first (a crash after sending
        must still be able to void what the answer carried)."""
        release_key = os.urandom(protocol.RELEASE_KEY_BYTES)
        authorization_id, _ = protocol.release_derivation(release_key, self.client.terminal_id)
        with self._lock:
            self._in_flight.add(authorization_id)
        self.journal.hold_release(authorization_id, national_code, release_key, pass_id)
        return release_key, authorization_id

    def settled(self, authorization_id: str, *, issued: bool) -> None:
        """The check-in's answer came (``issued``: an authorization, or no answer at all,
        so perhaps one), or a refusal (none was issued: nothing to void)."""
        if not issued:
            self.journal.forget_release(authorization_id)
        with self._lock:
            self._in_flight.discard(authorization_id)
        self._wake.set()

    def give_up(self, authorization_id: str, reason: str) -> None:
        """The session ended without a cast: void and release (once the check-in settled)."""
        self.journal.give_up_release(authorization_id, reason)
        self._wake.set()

    # --- the thread ------------------------------------------------------------------

    def start(self) -> None:
        """Give up what a restart ended, then work through the releases."""
        self.journal.give_up_all_releases("terminal_restart")
        self._thread = threading.Thread(target=self._run, name="releases", daemon=True)
        self._thread.start()

    def ensure_running(self) -> None:
        if not self._stop.is_set() and self._thread is not None and not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="releases", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                done = self.release_pending()
            except Exception as error:  # supervised: a bug must not strand voters for good
                LOG.exception("releases failed; trying again")
                self.last_error = f"release_error: {type(error).__name__}"
                done = False
            self._wake.wait(None if done else self.retry_s)

    def release_pending(self) -> bool:
        """Void and release every given-up authorization whose check-in has settled;
        False if the server could not be reached (try again later)."""
        for pending in self.journal.pending_releases():
            with self._lock:
                if pending.authorization_id in self._in_flight:
                    continue
            try:
                self._release(pending)
            except ServerUnreachable as error:
                self.last_error = error.kind
                return False
        self.last_error = None
        return True

    def _release(self, pending: PendingRelease) -> None:
        authorization_id = pending.authorization_id
        if self.journal.cast_spends(authorization_id):
            self.journal.forget_release(authorization_id)
            return
        void_text = pending.void
        if void_text is None:
            try:
                answer = self.client.void(self.station_id, authorization_id, pending.reason)
            except ServerRefused as refusal:  # spent by a ballot, or not ours to void
                LOG.warning("void of %s refused: %s", authorization_id, refusal.code)
                self.journal.forget_release(authorization_id)
                return
            void_text = canonical_json(answer["void"]).decode("utf-8")
            self.journal.store_void(authorization_id, void_text)
        void = parse_json(void_text)
        try:
            if pending.pass_id is not None:
                self.client.release_pass(pending.pass_id, pending.release_key, void)
            else:
                self.client.release(pending.national_code, pending.release_key, void)
        except ServerRefused as refusal:
            LOG.warning("release of %s refused: %s", authorization_id, refusal.code)
        self.journal.forget_release(authorization_id)
