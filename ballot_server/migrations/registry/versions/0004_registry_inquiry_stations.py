"""inquiry stations: the inquiry's copy of each station's poll state

Revision ID: 0004_registry
Revises: 0003_registry
Create Date: 2026-12-02 14:20:00

Check-ins and pass redemptions are refused unless the station's polls are
open. The table starts empty: a station without a row is not open to the
inquiry until the intake's next transition or ``evote server sync-inquiry``
writes one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_registry"
down_revision: str | Sequence[str] | None = "0003_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "inquiry_stations",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("poll_state", sa.String(length=16), nullable=False),
        sa.Column("poll_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("station_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("inquiry_stations")
