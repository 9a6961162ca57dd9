"""Alembic revisions, one per schema change, applied in order by `modbot db upgrade`."""
