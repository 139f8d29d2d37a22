"""sequence at close: what each terminal had declared when its station closed

Revision ID: 0009_main
Revises: 0008_main
Create Date: 2026-12-03 05:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009_main"
down_revision: str | Sequence[str] | None = "0008_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema; a station closed before it takes its declarations at its next close."""
    op.add_column("terminals", sa.Column("sequence_at_close", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("terminals", "sequence_at_close")
