"""Write a new Alembic migration from the difference between the models and the migrations.

Usage: .venv/bin/python scripts/new_migration.py "what changed" 0002
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.database import open_database
from storage.migrate import alembic_config


def main() -> None:
    """Migrate a scratch SQLite database to head, then autogenerate the next revision."""
    message, revision = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as folder:
        database = open_database(f"sqlite:///{Path(folder) / 'scratch.db'}")
        config = alembic_config(database)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            command.revision(config, message=message, autogenerate=True, rev_id=revision)
        database.dispose()


if __name__ == "__main__":
    main()
