"""Alembic environment: runs on the connection `app.core.migrate` hands it."""
from alembic import context

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.core.db import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
