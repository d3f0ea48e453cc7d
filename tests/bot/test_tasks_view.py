"""/tasks: the unit's target tasks with traffic lights and its open findings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest

from bot.dialogs.tasks_view import task_light
from bot.fake_bot_api import FakeUser
from bot.message_split import split_messages, utf16_length
from services.access import Actor, Role
from services.findings import record_finding, submit_rectification
from services.people import actor_for_telegram_user
from services.reports import ReportEntryInput, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from templates import render
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.fakes.bot_api import record_errors

# The world's clock stands at 2025-03-10 10:00 in Shanghai.
TODAY = date(2025, 3, 10)


@pytest.fixture
async def world(world: BotWorld) -> AsyncIterator[BotWorld]:
    """The bot world; the test fails if a handler raised."""
    errors = record_errors(world.app)
    yield world
    assert errors == []


def task(code: str, title: str, due: date | None) -> TaskInput:
    """A key-work task of 店子镇."""
    return TaskInput("dianzi", code, title, due_date=due, work_item="key_work")


def liaison(world: BotWorld) -> Actor:
    """The joined liaison as a service actor."""
    actor = actor_for_telegram_user(world.uow(), 1001)
    assert actor is not None and actor.unit_id is not None
    return actor


async def show(world: BotWorld, user: FakeUser) -> list[str]:
    """Send /tasks and return the messages it answered with."""
    before = len(world.server.messages_to(user.id))
    user.send_command("/tasks")
    await world.step()
    return [m.text or "" for m in world.server.messages_to(user.id)[before:]]


def line_of(text: str, code: str) -> str:
    """The line of a task or finding, and the one after it."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if f" {code} " in line)
    return "\n".join(lines[index : index + 2])


def test_task_lights() -> None:
    assert task_light(date(2025, 3, 9), False, TODAY) == "overdue"
    assert task_light(date(2025, 3, 10), False, TODAY) == "soon"
    assert task_light(date(2025, 3, 13), False, TODAY) == "soon"
    assert task_light(date(2025, 3, 14), False, TODAY) == "on_track"
    assert task_light(None, False, TODAY) == "on_track"
    assert task_light(date(2025, 3, 1), True, TODAY) == "done"


def test_split_messages_keeps_blocks_whole_and_under_the_limit() -> None:
    blocks = [f"block {i} " + "字" * 300 for i in range(30)]
    messages = split_messages(blocks, limit=1000)
    assert all(utf16_length(m) <= 1000 for m in messages)
    assert "\n".join(messages) == "\n".join(blocks)
    assert utf16_length("🟢") == 2


async def test_tasks_show_a_traffic_light_each(world: BotWorld) -> None:
    import_tasks(
        world.uow(),
        OPERATOR,
        2025,
        [
            task("T1", "招商引资", date(2025, 3, 1)),
            task("T2", "老旧小区改造", date(2025, 3, 12)),
            task("T3", "乡村振兴示范片", date(2025, 9, 30)),
            task("T4", "企业培育", date(2025, 2, 28)),
        ],
    )
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    ids = [t.id for t in tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)]
    world.clock.set(datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI))
    submit_report(
        world.uow(),
        actor,
        actor.unit_id,
        2025,
        2,
        [ReportEntryInput(ids[0], "done", "100%"), ReportEntryInput(ids[3], "done", "100%")],
    )
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    # The newest report (March's) decides: T4 is no longer done there.
    submit_report(
        world.uow(),
        actor,
        actor.unit_id,
        2025,
        3,
        [ReportEntryInput(ids[0], "done", "100%"), ReportEntryInput(ids[3], "behind", "80%")],
    )
    [text] = await show(world, user)
    assert "店子镇 · 2025 年度目标任务" in text
    assert line_of(text, "T1").startswith("✅")
    assert "3 月报送：已完成，100%" in line_of(text, "T1")
    assert line_of(text, "T2").startswith("🟡")
    assert "还有 2 天" in line_of(text, "T2")
    assert line_of(text, "T3").startswith("🟢")
    assert line_of(text, "T4").startswith("🔴")
    assert "已逾期 10 天" in line_of(text, "T4")


