"""authorization voids: a terminal voids an authorization it will not use

Revision ID: 0007_main
Revises: 0006_main
Create Date: 2026-12-02 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_main"
down_revision: str | Sequence[str] | None = "0006_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "authorization_voids",
        sa.Column("authorization_id", sa.String(length=32), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("voided_at", sa.BigInteger(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("authorization_id"),
    )
    op.create_index(
        op.f("ix_authorization_voids_station_id"),
        "authorization_voids",
        ["station_id"],
        unique=False,
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_authorization_voids_station_id"), table_name="authorization_voids")
    op.drop_table("authorization_voids")
