"""Storage behind SQLAlchemy: the schema, one module per concern (posts and cursors, decisions, cases,
outbox, fact-checks, settings, drafts, quarantine), the typed records they return, the database
thread every async caller goes through, and the spool that keeps accepted posts while the database
is down."""
