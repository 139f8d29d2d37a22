"""The check-in desk: a voter's card and PIN in, a one-time QR pass for a booth out.

A desk is a terminal HQ registered for the station (its own key, its own
reader and printer, the same drivers as a booth). The official hands the
voter's card to the desk's reader, the voter types the PIN, the card signs the
inquiry service's challenge, and the service checks the voter in exactly as a
booth would (roll, age, life, not voted, polls open) but answers with a signed
``qr-pass`` instead of an authorization. The desk prints it as a QR; any booth
of the station redeems it once (``Booth.on_pass_scanned``).

The desk's states are few and explicit (``DESK_TRANSITIONS``); a card pulled
at any point returns the desk to idle, and nothing about the voter is kept
once the pass is printed.
"""

from __future__ import annotations

import enum
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crypto.canonical import canonical_json
from crypto.errors import CryptoError
from crypto.signing import SignedEnvelope
from evote.client import BallotServerClient, ServerRefused, ServerUnreachable
from evote.digits import ascii_digits
from evote.manifest import Station
from terminal import printing
from terminal.devices.card_reader import CardReader
from terminal.devices.errors import CardRemoved, DeviceError, NoCard, PinBlocked, WrongPin
from terminal.devices.holder import CardHolder
from terminal.devices.printer import Printer
from terminal.errors import IllegalTransition, TerminalError
from terminal.notices import Notice
from terminal.server_link import Election

LOG = logging.getLogger(__name__)


class DeskState(enum.Enum):
    IDLE = "idle"
    READING_CARD = "reading_card"
    PIN = "pin"
    ISSUING = "issuing"
    ISSUED = "issued"
    REFUSED = "refused"


DESK_TRANSITIONS: dict[DeskState, frozenset[DeskState]] = {
    DeskState.IDLE: frozenset({DeskState.READING_CARD}),
    DeskState.READING_CARD: frozenset({DeskState.PIN, DeskState.REFUSED, DeskState.IDLE}),
    DeskState.PIN: frozenset({DeskState.PIN, DeskState.ISSUING, DeskState.REFUSED, DeskState.IDLE}),
    DeskState.ISSUING: frozenset({DeskState.ISSUED, DeskState.REFUSED, DeskState.IDLE}),
    DeskState.ISSUED: frozenset({DeskState.IDLE}),
    DeskState.REFUSED: frozenset({DeskState.IDLE}),
}


@dataclass
class DeskData:
    """What the desk shows now; reset when a card comes in."""

    holder: CardHolder | None = None
    tries_left: int | None = None
    notice: Notice | None = None
    pass_id: str | None = None
    expires_at: int | None = None
    card_in: bool = False


