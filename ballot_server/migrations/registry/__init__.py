"""Alembic scripts of the registry database."""
