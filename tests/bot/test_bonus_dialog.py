"""/bonus: add an item with its evidence; approve or reject pending ones, exactly once."""

from __future__ import annotations

from services.access import Role
from services.year_data import BonusView, add_bonus, list_bonus
from tests.bot.steps import join_coordinator, labels, tap
from tests.bot.world import OPERATOR, BotWorld
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

COORDINATOR, OTHER, RATER, LIAISON, VIEWER, STRANGER = 6001, 6002, 6003, 6004, 6005, 6999


def items(world: BotWorld) -> list[BonusView]:
    """The bonus items of 2025."""
    return list_bonus(world.uow(), 2025)


def pending_item(world: BotWorld, unit_id: int = 2, title: str = "获评省级创新型城市试点") -> int:
    """A pending item added through the service; its id."""
    return add_bonus(world.uow(), OPERATOR, 2025, unit_id, title, "省科技厅文件").id


def decided(status: str) -> str:
    """What the coordinator is told who decided on the pending item (#1, 店子镇)."""
    return said(
        "coord.bonus_decided", id=1, unit="店子镇", title="获评省级创新型城市试点", status=status
    )


async def test_a_coordinator_adds_an_item_with_text_and_files_as_evidence(
    world: BotWorld,
) -> None:
    errors = record_errors(world.app)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_add_button"))
    user.send_text("西集")
    await world.step()
    assert "西集镇" in world.texts(user)[-1]
    user.send_text("获评省级文明村镇")
    await world.step()
    user.send_text("省文明委 2025 年 5 号文件")
    await world.step()
    user.send_album([tiny_png(), tiny_png(5, 5)])
    await world.step()
    user.send_document(b"%PDF-1.4 certificate", "证书.pdf", "application/pdf")
    await world.step()
    await tap(world, user, text_of("coord.bonus_evidence_done_button"))
    summary = world.texts(user)[-1]
    assert "获评省级文明村镇" in summary and "佐证文件（3 个）" in summary
    await tap(world, user, text_of("coord.bonus_save_button"))
    assert (
        said("coord.bonus_added", id=1, unit="西集镇", title="获评省级文明村镇")
        in world.texts(user)[-1]
    )
    [item] = items(world)
    assert (item.unit, item.title, item.status) == ("xiji", "获评省级文明村镇", "pending")
    assert item.evidence_text.startswith("省文明委 2025 年 5 号文件\n📎 ")
    assert item.evidence_text.count("📎") == 3 and "证书.pdf" in item.evidence_text
    assert errors == []


