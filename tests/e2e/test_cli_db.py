"""`kaohe db upgrade`, `plan load`, `audit verify` and `backup` end to end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from cli.app import app
from services import wiring
from services.files.plan_file import default_plan_text
from storage.migrate import MIGRATIONS
from tests.e2e.cli import clear_caches, pointed_at, runner
from tests.texts import text_of


def _head() -> str:
    """The newest migration (the tests do not name it: branches add migrations)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


@pytest.fixture
def kaohe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The `kaohe` command on an SQLite file in a fresh folder; yields the folder."""
    with pointed_at(monkeypatch, f"sqlite:///{tmp_path / 'kaohe.db'}", tmp_path):
        yield tmp_path


def _plan(folder: Path, year: int = 2025) -> Path:
    path = folder / f"plan-{year}.yaml"
    path.write_text(default_plan_text(year), encoding="utf-8")
    return path


def test_db_upgrade_creates_the_schema_and_a_second_run_changes_nothing(kaohe: Path) -> None:
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert f"- → {_head()}" in first.output
    second = runner.invoke(app, ["db", "upgrade"])
    assert second.exit_code == 0
    assert f"{_head()} → {_head()}" in second.output


def test_plan_load_stores_versions_and_an_identical_file_changes_nothing(kaohe: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    plan = _plan(kaohe)
    assert (
        text_of("db.plan_loaded", year=2025, version=1)
        in runner.invoke(app, ["plan", "load", str(plan)]).output
    )
    assert (
        text_of("db.plan_loaded", year=2025, version=1)
        in runner.invoke(app, ["plan", "load", str(plan)]).output
    )
    plan.write_text(plan.read_text(encoding="utf-8").replace("cap: 60", "cap: 50"), "utf-8")
    assert (
        text_of("db.plan_loaded", year=2025, version=2)
        in runner.invoke(app, ["plan", "load", str(plan)]).output
    )


def test_plan_load_of_a_broken_plan_exits_2_and_stores_nothing(kaohe: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    plan = _plan(kaohe)
    plan.write_text(
        plan.read_text(encoding="utf-8").replace("points: 600", "points: 601"), "utf-8"
    )
    result = runner.invoke(app, ["plan", "load", str(plan)])
    assert result.exit_code == 2
    assert "development.points" in result.output
    with sqlite3.connect(kaohe / "kaohe.db") as conn:
        assert conn.execute("select count(*) from plans").fetchone() == (0,)
        assert conn.execute("select count(*) from audit_log").fetchone() == (0,)


def test_audit_verify_passes_then_finds_an_edited_entry(kaohe: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["plan", "load", str(_plan(kaohe, 2025))])
    runner.invoke(app, ["plan", "load", str(_plan(kaohe, 2026))])
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert text_of("db.audit_ok") in ok.output
    wiring.database().dispose()
    with sqlite3.connect(kaohe / "kaohe.db") as conn:
        conn.execute("update audit_log set actor = 'someone else' where id = 1")
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "#1" in broken.output


def test_backup_writes_a_consistent_sqlite_copy_and_never_overwrites(kaohe: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["plan", "load", str(_plan(kaohe))])
    target = kaohe / "backup.db"
    result = runner.invoke(app, ["backup", "-o", str(target)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(target) as conn:
        assert conn.execute("select year, version from plans").fetchall() == [(2025, 1)]
        assert conn.execute("select count(*) from audit_log").fetchone() == (1,)
    again = runner.invoke(app, ["backup", "-o", str(target)])
    assert again.exit_code == 2


def test_backup_of_postgresql_is_a_snapshot_in_an_sqlite_file(
    tmp_path: Path, postgres_url: str
) -> None:
    from services.access import Actor
    from services.plans import load_plan
    from storage.backup import backup
    from storage.database import open_database
    from storage.unit_of_work import UnitOfWork
    from tests.conftest import _truncate_all

    database = open_database(postgres_url)
    _truncate_all(database)
    load_plan(UnitOfWork(database), Actor.operator("t"), default_plan_text(2025), "p")
    rows = backup(database, tmp_path / "pg.db")
    database.dispose()
    assert rows >= 3  # the plan, its audit entry, the audit head
    with sqlite3.connect(tmp_path / "pg.db") as conn:
        assert conn.execute("select year from plans").fetchall() == [(2025,)]
        assert conn.execute("select version_num from alembic_version").fetchall() == [(_head(),)]


def test_a_command_on_an_unreachable_database_exits_4_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAOHE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    clear_caches()
    try:
        result = runner.invoke(app, ["people", "list"])
    finally:
        wiring.database().dispose()
        clear_caches()
    assert result.exit_code == 4
    assert "无法连接数据库" in result.output
