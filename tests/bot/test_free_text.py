"""Control and bidi characters are cleaned at the edge, by one rule, for every kind of free text:
text typed in a dialog, a broadcast, command arguments, Telegram display names, file names,
workbook cells and command-line arguments; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

from cli.app import main
from services import wiring
from services.access import Actor, Role
from services.files.plan_file import default_plan_text, load_plan_text
from services.files.reader import read_units
from services.files.task_reader import read_tasks
from services.findings import finding_rectifications, record_finding
from services.free_text import clean_text
from services.people import list_people, register_units
from services.plans import load_plan
from services.settings import get_settings
from services.tasks import import_tasks, tasks_of_unit
from storage.database import open_database
from storage.models import BroadcastRow, EvidenceRow, UnitRow
from tests.bot.steps import tap_starting
from tests.bot.world import OPERATOR, BotWorld, bot_world, unit_id
from tests.conftest import _truncate_all

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")
# What people paste: NUL, ESC, BEL, a right-to-left override and isolates, marks, CR LF.
HOSTILE = "\u202e甲\x00乙\x1b[31m\x07\u2066丙\u2069\u200f\r\n第二行\t制表"
CLEAN = "甲乙[31m丙\n第二行\t制表"


# --- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (HOSTILE, CLEAN),
        ("line one\nline two\ttab", "line one\nline two\ttab"),  # newlines and tabs stay
        ("a\r\nb\rc\u2028d\x85e", "a\nb\nc\nd\ne"),  # every line break becomes a newline
        ("\x7f\x80\x9f\ufeff\u061c\u202a\u202b\u202c\u202d\u2067\u2068", ""),
        ("👩\u200d💻 ZWJ\u200c", "👩\u200d💻 ZWJ\u200c"),  # joiners inside words stay
        ("\ud800lone", "\ufffdlone"),  # a lone surrogate cannot be stored anywhere
        ("店子镇 2025年3月", "店子镇 2025年3月"),
    ],
)
def test_one_rule_for_all_free_text(raw: str, kept: str) -> None:
    assert clean_text(raw) == kept
    assert clean_text(kept) == kept


# --- through the bot, on both databases ------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_world(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """A bot world on SQLite and on PostgreSQL."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        database = open_database(url)
        _truncate_all(database)
        database.dispose()
    async with bot_world(sqlite_template, tmp_path, database_url=url) as world:
        yield world
        assert world.errors == []


async def test_a_typed_note_and_a_file_name_are_stored_clean(any_world: BotWorld) -> None:
    world = any_world
    liaison = await world.join(1001, Role.LIAISON, "dianzi")
    found = record_finding(
        world.uow(), COORDINATOR, unit_id(world, "dianzi"), "台账缺失", "on_site_inspection",
        date(2025, 3, 1), date(2025, 3, 31),
    )  # fmt: skip
    liaison.send_command("/rectify")
    await world.step()
    await tap_starting(world, liaison, f"#{found.id} ")
    liaison.send_text(HOSTILE)
    await world.step()
    liaison.send_document(b"%PDF-1.4 proof", "整改\u202efdp.exe\x00.pdf", "application/pdf")
    await world.step()
    await tap_starting(world, liaison, "✅ 完成")
    await tap_starting(world, liaison, "✅ 提交")
    assert "整改已提交" in world.texts(liaison)[-1]
    [stored] = finding_rectifications(world.uow(), COORDINATOR, found.id)
    assert stored.text == CLEAN
    with world.uow() as uow:
        assert [e.file_name for e in uow.session.query(EvidenceRow)] == ["整改fdp.exe.pdf"]


async def test_a_display_name_is_stored_clean(any_world: BotWorld) -> None:
    world = any_world
    await world.join(1001, Role.LIAISON, "dianzi", name="\u202e张\x00三\u2066")
    [person] = list_people(world.uow(), OPERATOR)
    assert person.display_name == "张三"


async def test_a_name_of_nothing_but_marks_becomes_the_account_id(any_world: BotWorld) -> None:
    world = any_world
    await world.join(1001, Role.LIAISON, "dianzi", name="\u202e\x00\u200f")
    [person] = list_people(world.uow(), OPERATOR)
    assert person.display_name == "1001"