async def test_open_findings_are_listed_with_their_deadlines(world: BotWorld) -> None:
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", None)])
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    unit = actor.unit_id

    def finding(description: str, deadline: date) -> int:
        found = date(2025, 2, 1)
        return record_finding(
            world.uow(), OPERATOR, unit, description, "visit", found, deadline
        ).id

    overdue = finding("台账不完整", date(2025, 3, 5))
    soon = finding("安全标识缺失", date(2025, 3, 11))
    submitted = finding("资料未归档", date(2025, 4, 30))
    later = finding("宣传栏未更新", date(2025, 4, 30))
    submit_rectification(world.uow(), actor, submitted, "已归档")
    [text] = await show(world, user)
    assert "待整改问题（4 项）" in text
    assert line_of(text, f"#{overdue}").startswith("🔴")
    assert "2025-03-05（已逾期）" in line_of(text, f"#{overdue}")
    assert line_of(text, f"#{soon}").startswith("🟡")
    assert "还有 1 天" in line_of(text, f"#{soon}")
    assert line_of(text, f"#{submitted}").startswith("📨")
    assert "等待审核" in line_of(text, f"#{submitted}")
    assert line_of(text, f"#{later}").startswith("🟢")


async def test_no_tasks_and_no_findings_are_said_plainly(world: BotWorld) -> None:
    user = await world.join(1001)
    [text] = await show(world, user)
    assert "还没有给本单位下达目标任务" in text
    assert "没有待整改的问题" in text


async def test_a_year_without_a_plan_is_said_clearly(world: BotWorld) -> None:
    user = await world.join(1001)
    world.clock.set(datetime(2026, 1, 2, 9, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    assert "2026 年度的考核方案还没有导入" in text


async def test_a_long_list_is_split_under_telegrams_limit(world: BotWorld) -> None:
    tasks = [
        task(f"T{n:02d}", f"第 {n} 项任务：" + "建设" * 150, date(2025, 12, 31)) for n in range(40)
    ]
    import_tasks(world.uow(), OPERATOR, 2025, tasks)
    user = await world.join(1001)
    texts = await show(world, user)
    assert len(texts) > 1
    assert all(utf16_length(t) <= 4096 for t in texts)
    joined = "\n".join(texts)
    positions = [joined.index(f" T{n:02d} ") for n in range(40)]
    assert positions == sorted(positions)
    assert "没有待整改的问题" in texts[-1]


async def test_tasks_is_for_liaisons_only(world: BotWorld) -> None:
    coordinator = await world.join(2001, Role.COORDINATOR, None, "李四")
    coordinator.send_command("/tasks")
    await world.step()
    assert "您的角色不能使用这个功能" in world.texts(coordinator)[-1]


async def test_tasks_leaves_a_report_in_progress_alone(world: BotWorld) -> None:
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", None)])
    user = await world.join(1001)
    user.send_command("/report")
    await world.step()
    intro = world.last(user)
    user.tap(intro, intro.callback_data("📝 逐项填写"))
    await world.step()
    await show(world, user)
    status = next(m for m in reversed(world.server.messages_to(user.id)) if m.buttons)
    user.tap(status, status.callback_data("正常推进"))
    await world.step()
    assert "请输入关键数据" in world.texts(user)[-1]


async def test_the_month_reports_show_what_is_done_overdue_and_due_next(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 1, 10, 9, 0, tzinfo=SHANGHAI))
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", date(2025, 6, 30))])
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    [t1] = tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)
    world.clock.set(datetime(2025, 2, 3, 9, 0, tzinfo=SHANGHAI))
    entries = [ReportEntryInput(t1.id, "on_track", "10%")]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 1, entries)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    block = text.split("月度进展报送")[1].split("待整改问题")[0]
    assert "✅ 按时报送：1 月" in block
    assert "🔴 2 月进展逾期未报（截止 2025-03-05），请用 /report 尽快补报" in block
    assert "⏳ 3 月进展待报送，截止 2025-04-05" in block
    assert block.index("2 月") < block.index("3 月")


async def test_an_overdue_month_report_no_longer_offers_is_not_sent_to_it(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 1, 10, 9, 0, tzinfo=SHANGHAI))
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", date(2025, 6, 30))])
    user = await world.join(1001)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    block = text.split("月度进展报送")[1].split("待整改问题")[0]
    # January can no longer be reported (/report offers March and February): not sent there.
    january = render(
        "tasksview.months",
        "zh",
        **{k: [] for k in ("on_time", "late", "missing", "overdue", "pending")},
        too_late=[{"month": 1, "due": date(2025, 2, 5)}],
    )
    assert january.splitlines()[-1] in block
    assert "1 月进展逾期未报（截止 2025-02-05），请用 /report" not in block
    assert "🔴 2 月进展逾期未报（截止 2025-03-05），请用 /report 尽快补报" in block
