"""ciphertext alphas: refuse a contest copied from another ballot

Revision ID: 0002_main
Revises: 0001_main
Create Date: 2026-11-23 12:50:00

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_main"
down_revision: str | Sequence[str] | None = "0001_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "ciphertext_alphas",
        sa.Column("alpha", sa.String(length=64), nullable=False),
        sa.Column("board_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("alpha"),
    )
    # Entries already on the board (an upgrade during an election) join the table too.
    table = sa.table("ciphertext_alphas", sa.column("alpha"), sa.column("board_position"))
    connection = op.get_bind()
    entries = connection.execute(sa.text("SELECT position, payload FROM board_entries")).all()
    for position, payload in entries:
        ballot = json.loads(payload)["payload"]["body"]["ballot"]
        alphas = [
            ciphertext["alpha"]
            for contest in ballot["contests"]
            for ciphertext in [*(s["ciphertext"] for s in contest["selections"]), contest["blank"]]
        ]
        connection.execute(
            sa.insert(table), [{"alpha": alpha, "board_position": position} for alpha in alphas]
        )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("ciphertext_alphas")
