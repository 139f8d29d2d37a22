"""The session state machine: only the table's edges exist; anything else changes nothing."""

from __future__ import annotations

import pytest

from terminal.errors import IllegalTransition
from terminal.session import CANCELLABLE, TRANSITIONS, Event, Session, State


def walk(session: Session, *events: Event) -> State:
    for event in events:
        session.fire(event)
    return session.state


def test_a_whole_vote_follows_the_table() -> None:
    session = Session()
    final = walk(
        session,
        Event.CARD_INSERTED,
        Event.HOLDER_READ,
        Event.PIN_WRONG,
        Event.PIN_OK,
        Event.AUTHORIZED,
        Event.REVIEW,
        Event.EDIT,
        Event.REVIEW,
        Event.CONFIRM,
        Event.ENCRYPTED,
        Event.CHALLENGE,
        Event.VOTE_AGAIN,
        Event.REVIEW,
        Event.CONFIRM,
        Event.ENCRYPTED,
        Event.CAST,
        Event.PRINTED,
        Event.DISMISS,
    )
    assert final is State.IDLE


def test_an_illegal_event_raises_and_changes_nothing() -> None:
    session = Session()
    walk(session, Event.CARD_INSERTED, Event.HOLDER_READ)
    version = session.version
    with pytest.raises(IllegalTransition) as raised:
        session.fire(Event.CAST)
    assert raised.value.code == "illegal_transition"
    assert session.state is State.PIN
    assert session.version == version


def test_cast_is_impossible_after_the_card_is_pulled() -> None:
    session = Session()
    walk(
        session,
        Event.CARD_INSERTED,
        Event.HOLDER_READ,
        Event.PIN_OK,
        Event.AUTHORIZED,
        Event.REVIEW,
        Event.CONFIRM,
        Event.ENCRYPTED,
        Event.CANCEL,
    )
    with pytest.raises(IllegalTransition):
        session.fire(Event.CAST)
    assert session.state is State.CANCELLED


def test_every_state_before_cast_can_be_cancelled_but_casting_cannot() -> None:
    for state in CANCELLABLE:
        assert TRANSITIONS[(state, Event.CANCEL)] is State.CANCELLED
    assert (State.CASTING, Event.CANCEL) not in TRANSITIONS
    assert (State.RECEIPT, Event.CANCEL) not in TRANSITIONS


def test_every_state_is_reachable_and_can_return_to_idle() -> None:
    reachable = {State.IDLE}
    frontier = [State.IDLE]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(State)
    for state in State:
        seen, frontier = {state}, [state]
        while frontier:
            current = frontier.pop()
            for (source, _), target in TRANSITIONS.items():
                if source is current and target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert State.IDLE in seen, state


def test_waiters_wake_on_change() -> None:
    session = Session()
    before = session.version
    session.fire(Event.CARD_INSERTED)
    assert session.wait_for_change(before, timeout_s=0.01) == before + 1
