"""Board-wide checks that walk the entries in line order, run side by side in one pass.

The verifier names the first failing check in a fixed order (``verifier.py``),
and several of its board-wide checks only walk the entries in line order with
a little state per station or terminal. Run one after another, each read every
entry back from the ``EntryStore``: about 2 µs per entry and check in the one
process that cannot be spread over a cluster, nine passes in all, a fifth of
that process's work. Here each such check is an ``EntryCheck`` fed one entry at
a time, and ``SideBySide`` feeds one stream to several of them: the entries
checks need only in line order are fed straight from the ballot workers'
answers as they arrive, those that also need the receipts' times in one pass
after the receipts are matched.

A check that fails stops being fed and keeps its failure; the failure is raised
only when the verifier reaches that check (``Deferred.outcome``). Each check
reads nothing but the entries and inputs fixed before the pass, so the check
named, and the entry or file it names, are those a run of the checks one after
another would name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from crypto.errors import CryptoError
from tally.errors import TallyError

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


class EntryCheck(ABC, Generic[Item, Outcome]):
    """A check over every entry in line order: ``feed`` raises VerificationFailure at
    the first problem, ``finish`` at one only the whole board shows, else answers."""

    @abstractmethod
    def feed(self, item: Item) -> None: ...

    @abstractmethod
    def finish(self) -> Outcome: ...

    def run(self, items: Iterable[Item]) -> Outcome:
        """The check alone over ``items``."""
        for item in items:
            self.feed(item)
        return self.finish()


class Deferred(Generic[Item, Outcome]):
    """One check run beside others: its failure, in setting up or in an entry, kept
    until the verifier asks for its outcome."""

    def __init__(self, build: Callable[[], EntryCheck[Item, Outcome]]) -> None:
        self.failure: TallyError | CryptoError | None = None
        self.check: EntryCheck[Item, Outcome] | None = None
        try:
            self.check = build()
        except (TallyError, CryptoError) as error:
            self.failure = error

    def outcome(self) -> Outcome:
        """What the check answers; raises its failure if it had one."""
        if self.failure is not None:
            raise self.failure
        assert self.check is not None  # built, since it did not fail
        return self.check.finish()


class SideBySide(Generic[Item]):
    """Feeds each item to every check that has not failed yet."""

    def __init__(self, *checks: Deferred[Item, Any]) -> None:
        self._live = [(check, check.check.feed) for check in checks if check.check is not None]

    def feed(self, items: Iterable[Item]) -> None:
        live = self._live
        for item in items:
            for deferred, feed in live:
                try:
                    feed(item)
                except (TallyError, CryptoError) as error:
                    deferred.failure = error
                    # The rest still get this item: the loop walks the list as it was.
                    self._live = live = [pair for pair in live if pair[0] is not deferred]
