"""sharded board: a hash chain per station, national Merkle roots

Revision ID: 0004_main
Revises: 0003_main
Create Date: 2026-12-02 14:20:00

Entries change format (record evote-record/2: the entry hash binds the station
and the position in its shard), so a board that already holds entries cannot
be carried over: upgrade between elections, never during one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_main"
down_revision: str | Sequence[str] | None = "0003_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZERO_HASH = "0" * 64


def _refuse_a_running_election() -> None:
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM board_entries")).scalar_one()
    if count:
        raise RuntimeError(
            f"the board holds {count} entries in the evote-record/1 format; "
            "upgrade to the sharded board between elections"
        )


def upgrade() -> None:
    """Upgrade schema."""
    _refuse_a_running_election()
    op.drop_index(op.f("ix_board_entries_station_id"), table_name="board_entries")
    op.drop_table("board_entries")
    op.create_table(
        "board_entries",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "position"),
        sa.UniqueConstraint("log_index"),
        sa.UniqueConstraint("terminal_id", "sequence"),
        sa.UniqueConstraint("tracking_code"),
    )
    op.drop_table("receipts")
    op.create_table(
        "receipts",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("board_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "board_position"),
    )
    op.drop_table("ciphertext_alphas")
    op.create_table(
        "ciphertext_alphas",
        sa.Column("alpha", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("board_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alpha"),
    )
    op.drop_table("checkpoints")
    op.create_table(
        "board_roots",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("frontier", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    op.create_table(
        "published_shards",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("station_id"),
    )
    with op.batch_alter_table("stations") as batch:
        batch.add_column(
            sa.Column("board_length", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("board_head", sa.String(length=64), nullable=False, server_default=ZERO_HASH)
        )
    op.execute(
        sa.text(
            "UPDATE chains SET name = 'national', length = 0, head_hash = :zero "
            "WHERE name = 'board'"
        ).bindparams(zero=ZERO_HASH)
    )


def downgrade() -> None:
    """Downgrade schema (an empty board only, as on the way up)."""
    _refuse_a_running_election()
    op.execute(sa.text("UPDATE chains SET name = 'board' WHERE name = 'national'"))
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("board_head")
        batch.drop_column("board_length")
    op.drop_table("published_shards")
    op.drop_table("board_roots")
    op.create_table(
        "checkpoints",
        sa.Column("board_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("board_position"),
    )
    op.drop_table("ciphertext_alphas")
    op.create_table(
        "ciphertext_alphas",
        sa.Column("alpha", sa.String(length=64), nullable=False),
        sa.Column("board_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alpha"),
    )
    op.drop_table("receipts")
    op.create_table(
        "receipts",
        sa.Column("board_position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("board_position"),
    )
    op.drop_table("board_entries")
    op.create_table(
        "board_entries",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("terminal_id", "sequence"),
        sa.UniqueConstraint("tracking_code"),
    )
    op.create_index(
        op.f("ix_board_entries_station_id"), "board_entries", ["station_id"], unique=False
    )
