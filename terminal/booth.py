"""The booth: one voter (or official) at a time, from card to receipt.

``Booth`` owns the session state machine and drives the devices and the
server through it. Device events (card in/out, a scanned pass) arrive on the
device threads; voter actions arrive from the kiosk's HTTP calls; slow steps
(inquiry, waiting for the encryption) run on a worker thread. Lock order is
always reader lock, then session lock, so a pulled card and a Cast press can
never both win: whichever takes the session lock first decides.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crypto.canonical import parse_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope
from evote import provisional, release_escrow
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from evote.digits import ascii_digits
from evote.manifest import Station
from evote.protocol import (
    CHALLENGE_BYTES,
    MAX_DECLARED_REJECTED,
    JournalDeclaration,
    RejectedBallot,
)
from evote.provisional import ProvisionalError, read_grant
from terminal.ballot import Choices, PreparedBallot, prepare_ballot, validate_choices
from terminal.config import TerminalConfig
from terminal.devices.card_reader import CardReader
from terminal.devices.errors import (
    CardRemoved,
    DeviceError,
    NoCard,
    PinBlocked,
    WrongPin,
)
from terminal.devices.holder import CardHolder
from terminal.devices.printer import Printer
from terminal.devices.receipt import ReceiptDocument
from terminal.errors import IllegalTransition, TerminalError
from terminal.journal import Journal
from terminal.notices import Notice
from terminal.offline_roll import OfflineRefused
from terminal.offline_station import LinkMode, OfflineStation
from terminal.recovery import recover_check_in
from terminal.releases import Releaser
from terminal.server_link import Election
from terminal.session import CANCELLABLE, FINISHED, Event, Session, State
from terminal.uplink import Uplink

LOG = logging.getLogger(__name__)
POLLS_META_KEY = "polls_state"
POLL_REFUSALS = {"not_opened": "polls_not_open", "paused": "polls_paused", "closed": "polls_closed"}


def _pass_id(envelope: SignedEnvelope | None) -> str | None:
    """The id a scanned QR pass names (its release will name it), if it names one; the
    inquiry checks the rest."""
    payload = envelope.payload if envelope is not None else None
    pass_id = payload.get("pass_id") if isinstance(payload, dict) else None
    if isinstance(pass_id, str) and pass_id.isalnum() and len(pass_id) <= 32:
        return pass_id
    return None


@dataclass
class SessionData:
    """What belongs to the current voter or official; reset when a session starts."""

    role: str = ""
    holder: CardHolder | None = None
    tries_left: int | None = None
    notice: Notice | None = None
    authorization: dict[str, Any] | None = None
    ballot_style_id: str = ""
    choices: Choices | None = None
    pending: Future[PreparedBallot] | None = None
    prepared: PreparedBallot | None = None
    printed: dict[str, Any] | None = None
    last_activity: float = 0.0
    release_id: str | None = None  # the authorization this session would give up


class Booth:
    """The voting flow of one terminal."""

    def __init__(
        self,
        config: TerminalConfig,
        election: Election,
        station: Station,
        client: BallotServerClient,
        journal: Journal,
        reader: CardReader,
        printer: Printer,
    ) -> None:
        self.config = config
        self.election = election
        self.station = station
        self.client = client
        self.journal = journal
        self.reader = reader
        self.printer = printer
        self.session = Session()
        self.data = SessionData()
        self.reader_lock = threading.RLock()
        self.printer_lock = threading.Lock()
        self.polls_state = journal.get_meta(POLLS_META_KEY) or "not_opened"
        # The station's latest closing report lacks the officials' countersignature (the
        # server says so in every status answer after close): "countersign again".
        self.countersign_needed = False
        # Called with the next status answer (``on_next_status``): what became of an
        # officials' request whose answer was lost.
        self._status_waiter: Callable[[dict[str, Any]], None] | None = None
        self.uplink: Uplink | None = None
        self.offline: OfflineStation | None = None
        self.releases = Releaser(journal, client, station.station_id)
        self.printing_held = False
        # A card is in the reader (between its insert and remove notifications). Kept
        # apart from the session: a finished screen waits for the card to leave.
        self.card_in = False
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="session")
        self._encryptor = ThreadPoolExecutor(1, thread_name_prefix="encrypt")

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._encryptor.shutdown(wait=True, cancel_futures=True)

    # --- state helpers -------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.session.state

    def fire(self, event: Event, **changes: Any) -> State:
        """Take the session edge for ``event`` and set ``changes`` on the data atomically."""

        def apply() -> None:
            for name, value in changes.items():
                setattr(self.data, name, value)
            self.data.last_activity = time.monotonic()

        return self.session.fire(event, apply)

    def _fire_if_possible(self, event: Event, **changes: Any) -> bool:
        """For events that may lose a race (card pulled meanwhile): drop them quietly."""
        with self.session.lock:
            if not self.session.can(event):
                return False
            self.fire(event, **changes)
            return True

    def _require(self, *states: State) -> None:
        if self.state not in states:
            raise IllegalTransition(self.state.value, f"request in {self.state.value}")

    def refuse(self, notice: Notice) -> None:
        self._give_up("answer_lost" if notice.code == "server_unreachable" else "error")
        self._fire_if_possible(Event.REFUSED, notice=notice)

    def cancel(self, code: str = "cancelled", reason: str = "cancelled") -> None:
        """End a session before Cast: nothing is journaled, and the authorization (if the
        check-in gave one) is voided so that the voter can check in again."""
        self._give_up(reason)
        self._fire_if_possible(Event.CANCEL, notice=Notice.of(code), pending=None, prepared=None)

    @property
    def offline_mode(self) -> bool:
        """Voters are checked in against the station's roll snapshot (docs/offline.md)."""
        return self.offline is not None and self.offline.mode is LinkMode.OFFLINE

    def on_link_change(self) -> None:
        """The uplink's link state changed: leave offline mode once the link is back."""
        if self.offline is not None and self.uplink is not None and self.uplink.online:
            self.offline.link_restored()
        self.session.touch()

    def _give_up(self, reason: str) -> None:
        """The session ends without a cast: hand its authorization to the releases
        (a no-op once a cast spent it or a refusal showed none was issued)."""
        release_id = self.data.release_id
        if release_id is not None:
            self.releases.give_up(release_id, reason)

    def set_polls_state(self, polls_state: str) -> None:
        if polls_state != self.polls_state:
            self.polls_state = polls_state
            self.journal.set_meta(POLLS_META_KEY, polls_state)
            self.session.touch()

    def set_countersign_needed(self, needed: bool) -> None:
        if needed != self.countersign_needed:
            self.countersign_needed = needed
            self.session.touch()

    def journal_declaration(self) -> JournalDeclaration:
        """This terminal's journal as it declares it to the server (head, waiting, refused,
        voters checked in offline)."""
        counts = self.journal.counts()
        rejected = tuple(
            RejectedBallot(entry.sequence, entry.tracking_code, entry.code)
            for entry in self.journal.rejected()[:MAX_DECLARED_REJECTED]
        )
        offline = 0 if self.offline is None else self.offline.checked_in_count()
        return JournalDeclaration(
            self.journal.head(), counts.waiting, rejected, offline_check_ins=offline
        )

    def refresh_polls(self) -> None:
        """Ask the server for the station's poll state (another terminal may have opened),
        declaring this terminal's journal head on the way (signed; ``docs/server.md``).
        A waiter (``on_next_status``) gets the answer of a request sent after it came."""
        with self.session.lock:
            waiter = self._status_waiter
        try:
            answer = self.client.status(self.journal_declaration())
        except ServerUnreachable as error:
            if self.uplink is not None:
                self.uplink.note_contact(error.kind)
            return
        except ServerRefused:
            return
        if self.uplink is not None:
            self.uplink.note_contact(None)
        self.set_polls_state(str(answer.get("poll_state", self.polls_state)))
        self.set_countersign_needed(answer.get("countersigned") is False)
        if waiter is not None:
            with self.session.lock:
                if self._status_waiter is waiter:
                    self._status_waiter = None
            waiter(answer)

    def on_next_status(self, waiter: Callable[[dict[str, Any]], None]) -> None:
        """Hand the next status answer the server gives to ``waiter`` (once)."""
        with self.session.lock:
            self._status_waiter = waiter

    # --- card and pass -------------------------------------------------------------

    def on_card_inserted(self) -> None:
        with self.reader_lock:
            with self.session.lock:
                self.card_in = True
                self.session.touch()
                if self.state is not State.IDLE:
                    return
                self.fire(Event.CARD_INSERTED, **vars(SessionData()))
            try:
                self.reader.power_on()
                holder = self.reader.read_holder()
                tries_left = self.reader.pin_tries_left()
            except DeviceError as error:
                self._card_failed(error)
                return
        refusal = self._card_refusal(holder, tries_left)
        if refusal is not None:
            self.refuse(refusal)
            return
        self._fire_if_possible(
            Event.HOLDER_READ, holder=holder, role=holder.role, tries_left=tries_left
        )

    def _card_refusal(self, holder: CardHolder, tries_left: int) -> Notice | None:
        if tries_left == 0:
            return Notice.of("pin_blocked")
        if holder.role == "official":
            if holder.station_id != self.station.station_id:
                return Notice.of("wrong_station")
            return None
        if holder.role != "voter":
            return Notice.of("not_a_voter_card")
        if self.polls_state != "open":
            self.refresh_polls()
        if self.polls_state != "open":
            return Notice.of(POLL_REFUSALS.get(self.polls_state, "polls_not_open_refusal"))
        return None

    def on_card_removed(self) -> None:
        with self.session.lock:
            self.card_in = False
            self.session.touch()
            if self.state in CANCELLABLE and self.data.role != "pass":
                self.cancel(reason="card_removed")
            elif self.state in FINISHED and self.data.role != "pass":
                self.fire(Event.DISMISS)

    def on_pass_scanned(self, payload: str) -> None:
        """A one-time pass from the check-in desk: canonical JSON of its signed envelope."""
        with self.session.lock:
            if self.state is not State.IDLE:
                return
            self.fire(Event.PASS_SCANNED, **vars(SessionData(role="pass")))
        try:
            envelope: SignedEnvelope | None = SignedEnvelope.from_json(parse_json(payload))
        except CryptoError:
            envelope = None
        pass_id = _pass_id(envelope)
        if envelope is None or pass_id is None:
            self.refuse(Notice.of("invalid_pass"))
            return
        qr_pass = envelope.to_json()
        if self.polls_state != "open":
            self.refresh_polls()
        if self.polls_state != "open":
            self.refuse(Notice.of(POLL_REFUSALS.get(self.polls_state, "polls_not_open_refusal")))
            return
        self._worker.submit(
            self._inquire,
            lambda: self._holding_release(
                lambda key: self.client.redeem_pass(qr_pass, key), pass_id=pass_id
            ),
        )

    # --- PIN and inquiry -----------------------------------------------------------

    def enter_pin(self, pin: str) -> None:
        """Present the PIN once. A wrong PIN is shown with the tries left; never retried."""
        pin = ascii_digits(pin)
        if not re.fullmatch(r"[0-9]{4,8}", pin):
            raise TerminalError("a PIN is 4 to 8 digits", code="invalid_pin")
        with self.reader_lock:
            self._require(State.PIN)
            try:
                self.reader.verify_pin(pin)
            except WrongPin as error:
                self.fire(Event.PIN_WRONG, tries_left=error.tries_left)
                return
            except PinBlocked:
                self.refuse(Notice.of("pin_blocked"))
                return
            except DeviceError as error:
                self._card_failed(error)
                return
            with self.session.lock:
                self.fire(Event.PIN_OK, tries_left=None)
                if self.data.role == "official":
                    self.fire(Event.OFFICIAL_AUTHORIZED)
                    return
        self._worker.submit(self._inquire, self._check_in_with_card)

    def _card_failed(self, error: DeviceError) -> None:
        """A card pulled out cancels the session; any other device failure refuses it."""
        if isinstance(error, CardRemoved | NoCard):
            self.cancel(reason="card_removed")
        else:
            self.refuse(Notice.of(error.code))

    def card_answer(self, challenge: dict[str, Any]) -> bytes:
        """INTERNAL AUTHENTICATE over a server challenge (voter check-in or poll action).
        Only a challenge's length: the card signs other messages too, and a server must
        not obtain one of those (``evote/release_escrow.py``)."""
        data = bytes.fromhex(str(challenge["challenge"]))
        if len(data) != CHALLENGE_BYTES:
            raise TerminalError("the server's challenge is not 32 bytes")
        return self.authenticate(data)

    def authenticate(self, challenge: bytes) -> bytes:
        """INTERNAL AUTHENTICATE on the card in the reader (after its PIN)."""
        with self.reader_lock:
            return self.reader.authenticate(challenge)

    def _check_in_with_card(self) -> dict[str, Any]:
        holder = self.data.holder
        if holder is None:
            raise TerminalError("no card holder in this session")
        if self.offline is not None and self.offline_mode:
            return {"authorization": self.offline.check_in(holder, self.authenticate).to_json()}
        escrow_signature = functools.cache(
            lambda: self.authenticate(release_escrow.card_message(self.election.election_id))
        )
        try:
            return self._check_in_online(holder, escrow_signature)
        except ServerRefused as refusal:
            station_id = self.station.station_id
            if not recover_check_in(
                self.client, station_id, holder.national_code, refusal, escrow_signature
            ):
                raise
        return self._check_in_online(holder, escrow_signature)

    def _check_in_online(
        self, holder: CardHolder, escrow_signature: Callable[[], bytes]
    ) -> dict[str, Any]:
        """One check-in at the inquiry, its release key journaled and sealed for the card."""
        challenge = self.client.inquiry_challenge()
        signature = self.card_answer(challenge)
        return self._holding_release(
            lambda release_key: self.client.check_in(
                holder.certificate.to_json(),
                signature,
                str(challenge["challenge_id"]),
                release_key=release_key,
                release_escrow=release_escrow.seal(
                    escrow_signature(), release_key, self.client.terminal_id
                ),
            ),
            national_code=holder.national_code,
        )

    def _holding_release(
        self,
        ask: Callable[[bytes], dict[str, Any]],
        *,
        national_code: str = "",
        pass_id: str | None = None,
    ) -> dict[str, Any]:
        """Send a check-in or a pass redemption with a fresh release key, journaled first,
        so that the authorization it yields can be voided and released if this session
        ends without a cast (docs/server.md, "No voter locked out")."""
        release_key, release_id = self.releases.hold(national_code, pass_id)
        with self.session.lock:
            self.data.release_id = release_id
        try:
            answer = ask(release_key)
        except ServerRefused:
            self.releases.settled(release_id, issued=False)
            raise
        except BaseException:  # no usable answer: an authorization may have been issued
            self.releases.settled(release_id, issued=True)
            raise
        self.releases.settled(release_id, issued=True)
        return answer

    def _inquire(self, ask: Callable[[], dict[str, Any]]) -> None:
        try:
            answer = ask()
            authorization = SignedEnvelope.from_json(answer["authorization"])
            payload = self._authorization_payload(authorization)
        except ServerRefused as error:
            self.refuse(Notice.from_refusal(error))
            return
        except OfflineRefused as error:
            self.refuse(Notice.refusal(error.code))
            return
        except ServerUnreachable:
            self.refuse(Notice.of("server_unreachable"))
            return
        except DeviceError as error:
            self._card_failed(error)
            return
        except (CryptoError, ProvisionalError, KeyError, TypeError):
            self.refuse(Notice.of("authorization_invalid"))
            return
        except Exception:  # on the worker thread a raise would vanish and strand the voter
            LOG.exception("inquiry failed unexpectedly")
            self.refuse(Notice.of("terminal_error"))
            return
        style = str(payload.get("ballot_style_id", ""))
        if style != self.station.ballot_style_id:
            self.refuse(Notice.of("authorization_invalid"))
            return
        authorized = self._fire_if_possible(
            Event.AUTHORIZED, authorization=authorization.to_json(), ballot_style_id=style
        )
        if not authorized:  # the session ended while the answer was on its way
            self.releases.give_up(str(payload.get("authorization_id", "")), "cancelled")

    def _authorization_payload(self, authorization: SignedEnvelope) -> dict[str, Any]:
        """The inquiry's authorization, or in offline mode this terminal's own
        provisional one (``evote/provisional.py``)."""
        if authorization.kind == provisional.KIND:
            grant, _ = read_grant(authorization, self.config.signing_key.public_key)
            return vars(grant)
        payload = authorization.verify("authorization", self.election.inquiry_key)
        if not isinstance(payload, dict):
            raise TypeError("authorization payload")
        return payload

    # --- ballot, review, encryption --------------------------------------------------

    def review(self, raw_choices: object) -> None:
        """Show the review screen and start encrypting at once, so Cast is fast."""
        with self.session.lock:
            self._require(State.BALLOT)
            choices = validate_choices(
                self.election.manifest, self.data.ballot_style_id, raw_choices
            )
            previous = self.journal.head()[1]
            pending = self._encryptor.submit(
                prepare_ballot,
                self.election.context,
                self.election.manifest,
                self.data.ballot_style_id,
                choices,
                previous,
            )
            self.fire(Event.REVIEW, choices=choices, pending=pending, prepared=None)

    def edit(self) -> None:
        self.fire(Event.EDIT, pending=None, prepared=None)

    def confirm(self) -> None:
        """Reviewed: show the tracking code as soon as the encryption is done."""
        with self.session.lock:
            pending = self.data.pending
            if pending is None:
                raise IllegalTransition(self.state.value, Event.CONFIRM.value)
            self.fire(Event.CONFIRM)
            if pending.done():
                self._encrypted(pending)
                return
        pending.add_done_callback(self._encrypted)

    def _encrypted(self, pending: Future[PreparedBallot]) -> None:
        with self.session.lock:
            if self.data.pending is not pending or self.state is not State.ENCRYPTING:
                return
            error = pending.exception()
            if error is not None:
                self.refuse(Notice.of(getattr(error, "code", "terminal_error")))
                return
            self.fire(Event.ENCRYPTED, prepared=pending.result())

    # --- printing and the end of a session ------------------------------------------

    def print_document(self, document: ReceiptDocument) -> str | None:
        """Print; a printer fault is reported (the driver keeps the job), never fatal."""
        with self.printer_lock:
            try:
                self.printer.print_receipt(document)
            except DeviceError as error:
                self.printing_held = True
                return error.code
        return None

    def retry_printing(self) -> None:
        """Finish held receipts once the fault is cleared (paper loaded, cover closed)."""
        if not self.printing_held:
            return
        with self.printer_lock:
            try:
                self.printer.resume()
            except DeviceError:
                return
            self.printing_held = False

    def vote_again(self) -> None:
        self.fire(Event.VOTE_AGAIN, pending=None, prepared=None, printed=None)

    def dismiss(self) -> None:
        self.fire(Event.DISMISS)

    # --- timeouts ------------------------------------------------------------------

    def check_timeouts(self) -> None:
        """Called periodically: an abandoned session is cancelled, a finished one cleared."""
        self.retry_printing()
        with self.session.lock:
            idle_s = time.monotonic() - self.data.last_activity
            if self.state in CANCELLABLE and idle_s > self.config.session_timeout_s:
                self.cancel("timeout", reason="timeout")
            elif (
                self.state is State.OFFICIALS
                and idle_s > self.config.session_timeout_s
                or (
                    self.state in FINISHED - {State.OFFICIALS}
                    and idle_s > self.config.finished_timeout_s
                    and not self.card_in  # "take your card" stays until the card is out
                )
            ):
                self.fire(Event.DISMISS)

    def note_activity(self) -> None:
        with self.session.lock:
            self.data.last_activity = time.monotonic()

    def seconds_left(self) -> float | None:
        """Until an idle session is cancelled (the kiosk counts down the last of it)."""
        if self.state not in CANCELLABLE:
            return None
        idle_s = time.monotonic() - self.data.last_activity
        return max(0.0, self.config.session_timeout_s - idle_s)
