"""releasable QR passes: a voided authorization frees its pass to be redeemed again

Revision ID: 0009_registry
Revises: 0008_registry
Create Date: 2026-12-02 17:45:00

Passes redeemed before the upgrade count one redemption and have no release
commitment: they cannot be released (their authorizations' ids were random).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_registry"
down_revision: str | Sequence[str] | None = "0008_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("qr_passes") as batch:
        batch.add_column(sa.Column("release_commitment", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("redemptions", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE qr_passes SET redemptions = 1 WHERE redeemed")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("qr_passes") as batch:
        batch.drop_column("redemptions")
        batch.drop_column("release_commitment")
