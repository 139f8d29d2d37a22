"""Tables of the ballot-intake database (SQLAlchemy 2 typed models).

Ballot secrecy is a property of this schema: nothing here names a voter. The
board holds ballots by terminal and sequence; ``spent_authorizations`` holds
only authorization ids and stations. Voters live in the registry database
(``registry_models.py``), which holds no ballot and no authorization id next
to a voter. ``tests/ballot_server/test_schema.py`` checks both.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Election(Base):
    """The one election this database serves: signed manifest, trustees, public keys."""

    __tablename__ = "election"

    election_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    manifest_envelope: Mapped[str] = mapped_column(Text)
    trustees: Mapped[str] = mapped_column(Text)
    manifest_hash: Mapped[str] = mapped_column(String(64))
    base_hash: Mapped[str] = mapped_column(String(64))
    joint_public_key: Mapped[str] = mapped_column(String(64))
    hq_public_key: Mapped[str] = mapped_column(String(64))
    registry_public_key: Mapped[str] = mapped_column(String(64))
    inquiry_public_key: Mapped[str] = mapped_column(String(64))
    server_public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)


class Station(Base):
    """A polling station, its poll state (see ``polls.py``) and the head of its board
    shard: the station's own hash chain of entries, whose row lock (with its
    terminals') is the only lock a ballot takes (no lock is shared across stations).

    ``poll_version`` counts the station's poll transitions; the inquiry's copy of
    the state carries it, and an authorization names the version of the opening
    it was issued under (``poll_period``), so a ballot after close can be shown
    to rest on an authorization issued before it."""

    __tablename__ = "stations"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    county_id: Mapped[str] = mapped_column(String(64))
    province_id: Mapped[str] = mapped_column(String(64))
    ballot_style_id: Mapped[str] = mapped_column(String(64))
    poll_state: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    poll_version: Mapped[int] = mapped_column(Integer, server_default="0")
    board_length: Mapped[int] = mapped_column(BigInteger, default=0)
    board_head: Mapped[str] = mapped_column(String(64), default="0" * 64)


class Terminal(Base):
    """A registered terminal, its key, and the head of its tracking-code chain; once
    revoked (``setup.revoke_terminal``) every request it signs is refused."""

    __tablename__ = "terminals"

    terminal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[int] = mapped_column(BigInteger)
    last_sequence: Mapped[int] = mapped_column(Integer)
    chain_head: Mapped[str] = mapped_column(String(64))
    declared_sequence: Mapped[int | None] = mapped_column(Integer)
    declared_chain_head: Mapped[str | None] = mapped_column(String(64))
    # The terminal's signed request that declared them (``declarations.py``).
    declaration: Mapped[str | None] = mapped_column(Text)
    # The journal sequence it had declared when its station last closed: ballots up to
    # it were journaled before the close, whatever the terminal's clock says.
    sequence_at_close: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revocation_reason: Mapped[str | None] = mapped_column(String(500))


class RequestNonce(Base):
    """Nonces of terminal requests seen inside the time window (replay protection)."""

    __tablename__ = "request_nonces"

    terminal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    timestamp: Mapped[int] = mapped_column(BigInteger, index=True)


class OfficialChallenge(Base):
    """A fresh challenge an official's card must sign to change the poll state."""

    __tablename__ = "official_challenges"

    challenge_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    challenge: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used: Mapped[bool] = mapped_column(Boolean)


class Chain(Base):
    """Head of a hash chain: "audit", and "national" (the national log's size and
    root, locked only by whoever publishes a root); its row lock serializes appends."""

    __tablename__ = "chains"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))


class BoardEntry(Base):
    """One bulletin-board entry (docs/record.md), with indexed copies of its fields.

    ``position`` counts within the station's shard; ``log_index`` is the entry's
    leaf in the national Merkle log, set when a root first covers it."""

    __tablename__ = "board_entries"
    __table_args__ = (UniqueConstraint("terminal_id", "sequence"),)

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    log_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    terminal_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    tracking_code: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[int] = mapped_column(BigInteger)


class Receipt(Base):
    """The signed receipt of a cast ballot, kept so a resubmission gets the same one."""

    __tablename__ = "receipts"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    board_position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    envelope: Mapped[str] = mapped_column(Text)


class SpentAuthorization(Base):
    """Authorizations consumed by a cast ballot: id and station only, never a voter."""

    __tablename__ = "spent_authorizations"

    authorization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)


class AuthorizationVoid(Base):
    """An authorization its terminal voided before any ballot used it (``release.py``).

    The void spends the authorization (a ``spent_authorizations`` row, so a void and
    a cast race on one primary key and exactly one wins); ``envelope`` is the
    server-signed void published in the record (``board/voids.jsonl``). It names the
    terminal and the second, never a voter: the authorization carried no ballot."""

    __tablename__ = "authorization_voids"

    authorization_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    voided_at: Mapped[int] = mapped_column(BigInteger)
    envelope: Mapped[str] = mapped_column(Text)


class CiphertextAlpha(Base):
    """Every ciphertext alpha on the board (selections and blank indicators), once.

    Honest terminals draw a fresh nonce per ciphertext, so an alpha seen twice is
    a contest copied from another ballot; its proofs still verify. The primary key
    refuses it in the append's transaction (``copied_ciphertext``). Alphas are
    public on the board already; nothing here names a voter.

    The alpha is kept as its 32 bytes, not as hex: about 1.2 billion rows for a
    national election, and a primary key compared byte by byte whatever the
    database's collation (migration ``0011_main``).
    """

    __tablename__ = "ciphertext_alphas"

    alpha: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64))
    board_position: Mapped[int] = mapped_column(BigInteger)


class BoardRoot(Base):
    """A signed national root (kind ``board-root``) and the log's frontier after it,
    from which the next root is computed without reading old leaves."""

    __tablename__ = "board_roots"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)
    frontier: Mapped[str] = mapped_column(Text)


class MerkleNode(Base):
    """A perfect subtree of the national log: the node over leaves
    ``[node_index·2^level, (node_index+1)·2^level)``, level 0 being the leaf hashes.

    Stored as a root completes it and never changed after, so an inclusion or
    consistency proof reads the O(log n) nodes it is made of, never the leaves."""

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node_hash: Mapped[str] = mapped_column(String(64))


class PublishedShard(Base):
    """How much of each station's shard the national log already holds. Apart from
    ``stations`` so that publishing a root never locks a station's row."""

    __tablename__ = "published_shards"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)


class PollReport(Base):
    """Signed zero ("opening") and closing reports, one of each per station."""

    __tablename__ = "poll_reports"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    envelope: Mapped[str] = mapped_column(Text)


class AuditEntry(Base):
    """One entry of the hash-chained audit log (``audit.py``)."""

    __tablename__ = "audit_log"

    position: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
