"""provisional: voters whose provisional ballot was counted, and the latest resolution

Revision ID: 0005_registry
Revises: 0004_registry
Create Date: 2026-12-02 14:30:00

Reconciliation (``ballot_server/reconciliation.py``) checks a counted
provisional voter in (``check_ins``) so they cannot vote online afterwards, and
remembers them in ``reconciled_voters`` so the next reconciliation can tell
that check-in from one the online inquiry made. Neither table holds an
authorization id. ``provisional_resolution`` holds the latest signed resolution.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005_registry"
down_revision: str | Sequence[str] | None = "0004_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "reconciled_voters",
        sa.Column("national_code", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("national_code"),
    )
    op.create_table(
        "provisional_resolution",
        sa.Column("singleton", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("singleton"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("provisional_resolution")
    op.drop_table("reconciled_voters")
