"""Alembic environment: runs on the connection `app.core.migrate` hands it."""
from alembic import context

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.core.db import Base

connection = context.config.attributes["connection"]
# A transaction per migration: a migration that builds an index on a busy table (the inbox)
# does it CONCURRENTLY in an autocommit block, without holding the ones before it open.
context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                  transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
