"""terminal revocation: the inquiry refuses a revoked terminal too

Revision ID: 0006_registry
Revises: 0005_registry
Create Date: 2026-12-02 14:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006_registry"
down_revision: str | Sequence[str] | None = "0005_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("inquiry_terminals") as batch:
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("inquiry_terminals") as batch:
        batch.drop_column("revoked_at")
