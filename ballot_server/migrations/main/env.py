"""Alembic environment of the ballot-intake database; driven by ``db.upgrade``."""

from alembic import context

from ballot_server.models import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    version_table=context.config.attributes["version_table"],
)
with context.begin_transaction():
    context.run_migrations()
