"""Bring a database's schema up to date with Alembic, keeping its data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database: Database) -> Config:
    """An Alembic configuration for `database`, with no ini file needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to `revision` (the newest by default)."""
    config = alembic_config(database)
    with database.engine.connect() as connection:
        raw: Any = connection.connection.driver_connection
        if database.is_sqlite:
            # SQLite changes a column by rebuilding its table, which foreign keys pointing at
            # that table forbid; they are switched off (only outside a transaction) for the
            # migration and every reference is checked once before it commits.
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if database.is_sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"a migration broke foreign keys: {broken[:5]}")
        finally:
            if database.is_sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(database: Database) -> str | None:
    """The newest revision kaohe knows."""
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()
