"""/broadcast: compose, address, schedule, preview, confirm; then delivery status."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.delivery import DeliveryEngine
from bot.dialogs.broadcast import parse_time
from bot.fake_bot_api import FakeUser
from services.access import Role
from storage.models import BroadcastDelivery, BroadcastRow
from tests.bot.steps import labels, say, send, tap
from tests.bot.world import BotWorld
from tests.fakes.bot_api import tiny_png
from tests.texts import said, text_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
COORDINATOR = 500


def broadcasts(world: BotWorld) -> list[BroadcastRow]:
    """Every stored broadcast."""
    with world.uow() as uow:
        return list(uow.session.query(BroadcastRow).order_by(BroadcastRow.id))


def deliveries(world: BotWorld) -> list[BroadcastDelivery]:
    """Every stored delivery."""
    with world.uow() as uow:
        return list(uow.session.query(BroadcastDelivery).order_by(BroadcastDelivery.id))


def sent_now(audience: str, count: int, file: str = "") -> str:
    """The confirmation's summary of a broadcast to `audience` (`count` people), sent at once."""
    when = text_of("broadcast.summary_now")
    return said("broadcast.summary", audience=audience, count=count, when=when, file=file)


async def people(world: BotWorld) -> tuple[FakeUser, list[FakeUser]]:
    """A coordinator and three liaisons (two of 店子镇, one of 区财政局)."""
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    liaisons = [
        await world.join(1001, Role.LIAISON, "dianzi", "张三"),
        await world.join(1002, Role.LIAISON, "dianzi", "李四"),
        await world.join(1003, Role.LIAISON, "finance", "赵五"),
    ]
    return coordinator, liaisons


async def compose(
    world: BotWorld, coordinator: FakeUser, text: str = "请本周五前提交月报"
) -> None:
    """/broadcast up to the audience step, without a file."""
    coordinator.send_command("/broadcast")
    await world.step()
    assert "请输入通知内容" in world.texts(coordinator)[-1]
    await say(world, coordinator, text)
    await tap(world, coordinator, "不附文件")


async def test_a_notice_to_all_liaisons_now_is_previewed_confirmed_and_delivered(
    world: BotWorld,
) -> None:
    coordinator, liaisons = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_now"))
    texts = world.texts(coordinator)
    # The preview is the notice exactly as recipients see it, with the 已知悉 button.
    preview = world.server.messages_to(COORDINATOR)[-2]
    assert "请本周五前提交月报" in (preview.text or "") and "王科长" in (preview.text or "")
    assert [label for label, _ in preview.buttons] == [text_of("broadcast.ack_button")]
    assert (
        sent_now(text_of("broadcast.audience_liaisons"), 3) in texts[-1]
        and text_of("broadcast.summary_now") in texts[-1]
    )
    assert broadcasts(world) == []
    # The preview's button records nothing.
    await tap(world, coordinator, text_of("broadcast.ack_button"))
    assert said("broadcast.preview_button_note") in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    assert said("broadcast.sent_now", count=3, id=1) in world.texts(coordinator)[-1]
    assert len(deliveries(world)) == 3
    await DeliveryEngine(world.app.bot, world.deps, rate=1000).run_until_idle()
    for liaison in liaisons:
        notice = world.last(liaison)
        assert "请本周五前提交月报" in notice.text
        assert [label for label, _ in notice.buttons] == [text_of("broadcast.ack_button")]


async def test_the_status_shows_delivered_acknowledged_and_unreachable_per_unit(
    world: BotWorld,
) -> None:
    coordinator, (zhang, li, zhao) = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_now"))
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    li.block_bot()
    await DeliveryEngine(world.app.bot, world.deps, rate=1000).run_until_idle()
    await tap(world, zhang, text_of("broadcast.ack_button"))
    await tap(world, coordinator, text_of("broadcast.status_button"))
    status = world.texts(coordinator)[-1]
    assert "店子镇：送达 1/2，已知悉 1，无法送达 1" in status
    assert "区财政局：送达 1/1，已知悉 0" in status
    assert "合计</b>" not in status and "合计：送达 2/3，已知悉 1，无法送达 1" in status
    assert any("未能送达 1 人" in t and "李四" in t for t in world.texts(coordinator))
    # And at any time later with the command.
    coordinator.send_command("/broadcast", "status")
    await world.step()
    assert "店子镇：送达 1/2" in world.texts(coordinator)[-1]
    assert zhao.id


