"""Offline mode: entered deliberately, and the check-ins a station makes while in it.

``LinkMode`` is an explicit state machine (``TRANSITIONS``): ONLINE → OFFLINE
only by ``enter``, which needs an official's card of this station, verified
offline, *and* the link down for at least ``required_down_s``; OFFLINE → ONLINE
by an official (``leave``) or when the link is back (``link_restored``). An edge
the table does not have raises ``IllegalTransition`` and changes nothing.

The mode and every offline check-in live in ``offline.sqlite`` beside the
journal (WAL, ``synchronous=FULL``), so a terminal killed while offline comes
back offline and still refuses a voter it has checked in. A check-in is the
voter's snapshot tag (``terminal/offline_roll.py``) as primary key and the
minute: no authorization id, tracking code or ballot beside it, and the table
is ``WITHOUT ROWID`` (ordered by the keyed tag, not by arrival), so the file
does not say which ballot whose check-in preceded. The provisional
authorization (``evote/provisional.py``) goes with the ballot into the journal;
the voter's identity inside it is sealed to the registry.

Scope: this file is the terminal's own register. A station with several booths
also gives each one the station register (``station_register.py``): a check-in
is kept here and claimed there in one local transaction, so a voter checked in
at any booth of the station is ``already_voted`` at every other, and a claim
refused or unanswered leaves no trace here.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crypto.signing import SignedEnvelope, SigningKey, VerifyKey
from evote.provisional import ProvisionalGrant
from evote.roll_snapshot import RollSnapshot
from terminal.devices.holder import CardHolder
from terminal.errors import IllegalTransition
from terminal.offline_roll import OfflineRefused, check_card_offline, verify_card_offline
from terminal.station_register import Register, open_tag_register

MODE_TABLE = """
CREATE TABLE IF NOT EXISTS mode (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    mode TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    changed_by TEXT NOT NULL
);
"""


class LinkMode(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"


class ModeEvent(enum.Enum):
    ENTER = "enter"
    LEAVE = "leave"
    LINK_RESTORED = "link_restored"


TRANSITIONS: dict[tuple[LinkMode, ModeEvent], LinkMode] = {
    (LinkMode.ONLINE, ModeEvent.ENTER): LinkMode.OFFLINE,
    (LinkMode.OFFLINE, ModeEvent.LEAVE): LinkMode.ONLINE,
    (LinkMode.OFFLINE, ModeEvent.LINK_RESTORED): LinkMode.ONLINE,
}


@dataclass(frozen=True)
class StationIdentity:
    """Who this terminal is and what it trusts, for offline decisions."""

    election_id: str
    station_id: str
    ballot_style_id: str
    terminal_id: str
    terminal_key: SigningKey
    registry_key: VerifyKey


class OfflineStation:
    """The terminal's offline mode and offline check-ins (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        identity: StationIdentity,
        snapshot: RollSnapshot,
        *,
        required_down_s: int,
        clock: Callable[[], float] = time.time,
        register: Register | None = None,
    ) -> None:
        self.identity = identity
        self.register = register
        self.snapshot = snapshot
        self.required_down_s = required_down_s
        self.clock = clock
        self._lock = threading.Lock()
        self._db = open_tag_register(path, snapshot.snapshot_id)
        self._db.executescript(MODE_TABLE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def mode(self) -> LinkMode:
        with self._lock:
            row = self._db.execute("SELECT mode FROM mode").fetchone()
        return LinkMode.ONLINE if row is None else LinkMode(row[0])

    def _move(self, event: ModeEvent, changed_by: str) -> LinkMode:
        with self._lock:
            row = self._db.execute("SELECT mode FROM mode").fetchone()
            current = LinkMode.ONLINE if row is None else LinkMode(row[0])
            target = TRANSITIONS.get((current, event))
            if target is None:
                raise IllegalTransition(current.value, event.value)
            self._db.execute(
                "INSERT INTO mode (singleton, mode, changed_at, changed_by) VALUES (1, ?, ?, ?)"
                " ON CONFLICT(singleton) DO UPDATE SET mode = excluded.mode,"
                " changed_at = excluded.changed_at, changed_by = excluded.changed_by",
                (target.value, int(self.clock()), changed_by),
            )
        return target

    def _check_official(self, official: CardHolder, challenge: bytes, signature: bytes) -> None:
        """An official's card of this station, genuine and answering ``challenge``."""
        verify_card_offline(
            self.snapshot, self.identity.registry_key, official, challenge, signature
        )
        if official.role != "official":
            raise OfflineRefused(f"a {official.role} card", code="not_an_official")
        if official.station_id != self.identity.station_id:
            raise OfflineRefused("another station's official", code="official_wrong_station")

    def enter(
        self,
        official: CardHolder,
        challenge: bytes,
        signature: bytes,
        link_down_since: float | None,
    ) -> None:
        """Go offline: an official of this station, with the link down long enough."""
        self._check_official(official, challenge, signature)
        if self.mode is not LinkMode.ONLINE:
            raise IllegalTransition(self.mode.value, ModeEvent.ENTER.value)
        if link_down_since is None or self.clock() - link_down_since < self.required_down_s:
            raise OfflineRefused(
                f"the link must be down for {self.required_down_s} s first",
                code="link_not_down_long_enough",
            )
        self._move(ModeEvent.ENTER, official.card_id)

    def leave(self, official: CardHolder, challenge: bytes, signature: bytes) -> None:
        """Back online by an official's decision."""
        self._check_official(official, challenge, signature)
        self._move(ModeEvent.LEAVE, official.card_id)

    def link_restored(self) -> LinkMode:
        """The link answered again: leave offline mode (no-op when online)."""
        if self.mode is LinkMode.ONLINE:
            return LinkMode.ONLINE
        return self._move(ModeEvent.LINK_RESTORED, "link")

    def check_in(self, holder: CardHolder, card_sign: Callable[[bytes], bytes]) -> SignedEnvelope:
        """Check the card's holder in offline and return a provisional authorization.

        ``card_sign`` is INTERNAL AUTHENTICATE on the inserted card (PIN already
        verified); it signs the grant's challenge, so the sealed check-in proves the
        card endorsed this authorization. Refusals: ``offline_roll``'s,
        ``already_voted`` for a voter this terminal or (with a station register)
        any booth of the station has checked in before, and
        ``station_register_unreachable``."""
        if self.mode is not LinkMode.OFFLINE:
            raise OfflineRefused("the station is not in offline mode", code="not_offline")
        identity = self.identity
        now = int(self.clock())
        grant = ProvisionalGrant.fresh(
            election_id=identity.election_id,
            station_id=identity.station_id,
            ballot_style_id=identity.ballot_style_id,
            terminal_id=identity.terminal_id,
            checked_in_at=now - now % 60,
            snapshot_id=self.snapshot.snapshot_id,
        )
        challenge = grant.card_challenge()
        signature = card_sign(challenge)
        tag = check_card_offline(self.snapshot, identity.registry_key, holder, challenge, signature)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO check_ins (voter_tag, checked_in_minute) VALUES (?, ?)",
                    (tag, grant.checked_in_at),
                )
                if self.register is not None:
                    self.register.claim(tag, grant.checked_in_at)
            except sqlite3.IntegrityError as error:
                self._db.execute("ROLLBACK")
                raise OfflineRefused("checked in here before", code="already_voted") from error
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return grant.sign(
            identity.terminal_key,
            identity.registry_key,
            national_code=holder.national_code,
            birth_date=holder.birth_date,
            card_certificate=holder.certificate,
            card_signature=signature,
        )

    def checked_in_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM check_ins").fetchone()[0])
