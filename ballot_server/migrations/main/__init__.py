"""Alembic scripts of the main database."""