class Desk:
    """The check-in flow of one desk; thread-safe, long-pollable like the booth."""

    def __init__(
        self,
        election: Election,
        station: Station,
        terminal_id: str,
        client: BallotServerClient,
        reader: CardReader,
        printer: Printer,
    ) -> None:
        self.election = election
        self.station = station
        self.terminal_id = terminal_id
        self.client = client
        self.reader = reader
        self.printer = printer
        self.state = DeskState.IDLE
        self.data = DeskData()
        self.version = 0
        self.passes_issued = 0
        self.changed = threading.Condition(threading.RLock())
        self.reader_lock = threading.RLock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="desk")

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)

    # --- state ---------------------------------------------------------------------

    def move(self, target: DeskState, **changes: Any) -> None:
        """Take one edge of ``DESK_TRANSITIONS`` (or raise) and set ``changes`` with it."""
        with self.changed:
            if target not in DESK_TRANSITIONS[self.state]:
                raise IllegalTransition(self.state.value, target.value)
            self.state = target
            for name, value in changes.items():
                setattr(self.data, name, value)
            self.version += 1
            self.changed.notify_all()

    def _move_if(self, expected: DeskState, target: DeskState, **changes: Any) -> None:
        """For steps that can lose a race with a pulled card: apply only if still expected."""
        with self.changed:
            if self.state is expected:
                self.move(target, **changes)

    def wait_for_change(self, after_version: int, timeout_s: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.version != after_version, timeout=timeout_s)

    def _refuse(self, expected: DeskState, notice: Notice) -> None:
        self._move_if(expected, DeskState.REFUSED, notice=notice)

    # --- card ----------------------------------------------------------------------

    def on_card_inserted(self) -> None:
        with self.reader_lock:
            with self.changed:
                if self.state is not DeskState.IDLE:
                    return
                self.move(DeskState.READING_CARD, **vars(DeskData(card_in=True)))
            try:
                self.reader.power_on()
                holder = self.reader.read_holder()
                tries_left = self.reader.pin_tries_left()
            except DeviceError as error:
                self._device_failed(DeskState.READING_CARD, error)
                return
        if holder.role != "voter":
            self._refuse(DeskState.READING_CARD, Notice.of("not_a_voter_card"))
        elif tries_left == 0:
            self._refuse(DeskState.READING_CARD, Notice.of("pin_blocked"))
        else:
            self._move_if(
                DeskState.READING_CARD, DeskState.PIN, holder=holder, tries_left=tries_left
            )

    def on_card_removed(self) -> None:
        """The card out ends whatever was going on; the next voter starts from idle."""
        with self.changed:
            self.data.card_in = False
            if self.state is not DeskState.IDLE:
                self.move(DeskState.IDLE, holder=None, tries_left=None)
            else:
                self.version += 1
                self.changed.notify_all()

    def _device_failed(self, state: DeskState, error: DeviceError) -> None:
        if isinstance(error, CardRemoved | NoCard):
            self._move_if(state, DeskState.IDLE, holder=None)
        else:
            self._refuse(state, Notice.of(error.code))

    # --- PIN, check-in, pass -----------------------------------------------------------

    def enter_pin(self, pin: str) -> None:
        """The voter's PIN, presented once; a wrong one shows the tries left."""
        pin = ascii_digits(pin)
        if not re.fullmatch(r"[0-9]{4,8}", pin):
            raise TerminalError("a PIN is 4 to 8 digits", code="invalid_pin")
        with self.reader_lock:
            if self.state is not DeskState.PIN:
                raise IllegalTransition(self.state.value, "pin")
            try:
                self.reader.verify_pin(pin)
            except WrongPin as error:
                self.move(DeskState.PIN, tries_left=error.tries_left)
                return
            except PinBlocked:
                self._refuse(DeskState.PIN, Notice.of("pin_blocked"))
                return
            except DeviceError as error:
                self._device_failed(DeskState.PIN, error)
                return
            self.move(DeskState.ISSUING, tries_left=None)
        self._worker.submit(self._issue)

    def _issue(self) -> None:
        try:
            qr_pass = self._request_pass()
        except ServerRefused as error:
            self._refuse(DeskState.ISSUING, Notice.from_refusal(error))
            return
        except ServerUnreachable as error:
            LOG.warning("desk: no answer from the inquiry service: %s", error)
            self._refuse(DeskState.ISSUING, Notice.of("desk_unreachable", reason=str(error)))
            return
        except DeviceError as error:
            self._device_failed(DeskState.ISSUING, error)
            return
        except (CryptoError, KeyError, TypeError, ValueError):
            self._refuse(DeskState.ISSUING, Notice.of("invalid_pass"))
            return
        except Exception:  # on the worker thread a raise would vanish and strand the desk
            LOG.exception("desk: issuing a pass failed unexpectedly")
            self._refuse(DeskState.ISSUING, Notice.of("terminal_error"))
            return
        payload = qr_pass.payload
        problem: Notice | None = None
        try:
            self.printer.print_receipt(
                printing.desk_pass(
                    self.station,
                    self.terminal_id,
                    canonical_json(qr_pass.to_json()).decode("utf-8"),
                    int(payload["expires_at"]),
                )
            )
        except DeviceError as error:
            # Checked in, pass not printed: the official sees why (the driver keeps the job).
            problem = Notice.of(error.code)
        with self.changed:
            self.passes_issued += 1
            self._move_if(
                DeskState.ISSUING,
                DeskState.ISSUED,
                notice=problem or Notice.of("pass_printed"),
                pass_id=str(payload["pass_id"]),
                expires_at=int(payload["expires_at"]),
                holder=None,
            )

    def _request_pass(self) -> SignedEnvelope:
        holder = self.data.holder
        if holder is None:
            raise TerminalError("no card holder in this session")
        challenge = self.client.inquiry_challenge()
        with self.reader_lock:
            signature = self.reader.authenticate(bytes.fromhex(str(challenge["challenge"])))
        answer = self.client.issue_pass(
            holder.certificate.to_json(), signature, str(challenge["challenge_id"])
        )
        envelope = SignedEnvelope.from_json(answer["qr_pass"])
        payload = envelope.verify("qr-pass", self.election.inquiry_key)
        if payload.get("station_id") != self.station.station_id:
            raise ValueError("a pass for another station")
        return envelope

    def dismiss(self) -> None:
        """Next voter: back to idle from a finished screen (also happens when the card leaves)."""
        with self.changed:
            if self.state in {DeskState.ISSUED, DeskState.REFUSED}:
                self.move(DeskState.IDLE)
            else:
                raise IllegalTransition(self.state.value, "dismiss")

    # --- view ----------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """What the desk page shows; the pass itself is only on paper."""
        with self.changed:
            data = self.data
            return {
                "version": self.version,
                "state": self.state.value,
                "station": {
                    "station_id": self.station.station_id,
                    "name": self.station.name.to_json(),
                },
                "terminal_id": self.terminal_id,
                "card_in": data.card_in,
                "holder_name": (
                    {"fa": data.holder.name_fa, "en": data.holder.name_en}
                    if data.holder is not None
                    else None
                ),
                "tries_left": data.tries_left,
                "notice": data.notice.to_json() if data.notice else None,
                "pass": (
                    {"pass_id": data.pass_id, "expires_at": data.expires_at}
                    if self.state is DeskState.ISSUED
                    else None
                ),
                "passes_issued": self.passes_issued,
            }
