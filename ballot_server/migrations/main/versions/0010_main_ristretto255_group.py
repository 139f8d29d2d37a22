"""ristretto255 group: the election key, trustee commitments and ciphertexts change encoding

Revision ID: 0010_main
Revises: 0009_main
Create Date: 2026-12-03 11:30:00

The group moved from Ed25519 points to ristretto255 (docs/crypto.md): the
joint election key, the trustees' commitments and every ballot stored under
an election set up before are encodings in the old group, which the new code
refuses or misreads. No table changes; a database that holds an election is
refused: upgrade between elections, never during one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010_main"
down_revision: str | Sequence[str] | None = "0009_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Refuse a database that holds an election set up in the old group."""
    count = op.get_bind().execute(sa.text("SELECT count(*) FROM election")).scalar_one()
    if count:
        raise RuntimeError(
            "the database holds an election whose keys and ballots are Ed25519 points; "
            "the group is now ristretto255: upgrade between elections"
        )


def downgrade() -> None:
    """Nothing to undo in the schema."""
