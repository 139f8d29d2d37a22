"""release escrow: a check-in keeps its release key sealed for the voter's card

Revision ID: 0010_registry
Revises: 0009_registry
Create Date: 2026-12-03 00:30:00

Check-ins made before the upgrade have none: if their terminal dies, their voters
can be released only as before (by that terminal).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_registry"
down_revision: str | Sequence[str] | None = "0009_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("check_ins") as batch:
        batch.add_column(sa.Column("release_escrow", sa.String(length=240), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_column("release_escrow")
