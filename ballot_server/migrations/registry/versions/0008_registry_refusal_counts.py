"""refusal counts: how often the inquiry refused at each station, per reason

Revision ID: 0008_registry
Revises: 0007_registry
Create Date: 2026-12-02 17:40:00

Counts only (station, reason, count): nothing about who was refused. Refusals
made before the upgrade were never recorded; the counts start at zero.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008_registry"
down_revision: str | Sequence[str] | None = "0007_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "refusal_counts",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", "code"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("refusal_counts")
