"""Storage: SQLAlchemy base, engine and sessions, Alembic migrations, org model."""
