"""Alembic migrations of the mirror; run them with ``picqer-sync db upgrade``."""