async def test_command_arguments_are_read_clean(any_world: BotWorld) -> None:
    world = any_world
    coordinator = await world.join(2001, Role.COORDINATOR)
    coordinator.send_command("/matrix", "\u20662025-03\u2069\x00")
    await world.step()
    assert "2025 年 3 月" in world.texts(coordinator)[-2]
    assert "用法" not in world.texts(coordinator)[-1]


async def test_a_broadcast_is_stored_clean(any_world: BotWorld) -> None:
    world = any_world
    coordinator = await world.join(2001, Role.COORDINATOR)
    await world.join(1001, Role.LIAISON, "dianzi")
    coordinator.send_command("/broadcast")
    await world.step()
    coordinator.send_text(HOSTILE)
    await world.step()
    await tap_starting(world, coordinator, "不附文件")
    await tap_starting(world, coordinator, "全部联络员")
    await tap_starting(world, coordinator, "立即发送")
    await tap_starting(world, coordinator, "确认发送")
    with world.uow() as uow:
        assert [b.text for b in uow.session.query(BroadcastRow)] == [CLEAN.strip()]


# --- workbooks and the command line ----------------------------------------------------------


def hostile_workbook(path: Path, sheet: str, rows: list[list[object]]) -> Path:
    """A workbook holding control characters (XlsxWriter writes them as _x0000_ escapes)."""
    book = xlsxwriter.Workbook(path)
    worksheet = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        worksheet.write_row(r, 0, row)
    book.close()
    return path


def test_units_and_tasks_from_workbooks_are_stored_clean(
    uow: object, database: object, tmp_path: Path
) -> None:
    make = uow
    assert callable(make)
    units = read_units(
        hostile_workbook(
            tmp_path / "units.xlsx",
            "units",
            [["code", "name", "group"], ["a01\x00", "\u202e甲\x07镇", "town"]],
        )
    )
    register_units(make(), OPERATOR, units)
    with make() as work:
        assert [(u.code, u.name) for u in work.session.query(UnitRow)] == [("a01", "甲镇")]
    tasks = read_tasks(
        hostile_workbook(
            tmp_path / "tasks.xlsx",
            "tasks",
            [
                ["unit", "code", "title", "source_document", "target", "due_date", "work_item"],
                ["a01", "T1", "招商\x1b[0m引资\u202e", "", "签约\x00 5 个", "", "key_work"],
            ],
        ),
        load_plan_text(default_plan_text(2025), "plan"),
        units,
    )
    load_plan(make(), OPERATOR, default_plan_text(2025), "default")
    import_tasks(make(), OPERATOR, 2025, tasks)
    with make() as work:
        unit_id = work.session.query(UnitRow).one().id
    [task] = tasks_of_unit(make(), OPERATOR, unit_id, 2025)
    assert (task.title, task.target) == ("招商[0m引资", "签约 5 个")


def test_command_line_arguments_are_cleaned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KAOHE_DATABASE_URL", f"sqlite:///{tmp_path / 'kaohe.db'}")
    monkeypatch.delenv("KAOHE_BOT_USERNAME", raising=False)
    get_settings.cache_clear()
    wiring.database.cache_clear()
    units = [["code", "name", "group"], ["a01", "甲镇", "town"]]
    workbook = hostile_workbook(tmp_path / "u.xlsx", "units", units)
    try:
        for argv in (
            ["kaohe", "db", "upgrade"],
            ["kaohe", "units", "import", str(workbook)],
            ["kaohe", "invite", "--role", "liaison\x00", "--unit", "\u202ea01\u2069"],
        ):
            monkeypatch.setattr(sys, "argv", argv)
            with pytest.raises(SystemExit) as exit_status:
                main()
            assert exit_status.value.code == 0, capsys.readouterr()
        assert "/start " in capsys.readouterr().out
    finally:
        wiring.database().dispose()
        get_settings.cache_clear()
        wiring.database.cache_clear()
