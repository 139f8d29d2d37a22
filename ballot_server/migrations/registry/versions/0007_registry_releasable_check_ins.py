"""releasable check-ins: a voided authorization frees its voter to check in again

Revision ID: 0007_registry
Revises: 0006_registry
Create Date: 2026-12-02 14:30:00

Check-ins made before the upgrade have no release commitment: they cannot be
released (their authorizations' ids were random, not derived from a key the
terminal holds).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007_registry"
down_revision: str | Sequence[str] | None = "0006_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("check_ins") as batch:
        batch.add_column(sa.Column("release_commitment", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("released", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("authorizations", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("check_ins") as batch:
        batch.drop_column("authorizations")
        batch.drop_column("released")
        batch.drop_column("release_commitment")
