"""Write a new Alembic migration from the difference between the models and the migrations.

Usage: .venv/bin/python scripts/new_migration.py "what changed" 0002
The new file is then tidied with ruff (imports and format), as the test command checks.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

# The models of this checkout, whatever the virtual environment's editable install points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
    versions = Path(__file__).resolve().parents[1] / "storage" / "migrations" / "versions"
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "check", "--fix", "-q", str(versions)], check=False)
    subprocess.run([str(ruff), "format", "-q", str(versions)], check=False)


if __name__ == "__main__":
    main()