async def test_a_group_and_chosen_units_reach_only_their_liaisons(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_group"))
    await tap(world, coordinator, text_of("broadcast.group_zone_or_department"))
    await tap(world, coordinator, text_of("broadcast.when_now"))
    assert (
        sent_now(text_of("broadcast.group_zone_or_department"), 1) in world.texts(coordinator)[-1]
    )
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    await compose(world, coordinator, "第二条")
    await tap(world, coordinator, text_of("broadcast.audience_units"))
    # Nothing but separators names no unit: the question again, never silence.
    assert await send(world, coordinator, "、 ，") == [said("broadcast.ask_units", chosen=[])]
    reply = await say(world, coordinator, "店子镇，不存在的单位")
    texts = world.texts(coordinator)
    assert any(said("broadcast.unit_none", query="不存在的单位") in t for t in texts[-3:])
    assert "已选：店子镇" in reply
    await tap(world, coordinator, text_of("broadcast.units_done_button", count=1))
    await tap(world, coordinator, text_of("broadcast.when_now"))
    assert sent_now("店子镇", 2) in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    rows = deliveries(world)
    assert sorted(d.telegram_id for d in rows) == [1001, 1002, 1003]


@pytest.fixture(params=["UTC", "America/New_York"])
def server_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The server's own time zone, which must not matter."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


async def test_a_notice_at_a_typed_time_waits_for_it(world: BotWorld, server_zone: str) -> None:
    coordinator, _ = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    reply = await say(world, coordinator, "2025-03-10 09:00")
    assert said("broadcast.when_past", when="2025-03-10 09:00") in reply
    reply = await say(world, coordinator, "明天早上")
    assert said("broadcast.when_bad", text="明天早上") in reply
    await say(world, coordinator, "2025-03-11 08:30")
    assert "2025-03-11 08:30" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    assert (
        said("broadcast.sent_later", count=3, id=1, when="2025-03-11 08:30")
        in world.texts(coordinator)[-1]
    )
    engine = DeliveryEngine(world.app.bot, world.deps, rate=1000)
    assert await engine.run_until_idle() == 0
    await tap(world, coordinator, text_of("broadcast.status_button"))
    assert text_of("broadcast.state_scheduled") in world.texts(coordinator)[-1]
    world.clock.set(datetime(2025, 3, 11, 8, 30, tzinfo=SHANGHAI))
    assert await engine.run_until_idle() == 3
    # Too late to cancel once it went out: said, with the status as it now stands.
    await tap(world, coordinator, text_of("broadcast.cancel_scheduled_button"))
    assert said("errors.broadcast_not_cancellable") in world.texts(coordinator)[-2]
    assert text_of("broadcast.state_done") in world.texts(coordinator)[-1]
    assert text_of("broadcast.cancel_scheduled_button") not in labels(world, coordinator)


async def test_a_scheduled_notice_can_be_cancelled_before_its_time(world: BotWorld) -> None:
    coordinator, liaisons = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_tomorrow"))
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    coordinator.send_command("/broadcast", "status")
    await world.step()
    await tap(world, coordinator, text_of("broadcast.cancel_scheduled_button"))
    assert said("broadcast.cancelled_scheduled", id=1) in world.texts(coordinator)[-1]
    world.clock.set(datetime(2025, 3, 11, 9, 0, tzinfo=SHANGHAI))
    assert await DeliveryEngine(world.app.bot, world.deps, rate=1000).run_until_idle() == 0
    assert all("通知" not in t for liaison in liaisons for t in world.texts(liaison)[-1:])
    assert broadcasts(world)[0].status == "cancelled"


async def test_the_quick_time_buttons_schedule_in_an_hour_or_tomorrow_morning(
    world: BotWorld,
) -> None:
    coordinator, _ = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_coordinators"))
    await tap(world, coordinator, text_of("broadcast.when_hour"))
    assert "2025-03-10 11:00" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("broadcast.change_button"))
    assert said("broadcast.ask_text", max=4000) in world.texts(coordinator)[-1]
    await say(world, coordinator, "改过的内容")
    await tap(world, coordinator, text_of("broadcast.no_file_button"))
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_tomorrow"))
    assert "2025-03-11 09:00" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("broadcast.cancel_button"))
    assert said("broadcast.cancelled") in world.texts(coordinator)[-1]
    assert broadcasts(world) == []


