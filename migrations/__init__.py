"""Alembic environment and versions; packaged so `modbot db upgrade` works from any install."""
