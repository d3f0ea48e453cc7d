"""The reminder job against the fake Bot API: sent once, in the person's language, with faults."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from bot.fake_bot_api import FakeUser
from bot.jobs import SCHEDULER_ID, register_jobs, send_reminders
from services.access import Role
from services.reports import close_month
from services.tasks import TaskInput, import_tasks
from templates import render
from tests.bot.steps import new_texts
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld, new_application


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


async def district(world: BotWorld) -> tuple[FakeUser, FakeUser]:
    """A liaison of dianzi (with a task) and a coordinator; January and February are closed,
    so only March's report (due 5 April) is owed."""
    import_tasks(
        world.uow(), OPERATOR, 2025, [TaskInput("dianzi", "T1", "任务", work_item="key_work")]
    )
    liaison = await world.join(501, Role.LIAISON, "dianzi", name="李联络")
    coordinator = await world.join(601, Role.COORDINATOR, name="王协调")
    for month in (1, 2):
        close_month(world.uow(), OPERATOR, 2025, month)
    return liaison, coordinator


async def test_the_liaison_is_reminded_once_in_their_language(world: BotWorld) -> None:
    liaison, _ = await district(world)
    seen = len(world.texts(liaison))
    world.clock.set(at(date(2025, 4, 2)))
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    (text,) = new_texts(world, liaison, seen)
    assert "2025 年 3 月进展报送还有 3 天截止" in text


async def test_the_coordinator_gets_one_morning_digest_with_the_details_behind_a_button(
    world: BotWorld,
) -> None:
    liaison, coordinator = await district(world)
    seen = len(world.texts(coordinator))
    world.clock.set(at(date(2025, 4, 9), 8, 30))
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.set(at(date(2025, 4, 9), 9, 0))
    await send_reminders(world.deps, world.app.bot, "one")
    (digest,) = new_texts(world, coordinator, seen)  # the escalation is in it, not after it
    assert "早上好" in digest and "待您审核：0 项" in digest
    assert "已逾期 1 项，涉及 1 个单位" in digest and "其中 1 项已逾期 3 天以上" in digest
    assert "店子镇" not in digest  # counts first; the units come when asked
    message = world.last(coordinator)
    button = render("remind.details_button", "zh", count=1)
    coordinator.tap(message, message.callback_data(button))
    await world.step()
    (details,) = new_texts(world, coordinator, seen + 1)
    assert "🚨 店子镇：2025 年 3 月进展报送 4 天" in details
    (now,) = [
        m for m in world.server.messages_to(coordinator.id) if m.message_id == message.message_id
    ]
    assert now.buttons == []  # used: the button is gone, the details are not offered twice
    assert liaison.id


async def test_a_restart_between_two_reminders_sends_each_once(world: BotWorld) -> None:
    liaison, _ = await district(world)
    seen = len(world.texts(liaison))
    world.clock.set(at(date(2025, 4, 2)))
    await send_reminders(world.deps, world.app.bot, world.app.bot_data.get(SCHEDULER_ID, "a"))
    restarted = new_application(world, updater=False)
    await restarted.initialize()
    try:
        world.clock.advance(minutes=5)
        await send_reminders(world.deps, restarted.bot, "after-restart")
        world.clock.set(at(date(2025, 4, 4)))
        await send_reminders(world.deps, restarted.bot, "after-restart")
    finally:
        await restarted.shutdown()
    texts = new_texts(world, liaison, seen)
    assert len(texts) == 2
    assert "还有 3 天" in texts[0] and "还有 1 天" in texts[1]


async def test_a_liaison_who_blocked_the_bot_is_reported_to_the_coordinators_once(
    world: BotWorld,
) -> None:
    liaison, coordinator = await district(world)
    seen = len(world.texts(coordinator))
    liaison.block_bot()
    world.clock.set(at(date(2025, 4, 2)))
    result = await send_reminders(world.deps, world.app.bot, "one")
    assert result.failed == 1
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.set(at(date(2025, 4, 4)))
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    told = [t for t in new_texts(world, coordinator, seen) if "提醒无法送达" in t]
    assert len(told) == 1 and "李联络" in told[0]


async def test_a_server_error_is_retried_and_sent_once(world: BotWorld) -> None:
    liaison, _ = await district(world)
    seen = len(world.texts(liaison))
    world.server.fail_next("sendMessage", 502, 1, chat_id=liaison.id)
    world.clock.set(at(date(2025, 4, 2)))
    result = await send_reminders(world.deps, world.app.bot, "one")
    assert result.retrying == 1
    assert new_texts(world, liaison, seen) == []
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    assert len(new_texts(world, liaison, seen)) == 1


async def test_the_job_queue_runs_the_reminders(world: BotWorld) -> None:
    liaison, _ = await district(world)
    seen = len(world.texts(liaison))
    world.clock.set(at(date(2025, 4, 2)))
    register_jobs(world.app, interval=timedelta(seconds=0.2), first=timedelta(seconds=0))
    await world.app.start()
    try:
        for _ in range(50):
            await asyncio.sleep(0.1)
            if new_texts(world, liaison, seen):
                break
        await asyncio.sleep(0.5)  # a few more ticks: still once
    finally:
        await world.app.stop()
    assert len(new_texts(world, liaison, seen)) == 1
