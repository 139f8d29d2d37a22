"""inquiry deployable apart: its own manifest copy, terminal keys, nonces; MAC challenges

Revision ID: 0002_registry
Revises: 0001_registry
Create Date: 2026-12-01 19:30:00

Challenges are no longer stored when issued (they are MACs, ``challenges.py``);
only spent ones are. Challenges in flight during an upgrade are refused as
``unknown_challenge`` and the terminal asks for a new one. The manifest and
terminal copies are written by ``evote server init`` and ``register-terminal``
from this revision on; for an election created before it, HQ runs ``evote
server sync-inquiry`` once (until then the inquiry answers
``election_not_ready`` / ``unknown_terminal``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_registry"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "inquiry_election",
        sa.Column("election_id", sa.String(length=64), nullable=False),
        sa.Column("manifest_envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("election_id"),
    )
    op.create_table(
        "inquiry_terminals",
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id"),
        sa.UniqueConstraint("public_key"),
    )
    op.create_table(
        "inquiry_nonces",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(
        op.f("ix_inquiry_nonces_timestamp"), "inquiry_nonces", ["timestamp"], unique=False
    )
    op.create_table(
        "spent_challenges",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(
        op.f("ix_spent_challenges_expires_at"), "spent_challenges", ["expires_at"], unique=False
    )
    op.drop_index(op.f("ix_inquiry_challenges_expires_at"), table_name="inquiry_challenges")
    op.drop_table("inquiry_challenges")


def downgrade() -> None:
    """Downgrade schema."""
    op.create_table(
        "inquiry_challenges",
        sa.Column("challenge_id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.String(length=64), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("challenge_id"),
    )
    op.create_index(
        op.f("ix_inquiry_challenges_expires_at"), "inquiry_challenges", ["expires_at"], unique=False
    )
    op.drop_index(op.f("ix_spent_challenges_expires_at"), table_name="spent_challenges")
    op.drop_table("spent_challenges")
    op.drop_index(op.f("ix_inquiry_nonces_timestamp"), table_name="inquiry_nonces")
    op.drop_table("inquiry_nonces")
    op.drop_table("inquiry_terminals")
    op.drop_table("inquiry_election")
