"""ciphertext alphas as 32 bytes, not 64 hex digits

Revision ID: 0011_main
Revises: 0010_main
Create Date: 2026-12-03 14:30:00

The table holds twenty rows per ballot, about 1.2 billion for a national
election, and its primary key is checked inside every ballot's transaction.
Kept as bytes, key and index take half the room, and the key compares byte by
byte whatever the database's collation. Rows already stored are converted
(an upgrade during an election keeps refusing copied ciphertexts).
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

# revision identifiers, used by Alembic.
revision: str = "0011_main"
down_revision: str | Sequence[str] | None = "0010_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def _convert(to_type: TypeEngine[Any], postgres_using: str, convert: Callable[[Any], Any]) -> None:
    """Change the column's type. PostgreSQL converts in one statement; on SQLite (a
    station's or a demo's database) the rows are taken out, the table rebuilt with
    the new type, and the rows put back converted."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "ciphertext_alphas", "alpha", type_=to_type, postgresql_using=postgres_using
        )
        return
    table = sa.table(
        "ciphertext_alphas",
        sa.column("alpha"),
        sa.column("station_id"),
        sa.column("board_position"),
    )
    # Converted before anything changes: a row that does not convert stops the
    # migration with the table as it was.
    rows = [
        {"alpha": convert(alpha), "station_id": station, "board_position": position}
        for alpha, station, position in bind.execute(sa.select(table))
    ]
    bind.execute(sa.delete(table))
    with op.batch_alter_table("ciphertext_alphas") as batch:
        batch.alter_column("alpha", type_=to_type)
    for start in range(0, len(rows), _BATCH):
        bind.execute(sa.insert(table), rows[start : start + _BATCH])


def upgrade() -> None:
    """Hex digits to bytes."""
    _convert(sa.LargeBinary(length=32), "decode(alpha, 'hex')", bytes.fromhex)


def downgrade() -> None:
    """Bytes to hex digits."""
    _convert(sa.String(length=64), "encode(alpha, 'hex')", bytes.hex)
