"""A coordinator's import never locks everyone else out.

During the largest imports the workbook limits allow (40,000 units; 40,000 x 60 indicator
values; 100,000 grades; 40,000 tasks; 20,000 bonus items), each run in a thread as the bot runs
them, on SQLite and on PostgreSQL: a liaison's /tasks answers within 2 seconds, a rectification
is submitted through the whole /rectify dialog, and the reminder tick sends the reminder due
that day. The liaison starts once the import reports its first progress; every action of the
values import (the longest) starts while it is still writing. Today /rectify fails after
waiting 10 s for SQLite's write lock ("something went wrong"), and the reminder tick with it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.fake_bot_api import FakeUser
from bot.jobs import send_reminders
from scoring import BonusItem, Grade, GradeRecord, Group, IndicatorValues, Unit
from services.access import Actor, Role
from services.files.plan_file import default_plan_text
from services.findings import FindingView, finding_rectifications, record_finding
from services.people import register_units
from services.plans import load_plan
from services.reports import close_month
from services.tasks import TaskInput, import_tasks
from services.year_data import import_bonus, import_grades, import_values
from storage.database import Database
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld, bot_world, unit_id
from tests.fakes.bot_api import tiny_png

YEAR = 2025
# The largest values workbook the readers accept: 40,000 rows of 60 indicators.
VALUE_TOWNS = 40_000
INDICATORS = 60
# A large grades workbook: 100,000 rows (20,000 towns x 5 periods).
GRADE_TOWNS = 20_000
BONUS_ITEMS = 20_000
# /tasks must answer within this while an import runs: a person waiting for a list.
TASKS_WITHIN = 2.0
# No step of the /rectify dialog may wait longer than this: an import's write transaction is
# short, yet 40,000 rows and their audit entries take seconds on a loaded machine (today the
# step fails after waiting 10 s for the lock).
STEP_WITHIN = 8.0
# What /tasks takes with no import on an idle 2-core machine (generously). When the machine is
# so loaded that /tasks alone is slower, both bounds grow in proportion (the step's never past
# 9.5 s, below the 10 s a writer waits for the lock): what is measured is the import's effect.
QUIET_TASKS = 0.2
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")


@dataclass
class Served:
    """What the liaison got while one import ran."""

    tasks_seconds: float = 0.0
    rectify_seconds: list[float] = field(default_factory=list)
    receipt: str = ""
    reminders_sent: int = 0
    during_import: list[bool] = field(default_factory=list)


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A bot world on each database kind, its clock on a morning reminders are due."""
    async with bot_world(tmp_path, tmp_path, database_url=database.url) as w:
        yield w


def plan_text(indicators: int) -> str:
    """The default plan of the year with `indicators` indicators of equal points."""
    data = yaml.safe_load(default_plan_text(YEAR))
    points = data["development"]["points"] / indicators
    data["development"]["categories"] = [
        {
            "code": "all",
            "name": "全部",
            "indicators": [
                {"code": f"ind{j:02d}", "name": f"指标{j:02d}", "unit": "%", "points": points}
                for j in range(indicators)
            ],
        }
    ]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def many_towns(n: int) -> list[Unit]:
    """`n` towns besides the sample district's."""
    return [Unit(f"z{i:05d}", f"测试{i:05d}镇", Group.TOWN) for i in range(n)]


def at(day: date, hour: int = 9) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


async def liaison_of_dianzi(world: BotWorld) -> FakeUser:
    """A liaison of 店子镇 with one task; January and February closed, so the March report
    (due 5 April) brings a reminder on 2, 4 and 5 April and an overdue notice after."""
    import_tasks(
        world.uow(), OPERATOR, YEAR, [TaskInput("dianzi", "T1", "重点任务", work_item="key_work")]
    )
    liaison = await world.join(1001, Role.LIAISON, "dianzi", name="李联络")
    for month in (1, 2):
        close_month(world.uow(), OPERATOR, YEAR, month)
    return liaison


def tapped(world: BotWorld, user: FakeUser, label: str, prefix: bool = False) -> None:
    """Tap the newest button labelled `label` (or starting with it)."""
    for message in reversed(world.server.messages_to(user.id)):
        for text, _ in message.buttons:
            if text == label or (prefix and text.startswith(label)):
                user.tap(message, message.callback_data(text))
                return
    raise AssertionError(f"no button {label!r}; last: {world.texts(user)[-3:]}")


async def timed_step(world: BotWorld) -> float:
    """Let the bot answer what is pending; how long it took."""
    start = time.perf_counter()
    await world.step()
    return time.perf_counter() - start


async def serve_liaison(
    world: BotWorld, liaison: FakeUser, running: Callable[[], bool], found: FindingView
) -> Served:
    """/tasks, a whole /rectify, and one reminder tick, each started while the import runs."""
    served = Served()
    served.during_import.append(running())
    liaison.send_command("/tasks")
    served.tasks_seconds = await timed_step(world)
    assert "重点任务" in "".join(world.texts(liaison)[-3:])

    served.during_import.append(running())
    liaison.send_command("/rectify")
    served.rectify_seconds.append(await timed_step(world))
    tapped(world, liaison, f"#{found.id} ", prefix=True)
    served.rectify_seconds.append(await timed_step(world))
    liaison.send_text("已补齐台账")
    served.rectify_seconds.append(await timed_step(world))
    liaison.send_photo(tiny_png())
    served.rectify_seconds.append(await timed_step(world))
    tapped(world, liaison, "✅ 完成（1）")
    served.rectify_seconds.append(await timed_step(world))
    tapped(world, liaison, "✅ 提交")
    served.rectify_seconds.append(await timed_step(world))
    served.receipt = world.texts(liaison)[-1]
    assert finding_rectifications(world.uow(), COORDINATOR, found.id), world.texts(liaison)[-2:]

    served.during_import.append(running())
    result = await send_reminders(world.deps, world.app.bot, "tick")
    served.reminders_sent = result.sent
    return served