async def test_a_notice_with_a_photo_is_previewed_and_sent_as_a_photo(world: BotWorld) -> None:
    coordinator, liaisons = await people(world)
    coordinator.send_command("/broadcast")
    await world.step()
    await say(world, coordinator, "现场照片见附件")
    coordinator.send_photo(tiny_png())
    await world.step()
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_now"))
    assert (
        sent_now(text_of("broadcast.audience_liaisons"), 3, text_of("broadcast.file_photo"))
        in world.texts(coordinator)[-1]
    )
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    await DeliveryEngine(world.app.bot, world.deps, rate=1000).run_until_idle()
    notice = world.last(liaisons[0])
    assert notice.kind == "photo" and "现场照片见附件" in notice.text


@pytest.mark.parametrize(
    ("text", "expected"), [("   ", "不能为空"), ("字" * 4001, "超过了 4000 字")]
)
async def test_an_empty_or_too_long_notice_is_refused(
    world: BotWorld, text: str, expected: str
) -> None:
    coordinator, _ = await people(world)
    coordinator.send_command("/broadcast")
    await world.step()
    reply = await say(world, coordinator, text)
    assert expected in reply or "请输入" in reply
    reply = await say(world, coordinator, "正常内容")
    assert said("broadcast.ask_file") in reply


async def test_a_long_notice_cannot_carry_a_file(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    coordinator.send_command("/broadcast")
    await world.step()
    await say(world, coordinator, "字" * 1500)
    coordinator.send_photo(tiny_png())
    await world.step()
    # Said, and the file step asked again: its "No file" button is the way on.
    assert (
        said("errors.broadcast_caption_too_long", length=1500, max=1024)
        in world.texts(coordinator)[-2]
    )
    assert text_of("broadcast.no_file_button") in labels(world, coordinator)


@pytest.mark.parametrize("role", [Role.LIAISON, Role.RATER])
async def test_liaisons_and_raters_may_not_broadcast(world: BotWorld, role: Role) -> None:
    user = await world.join(2001, role, "dianzi" if role is Role.LIAISON else None, "某人")
    user.send_command("/broadcast")
    await world.step()
    assert said("common.not_for_your_role") in world.texts(user)[-1]
    assert broadcasts(world) == []


def test_typed_times_are_read_in_the_given_zone() -> None:
    assert parse_time("2025-03-11 08:30", SHANGHAI) == datetime(
        2025, 3, 11, 8, 30, tzinfo=SHANGHAI
    )
    assert parse_time("2025/3/1 9:05", SHANGHAI) == datetime(2025, 3, 1, 9, 5, tzinfo=SHANGHAI)
    assert parse_time("2025-02-30 09:00", SHANGHAI) is None
    assert parse_time("tomorrow", SHANGHAI) is None


async def test_a_time_that_passed_while_the_summary_waited_is_asked_again(
    world: BotWorld,
) -> None:
    coordinator, _ = await people(world)
    await compose(world, coordinator)
    await tap(world, coordinator, text_of("broadcast.audience_liaisons"))
    await tap(world, coordinator, text_of("broadcast.when_hour"))
    world.clock.set(datetime(2025, 3, 10, 12, 0, tzinfo=SHANGHAI))
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    assert world.texts(coordinator)[-2] == said("errors.broadcast_in_past")
    assert text_of("broadcast.when_now") in labels(world, coordinator)
    assert broadcasts(world) == []
    await tap(world, coordinator, text_of("broadcast.when_now"))
    await tap(world, coordinator, text_of("broadcast.confirm_button"))
    assert said("broadcast.sent_now", count=3, id=1) in world.texts(coordinator)[-1]
