"""poll version: stations count their poll transitions

Revision ID: 0003_main
Revises: 0002_main
Create Date: 2026-12-02 14:20:00

An authorization names the version of the opening it was issued under, so a
ballot arriving after close can be shown to rest on one issued before it.
Stations of an election already under way start from 0 (their authorizations
issued before the upgrade carry no version and are refused after it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_main"
down_revision: str | Sequence[str] | None = "0002_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("stations") as batch:
        batch.add_column(
            sa.Column("poll_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("stations") as batch:
        batch.drop_column("poll_version")