async def while_importing(
    world: BotWorld, liaison: FakeUser, day: date, run: Callable[[Callable[[int, int], None]], Any]
) -> tuple[Served, Any]:
    """Run `run(progress)` in a thread as the bot does; once it has stored its first chunk,
    serve the liaison; then wait for the import to finish."""
    world.clock.set(at(day))
    found = record_finding(
        world.uow(), COORDINATOR, unit_id(world, "dianzi"), f"{day} 台账不完整",
        "on_site_inspection", day, date(2025, 4, 30),
    )  # fmt: skip
    writing = threading.Event()

    def progress(done: int, total: int) -> None:
        writing.set()

    job = asyncio.ensure_future(asyncio.to_thread(run, progress))
    while not writing.is_set() and not job.done():
        await asyncio.sleep(0.02)
    assert not job.done(), "the import ended before it stored anything in chunks"
    served = await serve_liaison(world, liaison, lambda: not job.done(), found)
    return served, await job


@dataclass(frozen=True)
class Bounds:
    """The time bounds of this run: TASKS_WITHIN and STEP_WITHIN, grown on a loaded machine."""

    tasks: float
    step: float

    @classmethod
    def for_machine(cls, quiet_tasks: float) -> Bounds:
        """The bounds, given how long /tasks took here with no import running."""
        slowness = max(1.0, quiet_tasks / QUIET_TASKS)
        return cls(TASKS_WITHIN * slowness, min(STEP_WITHIN * slowness, 9.5))


def assert_served(served: Served, kind: str, bounds: Bounds, *, whole: bool) -> None:
    """The bounds every import must keep; `whole`: every action started during the import
    (a long import), else at least /tasks did (the others may start after a short one)."""
    during = served.during_import if whole else served.during_import[:1]
    assert all(during), f"{kind}: an action started after the import ended"
    took = served.tasks_seconds
    assert took < bounds.tasks, f"{kind}: /tasks took {took:.1f} s (bound {bounds.tasks:.1f} s)"
    slowest = max(served.rectify_seconds)
    assert slowest < bounds.step, f"{kind}: a /rectify step took {slowest:.1f} s"
    assert "整改已提交" in served.receipt, served.receipt
    assert served.reminders_sent == 1, f"{kind}: the reminder tick sent {served.reminders_sent}"


async def test_a_liaison_is_served_during_the_largest_imports(world: BotWorld) -> None:
    liaison = await liaison_of_dianzi(world)
    load_plan(world.uow(), OPERATOR, plan_text(INDICATORS), "plan-60.yaml")
    quiet = []
    for _ in range(4):  # the first warms up (the new plan parsed): what imports add is measured
        liaison.send_command("/tasks")
        quiet.append(await timed_step(world))
    bounds = Bounds.for_machine(sorted(quiet[1:])[1])
    towns_in = many_towns(VALUE_TOWNS)
    served, units = await while_importing(
        world,
        liaison,
        date(2025, 4, 2),
        lambda progress: register_units(world.uow(), OPERATOR, towns_in, progress=progress),
    )
    assert_served(served, "units", bounds, whole=False)
    assert len(units.added) == VALUE_TOWNS

    with UnitOfWork(world.database, world.clock, read_only=True) as work:
        towns = [r.code for r in work.repository(YearUnits).rows() if r.group == "town"]
    rng = np.random.default_rng(7)
    matrix = np.round(rng.normal(50, 10, (len(towns), INDICATORS)), 2)
    matrix[rng.random(matrix.shape) < 0.01] = np.nan
    values = IndicatorValues(tuple(towns), tuple(f"ind{j:02d}" for j in range(INDICATORS)), matrix)
    served, summary = await while_importing(
        world,
        liaison,
        date(2025, 4, 4),
        lambda progress: import_values(
            world.uow(), OPERATOR, YEAR, values, "values-40000.xlsx", progress=progress
        ),
    )
    assert_served(served, "values", bounds, whole=True)
    assert (summary.version, summary.rows) == (1, len(towns) * INDICATORS)

    grades = [
        GradeRecord(code, "key_work", period, "财政局", Grade.GOOD)
        for code in towns[:GRADE_TOWNS]
        for period in ("Q1", "Q2", "Q3", "Q4", "year")
    ]
    served, summary = await while_importing(
        world,
        liaison,
        date(2025, 4, 5),
        lambda progress: import_grades(
            world.uow(), OPERATOR, YEAR, grades, "grades-100000.xlsx", progress=progress
        ),
    )
    assert_served(served, "grades", bounds, whole=False)
    assert summary.added == len(grades)

    tasks = [TaskInput(code, "T1", f"{code} 重点任务", work_item="key_work") for code in towns]
    served, done = await while_importing(
        world,
        liaison,
        date(2025, 4, 6),
        lambda progress: import_tasks(world.uow(), OPERATOR, YEAR, tasks, progress=progress),
    )
    assert_served(served, "tasks", bounds, whole=False)
    assert (done.added, done.updated) == (len(towns) - 1, 1)  # dianzi had its T1 already

    bonus = [BonusItem(code, "创新做法", True, "文件") for code in towns[:BONUS_ITEMS]]
    served, summary = await while_importing(
        world,
        liaison,
        date(2025, 4, 7),
        lambda progress: import_bonus(
            world.uow(), OPERATOR, YEAR, bonus, "bonus.xlsx", progress=progress
        ),
    )
    assert_served(served, "bonus", bounds, whole=False)
    assert summary.added == BONUS_ITEMS
