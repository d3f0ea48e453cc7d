"""A consistent copy of the database while it runs, always as an SQLite file.

SQLite is copied with its online backup API. Any other database is read table by table in
one repeatable-read transaction (a snapshot) into a new SQLite file with the same schema, so
that a backup can be opened anywhere with nothing but Python.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import insert, select, text

from storage.database import Database, open_database
from storage.migrate import current_revision, upgrade
from storage.models import Base

CHUNK = 5000


def backup(database: Database, target: Path) -> int:
    """Write a consistent copy of `database` to the SQLite file `target`; return the rows
    copied (pages for SQLite). The target appears only once it is complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".db.tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        copied = _copy_sqlite(database, tmp) if database.is_sqlite else _copy_other(database, tmp)
        tmp.replace(target)
        return copied
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_sqlite(database: Database, tmp: Path) -> int:
    raw = database.engine.raw_connection()
    try:
        dest = sqlite3.connect(tmp)
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            source.backup(dest)
            return int(dest.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dest.close()
    finally:
        raw.close()


def _copy_other(database: Database, tmp: Path) -> int:
    dest = open_database(f"sqlite:///{tmp}")
    try:
        upgrade(dest, current_revision(database) or "head")
        copied = 0
        with database.engine.connect() as source:
            source = source.execution_options(isolation_level="REPEATABLE READ")
            with source.begin(), dest.engine.begin() as out:
                if database.engine.dialect.name == "postgresql":
                    source.execute(text("SET TRANSACTION READ ONLY"))
                for table in Base.metadata.sorted_tables:
                    result = source.execute(select(table)).mappings()
                    while batch := result.fetchmany(CHUNK):
                        out.execute(insert(table), [dict(row) for row in batch])
                        copied += len(batch)
        return copied
    finally:
        dest.dispose()


def backup_contents(path: Path) -> tuple[int, int]:
    """The tables of an SQLite backup and the rows they hold together (what a backup says)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        rows = sum(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables)
    return len(tables), rows
