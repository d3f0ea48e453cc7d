"""/grade: period, unit, work item and grade in one tap each; next unit; roles."""

from __future__ import annotations

from scoring import Grade, GradeRecord
from services.access import Role
from services.dialogs import dialog_of_kind, save_dialog
from services.people import person_session
from services.standings import year_inputs
from tests.bot.steps import join_coordinator, labels, tap
from tests.bot.world import BotWorld
from tests.fakes.bot_api import record_errors
from tests.texts import said, text_of

COORDINATOR, RATER, LIAISON, VIEWER, STRANGER = 5001, 5002, 5003, 5004, 5999


def grades(world: BotWorld) -> list[GradeRecord]:
    """The grades in force for 2025."""
    return year_inputs(world.uow(), 2025).grades


async def test_a_coordinator_grades_a_unit_with_one_tap_per_step(world: BotWorld) -> None:
    errors = record_errors(world.app)
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    assert labels(world, user) == [
        text_of("coord.grade_period", period="Q1"),
        text_of("coord.grade_period", period="Q2"),
        text_of("coord.grade_period", period="Q3"),
        text_of("coord.grade_period", period="Q4"),
        text_of("coord.grade_period", period="year"),
    ]
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("店子镇")
    await world.step()
    assert labels(world, user) == ["重点工作", "基础工作"]
    await tap(world, user, "重点工作")
    assert labels(world, user) == [
        text_of("coord.grade_label", grade="excellent"),
        text_of("coord.grade_label", grade="good"),
        text_of("coord.grade_label", grade="fair"),
        text_of("coord.grade_label", grade="poor"),
    ]
    await tap(world, user, text_of("coord.grade_label", grade="excellent"))
    assert any("店子镇 · 重点工作 · 第一季度：好，已记录" in t for t in world.texts(user))
    assert grades(world) == [GradeRecord("dianzi", "key_work", "Q1", "王科长", Grade.EXCELLENT)]
    assert errors == []


async def test_next_unit_grades_the_following_town_with_the_same_item(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="year"))
    await tap(world, user, text_of("coord.grade_unit_group_button", group="town", count=10))
    await tap(world, user, "店子镇")
    await tap(world, user, "基础工作")
    await tap(world, user, text_of("coord.grade_label", grade="good"))
    await tap(world, user, text_of("coord.grade_next_unit_button", unit="西集镇"))
    assert labels(world, user) == [
        text_of("coord.grade_label", grade="excellent"),
        text_of("coord.grade_label", grade="good"),
        text_of("coord.grade_label", grade="fair"),
        text_of("coord.grade_label", grade="poor"),
    ]  # straight to the grade
    await tap(world, user, text_of("coord.grade_label", grade="fair"))
    assert [(g.unit, g.item, g.period, g.grade) for g in grades(world)] == [
        ("dianzi", "basic_work", "year", "good"),
        ("xiji", "basic_work", "year", "fair"),
    ]


