"""Composition: the database and units of work of this process, from the settings."""

from __future__ import annotations

from functools import cache

from services.settings import get_settings
from storage.clock import Clock, SystemClock
from storage.database import Database, open_database
from storage.unit_of_work import UnitOfWork


@cache
def database() -> Database:
    """The database of this process (opened once)."""
    return open_database(get_settings().resolved_database_url)


def unit_of_work(clock: Clock | None = None) -> UnitOfWork:
    """A new unit of work on this process's database."""
    return UnitOfWork(database(), clock or SystemClock())


def read_only_unit_of_work(clock: Clock | None = None) -> UnitOfWork:
    """A new read-only unit of work (never takes the write lock)."""
    return UnitOfWork(database(), clock or SystemClock(), read_only=True)
