"""Running the `kaohe` command in a test: one runner, and pointing the command at a database.

The command reads its settings and opens its database once per process (both cached); a test
that points it elsewhere clears both caches before and after, so that no test sees another's.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from services import wiring
from services.settings import get_settings

runner = CliRunner()


def kaohe_cli(*args: str) -> Result:
    """Run `kaohe` with these arguments."""
    return runner.invoke(app, list(args))


def clear_caches() -> None:
    """Forget the cached settings and database, so the next command reads the environment."""
    get_settings.cache_clear()
    wiring.database.cache_clear()


def migrated_sqlite(template: Path, folder: Path) -> str:
    """The URL of a migrated SQLite file in `folder`, copied from the session's template (the
    same schema as `kaohe db upgrade` makes, without migrating again for every test)."""
    path = folder / "kaohe.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@contextmanager
def pointed_at(
    monkeypatch: pytest.MonkeyPatch, database_url: str, folder: Path, **env: str
) -> Iterator[None]:
    """`kaohe` run in `folder` (so no stray .env of the developer's is read) on `database_url`,
    with these further environment variables; the database is closed at the end."""
    monkeypatch.chdir(folder)
    monkeypatch.setenv("KAOHE_DATABASE_URL", database_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clear_caches()
    try:
        yield
    finally:
        wiring.database().dispose()
        clear_caches()
