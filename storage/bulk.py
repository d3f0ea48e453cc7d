"""Long writes as many short transactions, so that one import never locks everyone else out.

SQLite has a single write lock: a writer waiting for it sleeps in its busy handler and tries
again (after 1, 2, 5 … and at most 100 ms between tries). A bulk write therefore goes in chunks
sized to hold the lock for about `WRITE_SLICE` seconds, and after each commit the writer steps
aside for `SQLITE_PAUSE` (longer than the busy handler's longest sleep), so that anyone waiting
is let in between two chunks. PostgreSQL locks rows, not the database: its chunks are larger
and need no pause; committing each one still keeps the foreign-key locks on units short.

What is written this way must stay invisible until one short final transaction publishes it
(see ValueSets.stage / publish), so that the whole stays all or nothing for every reader.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Boolean, Date, DateTime, Dialect, Table
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # the unit of work's audit log inserts through this module
    from storage.unit_of_work import UnitOfWork

T = TypeVar("T")

# Seconds one chunk may hold SQLite's write lock.
WRITE_SLICE = 0.25
# Seconds a chunked writer steps aside after each commit on SQLite.
SQLITE_PAUSE = 0.12
FIRST_CHUNK = 5_000
MIN_CHUNK = 500
MAX_CHUNK = 200_000
POSTGRES_CHUNK = 100_000

Progress = Callable[[int, int], None]


def write_in_chunks(
    uow: UnitOfWork,
    total: int,
    build: Callable[[int, int], T],
    write: Callable[[UnitOfWork, T], None],
    progress: Progress | None = None,
) -> None:
    """Write items `0 … total-1` in chunks, each in its own short transaction:
    `build(start, stop)` prepares a chunk outside any transaction, `write(uow, chunk)` stores
    it inside one, which is then committed. `progress(done, total)` follows the chunks."""
    sqlite = uow.database.is_sqlite
    size = FIRST_CHUNK if sqlite else POSTGRES_CHUNK
    start = 0
    while start < total:
        stop = min(total, start + size)
        chunk = build(start, stop)
        began = time.perf_counter()
        with uow:
            write(uow, chunk)
            uow.commit()
        held = time.perf_counter() - began
        if progress is not None:
            progress(stop, total)
        if sqlite:
            size = _next_size(size, stop - start, held)
            if stop < total:
                time.sleep(SQLITE_PAUSE)
        start = stop


def repeat_until_done(uow: UnitOfWork, step: Callable[[UnitOfWork], int]) -> None:
    """Run `step(uow)` in short transactions (committed each) until it reports 0 rows done,
    stepping aside between them on SQLite: for a long delete."""
    while True:
        with uow:
            done = step(uow)
            uow.commit()
        if done == 0:
            return
        if uow.database.is_sqlite:
            time.sleep(SQLITE_PAUSE)


def _next_size(size: int, written: int, held: float) -> int:
    """The next chunk's size, so that it holds the lock for about WRITE_SLICE seconds."""
    if written <= 0 or held <= 0:
        return size
    wanted = int(written * WRITE_SLICE / held)
    # Grow gently (a chunk that ran on a quiet moment says little), shrink at once.
    wanted = min(wanted, size * 2)
    return max(MIN_CHUNK, min(MAX_CHUNK, wanted))


def driver_rows(
    dialect: Dialect, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """Rows of plain Python values as the database driver binds them for `insert_rows`: on
    SQLite, times, dates and booleans in the text SQLAlchemy stores them as (so that they read
    back the same); elsewhere unchanged. JSON columns take text already serialised. Done before
    the write transaction: it is per-value Python work."""
    if dialect.name != "sqlite":
        return [tuple(row) for row in rows]
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(table.c[name].type, (DateTime, Date, Boolean))
        else None
        for name in columns
    ]
    if not any(processors):
        return [tuple(row) for row in rows]
    return [
        tuple(
            value if process is None or value is None else process(value)
            for process, value in zip(processors, row, strict=True)
        )
        for row in rows
    ]


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `driver_rows` in bulk within the session's transaction: COPY on PostgreSQL,
    one executemany of plain tuples on SQLite (no per-row processing while the lock is held)."""
    if not rows:
        return
    connection = session.connection()
    names = ", ".join(f'"{name}"' for name in columns)
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))


def update_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    key: str,
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Set `columns` of the rows whose `key` is the last value of each row (`driver_rows` of
    columns + key), in one executemany of plain tuples within the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    mark = "%s" if connection.dialect.name == "postgresql" else "?"
    assignments = ", ".join(f'"{name}" = {mark}' for name in columns)
    statement = f'UPDATE {table.name} SET {assignments} WHERE "{key}" = {mark}'
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        with driver.cursor() as cursor:
            cursor.executemany(statement, list(rows))
        return
    connection.exec_driver_sql(statement, list(rows))
