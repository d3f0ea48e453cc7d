"""A locked or unreachable database: a clear error, and nothing half-written."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from services.access import Actor
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from storage.clock import SystemClock
from storage.database import open_database
from storage.errors import DatabaseUnavailable
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import AuditEntry, PlanVersion
from storage.unit_of_work import UnitOfWork

OPERATOR = Actor.operator("test")


def test_a_database_locked_by_another_writer_gives_a_clear_error_and_stores_nothing(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kaohe.db"
    shutil.copyfile(sqlite_template, path)
    database = open_database(f"sqlite:///{path}", lock_timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2025), "plan.yaml")
        assert caught.value.reason == "locked"
    finally:
        other.execute("ROLLBACK")
        other.close()
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.session.execute(select(PlanVersion)).first() is None
        assert uow.session.execute(select(AuditEntry)).first() is None
    database.dispose()


def test_an_unreachable_database_gives_a_clear_error() -> None:
    database = open_database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(DatabaseUnavailable) as caught:
        load_plan(UnitOfWork(database, SystemClock()), OPERATOR, default_plan_text(2025), "p")
    assert caught.value.reason == "unreachable"
    database.dispose()


def test_upgrading_a_database_with_data_keeps_the_data(database: object) -> None:
    from storage.database import Database

    assert isinstance(database, Database)
    load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2025), "plan.yaml")
    assert current_revision(database) == head_revision(database)
    upgrade(database)
    with UnitOfWork(database, read_only=True) as uow:
        plans = uow.session.execute(select(PlanVersion.year, PlanVersion.version)).all()
    assert [tuple(p) for p in plans] == [(2025, 1)]


def test_a_lock_timeout_on_postgresql_is_busy_not_unreachable(postgres_url: str) -> None:
    from tests.conftest import _truncate_all

    database = open_database(postgres_url, lock_timeout=0.2)
    _truncate_all(database)
    load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2025), "plan.yaml")
    other = database.engine.connect()
    other.exec_driver_sql("SELECT * FROM audit_head FOR UPDATE")  # another writer's audit
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2026), "plan.yaml")
        assert caught.value.reason == "locked"
    finally:
        other.rollback()
        other.close()
    database.dispose()


def test_upgrading_value_sets_to_staged_writes_keeps_them(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(database, "0001")
    with database.engine.begin() as conn:
        conn.exec_driver_sql(
            'INSERT INTO units (code, name, "group", active, created_at) '
            "VALUES ('dianzi', '店子镇', 'town', 1, '2025-01-02 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO value_sets (year, version, source, imported_at) "
            "VALUES (2025, 1, 'v.xlsx', '2025-01-02 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO indicator_values (value_set_id, unit_id, indicator, value) "
            "VALUES (1, 1, 'gdp_growth', 7.5)"
        )
    upgrade(database)
    assert current_revision(database) == head_revision(database)
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version FROM value_sets").all() == [(1,)]
        assert conn.exec_driver_sql("SELECT value FROM indicator_values").all() == [(7.5,)]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").all() == [(1,)]
        conn.exec_driver_sql(
            "INSERT INTO value_sets (year, version, source, imported_at) "
            "VALUES (2025, NULL, 'staged.xlsx', '2025-01-03 00:00:00')"
        )  # a set still being written has no version yet
    database.dispose()


def test_a_reader_neither_waits_for_a_writer_nor_blocks_one(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "kaohe.db"
    shutil.copyfile(sqlite_template, path)
    database = open_database(f"sqlite:///{path}", lock_timeout=0.2)
    load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2025), "plan.yaml")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a long import holds the write lock
    try:
        with UnitOfWork(database, read_only=True) as uow:
            assert uow.session.execute(select(PlanVersion.year)).scalars().all() == [2025]
    finally:
        other.execute("ROLLBACK")
        other.close()
    with UnitOfWork(database, read_only=True) as reading:
        reading.session.execute(select(PlanVersion.year)).all()  # a reader's snapshot is open
        load_plan(UnitOfWork(database), OPERATOR, default_plan_text(2026), "plan.yaml")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar() == 64 * 1024 * 1024
    database.dispose()