async def test_evidence_is_required_before_the_summary(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_add_button"))
    user.send_text("店子镇")
    await world.step()
    user.send_text("招商引资先进")
    await world.step()
    await tap(world, user, text_of("coord.bonus_evidence_done_button"))
    assert said("coord.bonus_evidence_needed") in world.texts(user)[-1]
    assert items(world) == []
    # The tap closed the prompt's button; the answer and each text added carry it again.
    assert labels(world, user) == [text_of("coord.bonus_evidence_done_button")]
    user.send_text("县委表彰文件")
    await world.step()
    assert world.texts(user)[-1] == said("coord.bonus_evidence_text_added", count=1)
    assert labels(world, user) == [text_of("coord.bonus_evidence_done_button")]
    await tap(world, user, text_of("coord.bonus_evidence_done_button"))
    assert text_of("coord.bonus_save_button") in labels(world, user)


async def test_an_unfinished_item_can_be_continued(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_add_button"))
    user.send_text("店子镇")
    await world.step()
    user.send_text("招商引资先进")
    await world.step()
    user.send_command("/grade")  # leaves the bonus draft
    await world.step()
    user.send_command("/bonus")
    await world.step()
    assert (
        said("coord.bonus_draft_found", unit="店子镇", title="招商引资先进")
        in world.texts(user)[-1]
    )
    await tap(world, user, text_of("coord.bonus_continue_button"))
    user.send_text("市商务局通报")
    await world.step()
    await tap(world, user, text_of("coord.bonus_evidence_done_button"))
    await tap(world, user, text_of("coord.bonus_save_button"))
    assert [(b.unit, b.title, b.evidence_text) for b in items(world)] == [
        ("dianzi", "招商引资先进", "市商务局通报")
    ]


async def test_a_unit_name_matching_nothing_is_asked_again(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_add_button"))
    user.send_text("不存在的单位")
    await world.step()
    assert said("coord.grade_unit_none", query="不存在的单位") in world.texts(user)[-1]
    assert labels(world, user) == [
        text_of("coord.grade_unit_group_button", group="town", count=10),
        text_of("coord.grade_unit_group_button", group="zone_or_department", count=13),
    ]
    assert items(world) == []


async def test_a_pending_item_is_approved_in_one_tap_and_a_double_tap_is_refused(
    world: BotWorld,
) -> None:
    bonus_id = pending_item(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_pending_button", count=1))
    message = world.last(user)
    assert f"#{bonus_id} 店子镇" in message.text
    approve = message.callback_data(text_of("coord.bonus_approve_button"))
    user.tap(message, approve)
    await world.step()
    assert decided("approved") in world.texts(user)[-1]
    assert world.server.messages_to(user.id)[-2].buttons == []  # the item's buttons are gone
    user.tap(message, approve, strict=False)  # the same button again
    await world.step()
    assert (
        said("errors.bonus_already_decided", bonus=1, status="approved") in world.texts(user)[-1]
    )
    assert [b.status for b in items(world)] == ["approved"]


async def test_rejecting_asks_for_confirmation_first(world: BotWorld) -> None:
    pending_item(world)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_pending_button", count=1))
    await tap(world, user, text_of("coord.bonus_reject_button"))
    assert said("coord.bonus_reject_confirm") in world.last(user).text
    await tap(world, user, text_of("coord.bonus_reject_back_button"))
    assert labels(world, user) == [
        text_of("coord.bonus_approve_button"),
        text_of("coord.bonus_reject_button"),
    ]
    assert [b.status for b in items(world)] == ["pending"]
    await tap(world, user, text_of("coord.bonus_reject_button"))
    await tap(world, user, text_of("coord.bonus_reject_confirm_button"))
    assert decided("rejected") in world.texts(user)[-1]
    assert [b.status for b in items(world)] == ["rejected"]


async def test_two_coordinators_deciding_the_same_item_one_wins_the_other_is_told(
    world: BotWorld,
) -> None:
    pending_item(world)
    first = await join_coordinator(world, COORDINATOR)
    second = await join_coordinator(world, OTHER)
    for user in (first, second):
        user.send_command("/bonus")
        await world.step()
        await tap(world, user, text_of("coord.bonus_pending_button", count=1))
    await tap(world, second, text_of("coord.bonus_reject_button"))
    await tap(world, first, text_of("coord.bonus_approve_button"))
    await tap(world, second, text_of("coord.bonus_reject_confirm_button"))
    assert (
        said("errors.bonus_already_decided", bonus=1, status="approved") in world.texts(second)[-1]
    )
    item_message = world.server.messages_to(second.id)[-2]
    assert "✅ 已认定" in (item_message.text or "")  # the item's message shows the outcome
    assert item_message.buttons == []
    assert [b.status for b in items(world)] == ["approved"]


async def test_with_nothing_pending_the_list_says_so(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    assert said("coord.bonus_menu", year=2025, pending=0, total=0) in world.texts(user)[-1]
    await tap(world, user, text_of("coord.bonus_pending_button", count=0))
    assert said("coord.bonus_none_pending", year=2025) in world.texts(user)[-1]


async def test_a_duplicate_title_for_the_unit_is_refused_and_asked_again(world: BotWorld) -> None:
    pending_item(world, 2, "招商引资先进")
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/bonus")
    await world.step()
    await tap(world, user, text_of("coord.bonus_add_button"))
    user.send_text("店子镇")
    await world.step()
    user.send_text("招商引资先进")
    await world.step()
    user.send_text("文件")
    await world.step()
    await tap(world, user, text_of("coord.bonus_evidence_done_button"))
    await tap(world, user, text_of("coord.bonus_save_button"))
    assert (
        said("errors.bonus_duplicate", unit="dianzi", title="招商引资先进")
        in world.texts(user)[-2]
    )
    assert said("coord.bonus_title_prompt", unit="店子镇") in world.texts(user)[-1]
    assert len(items(world)) == 1


async def test_only_coordinators_can_use_bonus(world: BotWorld) -> None:
    bonus_id = pending_item(world)
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    viewer = await world.join(VIEWER, Role.VIEWER, None, "李主任")
    stranger = world.server.user(STRANGER)
    for user in (rater, liaison, viewer, stranger):
        user.send_command("/bonus")
    await world.step()
    for user in (rater, liaison, viewer):
        assert said("common.not_for_your_role") in world.texts(user)[-1]
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert [(b.id, b.status) for b in items(world)] == [(bonus_id, "pending")]
