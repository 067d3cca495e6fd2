"""Alembic, driven from code: `storeflow db upgrade` and the tests use the same entry point."""
from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext

import app.models  # noqa: F401  (every table on Base.metadata, for the comparison below)
from app.core.db import Base, db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _alembic(connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(revision: str = "head") -> None:
    """Apply migrations up to `revision` on the configured database, each in a transaction of
    its own (migrations/env.py), so that one may build an index CONCURRENTLY between them."""
    with db.engine.connect() as connection:
        command.upgrade(_alembic(connection), revision)


def revision(message: str) -> None:
    """Autogenerate a new migration from the models (a developer's tool)."""
    with db.engine.begin() as connection:
        command.revision(_alembic(connection), message=message, autogenerate=True)


def pending_differences() -> list:
    """What the models have that the migrated database does not (empty when they agree)."""
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata)


def revisions() -> tuple[set[str], set[str]]:
    """(the database's current revisions, the code's heads): equal when migrations are done."""
    from alembic.script import ScriptDirectory

    # A read-only look: alembic's INFO lines ("Context impl PostgresqlImpl") say nothing here.
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
            return current, set(ScriptDirectory.from_config(_alembic(connection)).get_heads())
    finally:
        alembic_log.setLevel(level)
