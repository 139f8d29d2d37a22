"""Tables of the registry/inquiry database, deployable apart from ballot intake.

Check-ins record who voted where and when. Authorizations are not stored at
all: their ids are published on the board, and a row written beside the
check-in would link a voter to a ballot through the database itself (the
shared transaction id on PostgreSQL, rowid order on SQLite). QR passes are
stored, to be redeemed once; their ids never reach the board.

The inquiry service needs nothing from the intake database: HQ writes the
signed manifest and every terminal's key here too (``setup.py``), and the
inquiry keeps its own replay records (request nonces, spent card challenges).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from evote.protocol import RELEASE_ESCROW_BYTES


class RegistryBase(DeclarativeBase):
    pass


class RollEntry(RegistryBase):
    """One voter on the roll."""

    __tablename__ = "roll"

    national_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_fa: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[str] = mapped_column(String(10))
    alive: Mapped[bool] = mapped_column(Boolean)
    district_id: Mapped[str] = mapped_column(String(64))


class RevokedCard(RegistryBase):
    __tablename__ = "revoked_cards"

    card_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revoked_at: Mapped[int] = mapped_column(BigInteger)


class CheckIn(RegistryBase):
    """A voter checked in: the primary key makes a second check-in impossible.

    A check-in whose authorization the terminal voided can be released and the voter
    checked in again at the same station (``release.py``): ``release_commitment``
    is a hash of the terminal's secret release key (the authorization id is another
    hash of it, so neither names the other), ``released`` says the latest
    authorization was voided, ``authorizations`` counts those issued to the voter
    (closing reports count issued authorizations from it). ``release_escrow`` is the
    release key sealed for the voter's card (``evote/release_escrow.py``): if the
    terminal dies, the voter's card recovers it at another booth."""

    __tablename__ = "check_ins"

    national_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    checked_in_at: Mapped[int] = mapped_column(BigInteger)
    release_commitment: Mapped[str | None] = mapped_column(String(64))
    release_escrow: Mapped[str | None] = mapped_column(String(2 * RELEASE_ESCROW_BYTES))
    released: Mapped[bool] = mapped_column(Boolean, server_default=false())
    authorizations: Mapped[int] = mapped_column(Integer, server_default="1")


class IssuedPass(RegistryBase):
    """A QR pass issued at a check-in desk, redeemed for an (unstored) authorization;
    once more only after that authorization was voided and the pass released
    (``release.py``): ``redemptions`` counts the authorizations it yielded, and
    ``release_commitment`` commits to the current one's release key."""

    __tablename__ = "qr_passes"

    pass_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    ballot_style_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    redeemed: Mapped[bool] = mapped_column(Boolean)
    release_commitment: Mapped[str | None] = mapped_column(String(64))
    redemptions: Mapped[int] = mapped_column(Integer, server_default="0")


class InquiryElection(RegistryBase):
    """The election the inquiry serves: HQ's signed manifest (checked again on load)."""

    __tablename__ = "inquiry_election"

    election_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    manifest_envelope: Mapped[str] = mapped_column(Text)


class InquiryTerminal(RegistryBase):
    """A terminal's key and station, as registered by HQ (the intake keeps its own copy),
    and when HQ revoked it."""

    __tablename__ = "inquiry_terminals"

    terminal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)


class InquiryStation(RegistryBase):
    """The inquiry's copy of a station's poll state (``polls.publish_to_inquiry``).

    Check-ins and pass redemptions read it (``FOR SHARE`` on PostgreSQL, held
    to their commit) and are refused unless it says open; the intake writes it
    before it commits a transition away from open (so the write waits for every
    check-in that saw the station open) and after it commits an opening (so no
    check-in precedes the zero report). ``poll_version`` only ever grows: an
    older write arriving late changes nothing."""

    __tablename__ = "inquiry_stations"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    poll_state: Mapped[str] = mapped_column(String(16))
    poll_version: Mapped[int] = mapped_column(Integer)


class InquiryNonce(RegistryBase):
    """Inquiry requests seen inside the time window (replay protection).

    Written in the check-in's transaction, so it must not name the terminal nor the
    second (with the board's per-terminal sequences that would join voter and
    ballot): the key is SHA-256 of terminal id and the request's random nonce, the
    time the request's timestamp rounded down to the minute (``replay.py``)."""

    __tablename__ = "inquiry_nonces"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, index=True)


class SpentChallenge(RegistryBase):
    """A card challenge already answered (``challenges.py``): each is good for one answer.

    Challenges themselves are not stored; they are MACs the inquiry recomputes. Like
    ``InquiryNonce``: SHA-256 of the challenge id (which carries its expiry to the
    second), and the expiry rounded up to the minute."""

    __tablename__ = "spent_challenges"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


class ReconciledVoter(RegistryBase):
    """A voter whose provisional ballot reconciliation counted (and checked in)."""

    __tablename__ = "reconciled_voters"

    national_code: Mapped[str] = mapped_column(String(10), primary_key=True)


class ProvisionalResolution(RegistryBase):
    """The latest signed resolution of provisional ballots (``reconciliation.py``)."""

    __tablename__ = "provisional_resolution"

    singleton: Mapped[int] = mapped_column(Integer, primary_key=True)
    envelope: Mapped[str] = mapped_column(Text)


class RefusalCount(RegistryBase):
    """How often the inquiry refused a request at a station, per reason: counts only.

    No voter, card, terminal or time: a refusal leaves nothing but ``count + 1`` on
    its station's and reason's row (``refusal_counts.py``), so HQ sees why people
    are turned away without learning who was."""

    __tablename__ = "refusal_counts"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
