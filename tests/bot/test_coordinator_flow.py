"""One complete coordinator flow through the real Updater against the fake Bot API over HTTP:
a finding recorded in the bot, the liaison told, rectified through /rectify, returned in the bot
with a reason, resubmitted after the deadline, accepted in the bot; the standings change: the
overdue rectification costs the unit key_work points, as the plan says."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.fake_bot_api import BotMessage, FakeUser
from scoring import EventKind
from services.access import Role
from services.findings import finding_rectifications, year_findings
from services.standings import as_of_day, compute_standings
from services.unit_lookup import find_units
from services.year_data import record_grade
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.fakes.bot_api import record_errors, tiny_png


def key_work(world: BotWorld, as_of: datetime | None = None) -> float:
    """店子镇's key_work points in the standings as of a moment (now if None)."""
    return compute_standings(world.uow(), 2025, as_of).result("dianzi").items["key_work"]


async def test_a_finding_returned_resubmitted_and_accepted_changes_the_standings(
    polling_world: BotWorld,
) -> None:
    world = polling_world
    server = world.server
    errors = record_errors(world.app)
    coordinator = server.user(500, first_name="王科长")
    liaison = server.user(1001, first_name="张三")

    async def reply(user: FakeUser, fragment: str, after: int = 0) -> BotMessage:
        def found() -> BotMessage | None:
            for message in server.messages_to(user.id)[after:]:
                if fragment in (message.text or ""):
                    return message
            return None

        message = await server.wait_for(found)
        assert message is not None
        return message

    async def button(user: FakeUser, label: str) -> BotMessage:
        def found() -> BotMessage | None:
            for message in reversed(server.messages_to(user.id)):
                if any(text == label for text, _ in message.buttons):
                    return message
            return None

        message = await server.wait_for(found)
        assert message is not None
        return message

    async def tap(user: FakeUser, label: str) -> int:
        """Tap the newest button `label`; the number of messages before the tap."""
        message = await button(user, label)
        mark = len(server.messages_to(user.id))
        user.tap(message, message.callback_data(label))
        return mark

    def mark(user: FakeUser) -> int:
        return len(server.messages_to(user.id))

    [dianzi] = find_units(world.uow(), "dianzi")
    record_grade(world.uow(), OPERATOR, 2025, dianzi.id, "key_work", "year", "好", "领导小组")
    before = key_work(world)
    assert before == pytest.approx(200.0)

    async with world.polling():
        coordinator.send_command("/start", world.invite(Role.COORDINATOR))
        await reply(coordinator, "协调员")
        liaison.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
        await reply(liaison, "店子镇")

        # The coordinator records the finding in the bot.
        at = mark(coordinator)
        coordinator.send_command("/finding")
        await reply(coordinator, "哪个单位", at)
        coordinator.send_text("店子")
        at = await tap(coordinator, "实地督查")
        await reply(coordinator, "请描述发现的问题", at)
        coordinator.send_text("安全生产台账缺少3月份隐患排查记录")
        await reply(coordinator, "请发送问题的照片", at)
        coordinator.send_photo(tiny_png(8, 6))
        at = await tap(coordinator, "✅ 完成（1）")
        await reply(coordinator, "整改期限是哪一天", at)
        at = await tap(coordinator, "7 天后（2025-03-17）")
        await reply(coordinator, "请核对问题记录", at)
        at = await tap(coordinator, "✅ 确认记录并通知")
        await reply(coordinator, "问题已记录", at)
        notice = await reply(liaison, "督导发现问题")
        assert "隐患排查记录" in (notice.text or "") and "2025-03-17" in (notice.text or "")
        [finding] = year_findings(world.uow(), OPERATOR, 2025)
        assert finding.status == "open" and len(finding.evidence_ids) == 1

        # The next day the liaison rectifies it with an album of two photos.
        world.clock.advance(days=1)
        at = mark(liaison)
        liaison.send_command("/rectify")
        listing = await reply(liaison, "请选择要整改的问题", at)
        label = next(text for text, _ in listing.buttons if text.startswith(f"#{finding.id} "))
        liaison.tap(listing, listing.callback_data(label))
        await reply(liaison, "请用文字说明", at)
        liaison.send_text("已补充隐患排查记录")
        await reply(liaison, "请发送整改佐证材料", at)
        liaison.send_album([tiny_png(), tiny_png(6, 4)])
        at = await tap(liaison, "✅ 完成（2）")
        await reply(liaison, "请核对整改", at)
        at = await tap(liaison, "✅ 提交")
        await reply(liaison, "整改已提交", at)

        # The coordinator sees it with its evidence as an album, and returns it with a reason.
        at = mark(coordinator)
        coordinator.send_command("/review")
        card = await reply(coordinator, "已补充隐患排查记录", at)
        assert "2 张照片" in (card.text or "")
        albums = [c for c in server.calls("sendMediaGroup") if c.chat_id == coordinator.id]
        assert len(albums) == 1 and len(albums[0].params["media"]) == 2
        at = await tap(coordinator, "↩️ 退回")
        await reply(coordinator, "请输入退回理由", at)
        coordinator.send_text("缺少排查人签字")
        at = await tap(coordinator, "↩️ 确认退回并通知")
        await reply(coordinator, "已退回", at)
        returned = await reply(liaison, "整改被退回")
        assert "缺少排查人签字" in (returned.text or "")

        # The deadline passes while the rectification is returned: it is overdue.
        world.clock.set(datetime(2025, 3, 18, 9, 0, tzinfo=SHANGHAI))
        overdue = key_work(world)
        assert overdue == pytest.approx(before - 2)
        assert key_work(world, as_of_day(world.uow(), 2025, date(2025, 3, 16))) == before
        [item] = [
            i
            for i in compute_standings(world.uow(), 2025).explain("dianzi").items
            if i.code == "key_work"
        ]
        assert [(d.event, d.count) for d in item.deductions] == [
            (EventKind.RECTIFICATION_OVERDUE, 1)
        ]

        # The liaison resubmits (late); the coordinator accepts it in the bot.
        at = mark(liaison)
        liaison.send_command("/rectify")
        listing = await reply(liaison, "已退回", at)
        label = next(text for text, _ in listing.buttons if text.startswith(f"#{finding.id} "))
        liaison.tap(listing, listing.callback_data(label))
        await reply(liaison, "缺少排查人签字", at)
        liaison.send_text("已补签字并重新拍照")
        await reply(liaison, "请发送整改佐证材料", at)
        liaison.send_photo(tiny_png(10, 10))
        at = await tap(liaison, "✅ 完成（1）")
        await reply(liaison, "请核对整改", at)
        at = await tap(liaison, "✅ 提交")
        await reply(liaison, "整改已提交", at)

        at = mark(coordinator)
        coordinator.send_command("/review")
        card = await reply(coordinator, "已补签字并重新拍照", at)
        assert "已超过期限" in (card.text or "")
        at = await tap(coordinator, "✅ 通过")
        await reply(coordinator, "已通过 店子镇 的整改", at)
        await reply(liaison, "整改已通过")

    first, second = finding_rectifications(world.uow(), OPERATOR, finding.id)
    assert (first.decision, first.reason) == ("returned", "缺少排查人签字")
    assert second.decision == "accepted" and not second.on_time
    assert year_findings(world.uow(), OPERATOR, 2025)[0].status == "accepted"
    # Accepted after its deadline: the overdue rectification still costs its key_work points.
    assert key_work(world) == pytest.approx(overdue)
    assert key_work(world) < before
    assert errors == []
