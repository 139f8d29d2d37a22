"""terminal declarations: keep the signed request that declared a journal head

Revision ID: 0005_main
Revises: 0004_main
Create Date: 2026-12-02 14:05:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005_main"
down_revision: str | Sequence[str] | None = "0004_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("terminals", sa.Column("declaration", sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("terminals", "declaration")
