"""merkle nodes: the national log's perfect subtrees, so proofs read O(log n) rows

Revision ID: 0008_main
Revises: 0007_main
Create Date: 2026-12-03 04:40:00

A board that already holds published entries gets its nodes computed here
from their entry hashes in log order, exactly the nodes publishing would have
stored, and the result is checked against the latest signed root.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crypto.merkle import Frontier, leaf_hash

# revision identifiers, used by Alembic.
revision: str = "0008_main"
down_revision: str | Sequence[str] | None = "0007_main"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000

merkle_nodes = sa.table(
    "merkle_nodes",
    sa.column("level", sa.SmallInteger()),
    sa.column("node_index", sa.BigInteger()),
    sa.column("node_hash", sa.String(length=64)),
)
_PUBLISHED = sa.text(
    "SELECT log_index, entry_hash FROM board_entries "
    "WHERE log_index >= :start AND log_index < :end ORDER BY log_index"
)
_LATEST_ROOT = sa.text("SELECT tree_size, root_hash FROM board_roots ORDER BY tree_size DESC")


def _backfill() -> None:
    """Every node the published entries complete, in log order, checked against
    the latest root (its size and hash) before anything is kept."""
    connection = op.get_bind()
    latest = connection.execute(_LATEST_ROOT).first()
    if latest is None:
        return
    tree_size, root_hash = latest
    frontier = Frontier()
    while frontier.size < tree_size:
        end = min(frontier.size + BATCH, tree_size)
        rows = connection.execute(_PUBLISHED, {"start": frontier.size, "end": end}).all()
        nodes = []
        for log_index, entry_hash in rows:
            if log_index != frontier.size:
                raise RuntimeError(f"the national log has no leaf {frontier.size}")
            for level, index, value in frontier.append(leaf_hash(bytes.fromhex(entry_hash))):
                nodes.append({"level": level, "node_index": index, "node_hash": value.hex()})
        if frontier.size != end:
            raise RuntimeError(f"the national log has no leaf {frontier.size}")
        connection.execute(sa.insert(merkle_nodes), nodes)
    if frontier.root().hex() != root_hash:
        raise RuntimeError(f"the board's leaves do not give the signed root of {tree_size}")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "merkle_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("node_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("node_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "node_index"),
    )
    _backfill()


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("merkle_nodes")
