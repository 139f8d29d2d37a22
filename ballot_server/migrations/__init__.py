"""Alembic migrations of the two databases (run by ``ballot_server.db.upgrade``)."""
