"""`kaohe tasks import`, run as a separate process against SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import xlsxwriter
from sqlalchemy import func, select

from services.access import Actor
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from storage.database import Database
from storage.models import AuditEntry, TaskRow, UnitRow
from storage.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[2]
HEADERS = ["unit", "code", "title", "source_document", "target", "due_date", "work_item"]


def _kaohe(
    database: Database, *args: str, language: str = "en"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAOHE_DATABASE_URL": database.url,
        "KAOHE_LANGUAGE": language,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _workbook(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("tasks")
    for r, row in enumerate([HEADERS, *rows]):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return path


@pytest.fixture
def district(uow: Callable[[], UnitOfWork]) -> Callable[[], UnitOfWork]:
    """The plan of 2025 and two units in the test database."""
    load_plan(uow(), Actor.operator("test"), default_plan_text(2025), "plan.yaml")
    with uow() as work:
        for code, name, group in (
            ("dianzi", "店子镇", "town"),
            ("fgj", "区发改局", "zone_or_department"),
        ):
            work.session.add(UnitRow(code=code, name=name, group=group, created_at=work.now()))
        work.commit()
    return uow


def _count(uow: Callable[[], UnitOfWork], model: type) -> int:
    with uow() as work:
        return int(work.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_importing_a_tasks_workbook_stores_the_tasks_and_prints_a_summary(
    database: Database, district: Callable[[], UnitOfWork], tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "tasks.xlsx",
        [
            ["dianzi", "T01", "建成 5G 基站", "实施方案", "200 个", "2025-06-30", "重点工作"],
            ["区发改局", "T01", "出台政策", "", "", "", "basic_work"],
        ],
    )
    result = _kaohe(database, "tasks", "import", str(path), "--year", "2025")
    assert result.returncode == 0, result.stderr
    assert "2 in all, 2 added, 0 updated, 0 unchanged" in result.stdout
    assert _count(district, TaskRow) == 2

    again = _kaohe(database, "tasks", "import", str(path), "--year", "2025", language="zh")
    assert again.returncode == 0, again.stderr
    assert "新增 0 项" in again.stdout and "未变 2 项" in again.stdout


def test_a_workbook_with_bad_rows_lists_every_one_stores_nothing_and_exits_2(
    database: Database, district: Callable[[], UnitOfWork], tmp_path: Path
) -> None:
    path = _workbook(
        tmp_path / "tasks.xlsx",
        [
            ["dianzi", "T01", "好的一行", "", "", "", "key_work"],
            ["nowhere", "T02", "单位不对", "", "", "", "key_work"],
            ["dianzi", "T03", "工作项不对", "", "", "", "daily_work"],
            ["dianzi", "T04", "日期不对", "", "", "2025-13-01", "key_work"],
            ["dianzi", "T01", "编号重复", "", "", "", "key_work"],
        ],
    )
    audits = _count(district, AuditEntry)
    result = _kaohe(database, "tasks", "import", str(path), "--year", "2025")
    assert result.returncode == 2
    for row in ("row 3", "row 4", "row 5", "row 6"):
        assert row in result.stderr
    assert "nowhere" in result.stderr and "2025-13-01" in result.stderr
    assert _count(district, TaskRow) == 0
    assert _count(district, AuditEntry) == audits


def test_a_year_without_a_plan_is_refused_with_exit_2(
    database: Database, district: Callable[[], UnitOfWork], tmp_path: Path
) -> None:
    path = _workbook(tmp_path / "tasks.xlsx", [["dianzi", "T01", "x", "", "", "", "key_work"]])
    result = _kaohe(database, "tasks", "import", str(path), "--year", "2030")
    assert result.returncode == 2
    assert "2030" in result.stderr and "plan load" in result.stderr
    assert _count(district, TaskRow) == 0
