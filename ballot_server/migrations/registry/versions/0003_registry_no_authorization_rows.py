"""authorizations are no longer stored: a row beside the check-in links voter and ballot

Revision ID: 0003_registry
Revises: 0002_registry
Create Date: 2026-12-01 19:40:00

An authorization's id is published on the board with the ballot it allowed.
A row holding it, written in the check-in's transaction, shares that
transaction's id (PostgreSQL ``xmin``) or sits at the neighbouring rowid
(SQLite) with the voter's check-in row, so the database itself joined voter to
ballot. Closing reports now count issued authorizations from check-ins and
redeemed passes. The upgrade drops the table and what it held.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_registry"
down_revision: str | Sequence[str] | None = "0002_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index(op.f("ix_authorizations_station_id"), table_name="authorizations")
    op.drop_table("authorizations")


def downgrade() -> None:
    """Downgrade schema: the table comes back empty (what was dropped is gone)."""
    op.create_table(
        "authorizations",
        sa.Column("authorization_id", sa.String(length=32), nullable=False),
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("ballot_style_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("authorization_id"),
    )
    op.create_index(
        op.f("ix_authorizations_station_id"), "authorizations", ["station_id"], unique=False
    )