async def test_grading_again_replaces_the_grade_and_says_what_it_was(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    for grade in ("好", "差", "差"):
        user.send_command("/grade")
        await world.step()
        await tap(world, user, text_of("coord.grade_period", period="Q2"))
        user.send_text("dianzi")
        await world.step()
        await tap(world, user, "重点工作")
        await tap(world, user, grade)
    texts = world.texts(user)
    assert any("已改为差（原为好" in t for t in texts)
    assert "仍为差" in [t for t in texts if "店子镇 ·" in t][-1]
    assert [(g.unit, g.grade) for g in grades(world)] == [("dianzi", "poor")]


async def test_a_rater_grades_as_themselves(world: BotWorld) -> None:
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    rater.send_command("/grade")
    await world.step()
    await tap(world, rater, text_of("coord.grade_period", period="Q3"))
    await tap(
        world,
        rater,
        text_of("coord.grade_unit_group_button", group="zone_or_department", count=13),
    )
    await tap(world, rater, "区统计局")
    await tap(world, rater, "基础工作")
    await tap(world, rater, text_of("coord.grade_label", grade="good"))
    assert grades(world) == [GradeRecord("statistics", "basic_work", "Q3", "区财政局", Grade.GOOD)]
    assert "评价人：区财政局" in " ".join(world.texts(rater))


async def test_a_unit_name_matching_nothing_says_so_and_asks_again(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("火星镇")
    await world.step()
    texts = world.texts(user)
    assert said("coord.grade_unit_none", query="火星镇") in texts[-1]
    assert labels(world, user) == [
        text_of("coord.grade_unit_group_button", group="town", count=10),
        text_of("coord.grade_unit_group_button", group="zone_or_department", count=13),
    ]
    user.send_text("西集")  # the dialog is still at the unit step
    await world.step()
    assert labels(world, user) == ["重点工作", "基础工作"]
    assert grades(world) == []


async def test_a_name_matching_several_units_offers_the_candidates(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("局")
    await world.step()
    assert said("coord.grade_unit_several", query="局", more=True) in world.texts(user)[-1]
    candidates = labels(world, user)
    assert len(candidates) == 8 and "区财政局" in candidates
    assert said("coord.grade_unit_several", query="局", more=True) in world.texts(user)[-1]
    await tap(world, user, "区财政局")
    await tap(world, user, "重点工作")
    await tap(world, user, text_of("coord.grade_label", grade="poor"))
    assert [(g.unit, g.grade) for g in grades(world)] == [("finance", "poor")]


async def test_text_where_a_grade_button_is_wanted_changes_nothing(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("店子镇")
    await world.step()
    await tap(world, user, "重点工作")
    user.send_text("好")
    await world.step()
    assert said("dialog.use_buttons") in world.texts(user)[-2]
    assert labels(world, user) == [
        text_of("coord.grade_label", grade="excellent"),
        text_of("coord.grade_label", grade="good"),
        text_of("coord.grade_label", grade="fair"),
        text_of("coord.grade_label", grade="poor"),
    ]
    assert grades(world) == []


async def test_done_ends_the_dialog_and_its_buttons_expire(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("店子镇")
    await world.step()
    await tap(world, user, "重点工作")
    grade_message = world.last(user)
    await tap(world, user, text_of("coord.grade_label", grade="excellent"))
    await tap(world, user, text_of("coord.grade_done_button"))
    assert said("coord.grade_done") in world.texts(user)[-1]
    # Tapped before the message was closed (a slow connection): the button has expired.
    user.tap(
        grade_message,
        grade_message.callback_data(text_of("coord.grade_label", grade="poor")),
        strict=False,
    )
    await world.step()
    assert "已过期" in world.texts(user)[-1]
    assert [g.grade for g in grades(world)] == ["excellent"]


async def test_liaisons_viewers_and_strangers_cannot_grade(world: BotWorld) -> None:
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    viewer = await world.join(VIEWER, Role.VIEWER, None, "李主任")
    stranger = world.server.user(STRANGER)
    for user in (liaison, viewer, stranger):
        user.send_command("/grade")
    await world.step()
    assert said("common.not_for_your_role") in world.texts(liaison)[-1]
    assert said("common.not_for_your_role") in world.texts(viewer)[-1]
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert grades(world) == []


async def test_a_rater_can_do_nothing_but_grade(world: BotWorld) -> None:
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    for command in ("/bonus", "/matrix", "/templates", "/upload"):
        rater.send_command(command)
        await world.step()
        assert said("common.not_for_your_role") in world.texts(rater)[-1], command
    rater.send_document(b"PK\x03\x04 not really", "values.xlsx")
    await world.step()
    assert said("common.no_dialog") in world.texts(rater)[-1]
    assert grades(world) == []


async def test_grading_works_in_english(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/language")
    await world.step()
    await tap(world, user, "English")
    user.send_command("/grade")
    await world.step()
    await tap(world, user, "Q4")
    user.send_text("店子")
    await world.step()
    await tap(world, user, "重点工作")
    await tap(world, user, "Fair 一般")
    assert "Fair 一般</b>" not in world.texts(user)[-2]  # plain text, markup parsed
    assert any("recorded" in t for t in world.texts(user))
    assert [(g.period, g.grade) for g in grades(world)] == [("Q4", "fair")]


async def test_a_grade_the_service_refuses_is_explained_and_the_grade_asked_again(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    user.send_text("店子镇")
    await world.step()
    await tap(world, user, "重点工作")
    # The plan's work items changed meanwhile: the item chosen is no longer one of them.
    session = person_session(world.uow(), COORDINATOR)
    assert session is not None and session.actor.person_id is not None
    draft = dialog_of_kind(world.uow(), session.actor.person_id, "grade")
    assert draft is not None and draft.step == "grade"
    codes = [code for code, _ in draft.data["items"]]
    data = {
        **draft.data,
        "items": [*draft.data["items"], ["retired", "已取消"]],
        "item": "retired",
    }
    save_dialog(world.uow(), session.actor.person_id, "grade", "grade", data)
    await tap(world, user, text_of("coord.grade_label", grade="excellent"))
    refusal = said("errors.grade_unknown_item", item="retired", items=codes)
    assert world.texts(user)[-2] == refusal
    assert labels(world, user) == [text_of("coord.grade_label", grade=g.value) for g in Grade]
    assert grades(world) == []
