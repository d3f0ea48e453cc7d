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
from collections.abc import Callable
from typing import TypeVar

from storage.unit_of_work import UnitOfWork

T = TypeVar("T")

# Seconds one chunk may hold SQLite's write lock.
WRITE_SLICE = 0.15
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
