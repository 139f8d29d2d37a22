"""The voter/official session as an explicit state machine.

Every screen the kiosk can show is a ``State``; every thing that can happen is
an ``Event``; ``TRANSITIONS`` is the whole graph. ``Session.fire`` either moves
along an edge of that table or raises ``IllegalTransition`` and changes
nothing, so a late HTTP request or a stale device event can never push a voter
into a state the flow does not have (e.g. cast after the card was pulled).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

from terminal.errors import IllegalTransition


class State(enum.Enum):
    IDLE = "idle"
    READING_CARD = "reading_card"
    PIN = "pin"
    INQUIRY = "inquiry"
    BALLOT = "ballot"
    REVIEW = "review"
    ENCRYPTING = "encrypting"
    TRACKING = "tracking"
    CASTING = "casting"
    RECEIPT = "receipt"
    CHALLENGED = "challenged"
    REFUSED = "refused"
    CANCELLED = "cancelled"
    OFFICIALS = "officials"


class Event(enum.Enum):
    CARD_INSERTED = "card_inserted"
    PASS_SCANNED = "pass_scanned"
    HOLDER_READ = "holder_read"
    PIN_WRONG = "pin_wrong"
    PIN_OK = "pin_ok"
    AUTHORIZED = "authorized"
    OFFICIAL_AUTHORIZED = "official_authorized"
    REFUSED = "refused"
    REVIEW = "review"
    EDIT = "edit"
    CONFIRM = "confirm"
    ENCRYPTED = "encrypted"
    CAST = "cast"
    PRINTED = "printed"
    CHALLENGE = "challenge"
    VOTE_AGAIN = "vote_again"
    CANCEL = "cancel"
    DISMISS = "dismiss"


# States in which the voter has not cast yet: pulling the card or timing out cancels.
CANCELLABLE = frozenset(
    {
        State.READING_CARD,
        State.PIN,
        State.INQUIRY,
        State.BALLOT,
        State.REVIEW,
        State.ENCRYPTING,
        State.TRACKING,
        State.CHALLENGED,
    }
)
# States that end a session and only wait to be dismissed (or the card to leave).
FINISHED = frozenset({State.RECEIPT, State.REFUSED, State.CANCELLED, State.OFFICIALS})

TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.IDLE, Event.CARD_INSERTED): State.READING_CARD,
    (State.IDLE, Event.PASS_SCANNED): State.INQUIRY,
    (State.READING_CARD, Event.HOLDER_READ): State.PIN,
    (State.PIN, Event.PIN_WRONG): State.PIN,
    (State.PIN, Event.PIN_OK): State.INQUIRY,
    (State.INQUIRY, Event.AUTHORIZED): State.BALLOT,
    (State.INQUIRY, Event.OFFICIAL_AUTHORIZED): State.OFFICIALS,
    (State.BALLOT, Event.REVIEW): State.REVIEW,
    (State.REVIEW, Event.EDIT): State.BALLOT,
    (State.REVIEW, Event.CONFIRM): State.ENCRYPTING,
    (State.ENCRYPTING, Event.ENCRYPTED): State.TRACKING,
    (State.TRACKING, Event.CAST): State.CASTING,
    (State.CASTING, Event.PRINTED): State.RECEIPT,
    (State.TRACKING, Event.CHALLENGE): State.CHALLENGED,
    (State.CHALLENGED, Event.VOTE_AGAIN): State.BALLOT,
    # CASTING and CHALLENGED refuse only when the journal cannot take the ballot.
    **{(state, Event.REFUSED): State.REFUSED for state in CANCELLABLE | {State.CASTING}},
    **{(state, Event.CANCEL): State.CANCELLED for state in CANCELLABLE},
    **{(state, Event.DISMISS): State.IDLE for state in FINISHED},
}


class Session:
    """The current state plus a version counter that long-polling clients wait on.

    ``fire`` is atomic under the session's lock; ``on_change`` runs inside it so
    the data shown for a state is set together with the state itself.
    """

    def __init__(self) -> None:
        self.state = State.IDLE
        self.version = 0
        self.changed = threading.Condition(threading.RLock())

    @property
    def lock(self) -> threading.Condition:
        return self.changed

    def can(self, event: Event) -> bool:
        return (self.state, event) in TRANSITIONS

    def fire(self, event: Event, on_change: Callable[[], None] | None = None) -> State:
        """Take the edge for ``event`` from the current state, or raise IllegalTransition."""
        with self.changed:
            target = TRANSITIONS.get((self.state, event))
            if target is None:
                raise IllegalTransition(self.state.value, event.value)
            self.state = target
            if on_change is not None:
                on_change()
            self.touch()
            return target

    def touch(self) -> None:
        """Announce a change of what is shown without a change of state."""
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, after_version: int, timeout_s: float) -> int:
        """Block until the version passes ``after_version`` or the timeout ends."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != after_version, timeout=timeout_s)
            return self.version
