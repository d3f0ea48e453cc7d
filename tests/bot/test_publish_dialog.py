"""/publish: period -> confirmation -> the standings published -> each unit's liaisons privately
receive their own unit's assessment report (and nothing of another unit's), a blocked liaison is
reported to the coordinator without breaking the rest."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.dialogs import publish
from bot.fake_bot_api import BotMessage, FakeUser
from services.access import Role
from services.people import deactivate_person, list_people
from services.publications import latest_publication, year_publications
from services.sample_district import RATERS, sample_units
from services.standings import compute_standings
from templates import render
from tests.bot.steps import choose, documents, join_coordinator, send
from tests.bot.world import OPERATOR, BotWorld, bot_world, seed_scores
from tests.fakes.bot_api import record_errors
from tests.services.district import approve_year
from tests.texts import said, text_of

YEAR = 2025
EARLY = render("coord.publish_early_button", "zh")


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests need no pacing between sends."""
    monkeypatch.setattr(publish, "SEND_PAUSE", 0.0)


class District:
    """The coordinator and the liaisons of four units (the other 19 units have none)."""

    def __init__(self, world: BotWorld) -> None:
        self.world = world

    async def join(self) -> None:
        world = self.world
        self.coordinator = await join_coordinator(world)
        self.zhang = await world.join(9301, Role.LIAISON, "dianzi", "张三")
        self.li = await world.join(9302, Role.LIAISON, "dianzi", "李四")
        self.wang = await world.join(9303, Role.LIAISON, "xiji", "王五")
        self.zhao = await world.join(9304, Role.LIAISON, "sangcun", "赵六")
        world.server.user(9305, "Tom", "en")
        self.tom = await world.join(9305, Role.LIAISON, "finance", "Tom")


@pytest.fixture
async def district(world: BotWorld) -> District:
    seed_scores(world)
    d = District(world)
    await d.join()
    return d


def workbook_text(world: BotWorld, message: BotMessage) -> str:
    """Every cell's text of the workbook a document carries, and its sheet names."""
    data = world.server.file(message.raw["document"]["file_id"]).data
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    return "\n".join([*book.sheetnames, *cells])


async def publish_q1(world: BotWorld, user: FakeUser) -> BotMessage:
    """/publish, Q1, confirm; the bot's last message to the coordinator."""
    await send(world, user, "/publish")
    await choose(world, user, "coord.publish_period_Q1")
    return await choose(world, user, "coord.publish_early_button")


async def test_the_periods_begun_are_offered_then_a_confirmation_says_what_will_happen(
    world: BotWorld, district: District
) -> None:
    user = district.coordinator
    await send(world, user, "/publish")
    offer: BotMessage = world.last(user)
    assert (offer.text or "").startswith("公布 2025 年度哪一期的排名？")
    assert [label for label, _ in offer.buttons] == [
        text_of("coord.publish_period_year"),
        text_of("coord.publish_period_Q1"),
        text_of("coord.publish_cancel_button"),
    ]  # 10 March
    confirm = await choose(world, user, "coord.publish_period_Q1")
    assert (confirm.text or "").startswith(
        "即将公布 2025 年一季度排名（按截至 2025-03-10 10:00 的数据计算）"
    )
    assert "将向 4 个单位的 5 名联络员分别私发本单位的考核评价报告" in (confirm.text or "")
    assert "没有联络员、收不到报告的单位：19 个" in (confirm.text or "")
    # 10 March: the quarter has not ended, so the confirmation comes after a warning.
    warning = world.texts(user)[-2]
    expected = render(
        "coord.publish_early_warning", "zh", year=2025, period="一季度", last="2025-03-31", days=21
    )
    assert warning == expected.replace("<b>", "").replace("</b>", "")
    assert [label for label, _ in confirm.buttons] == [
        EARLY,
        text_of("coord.publish_cancel_button"),
    ]
    assert latest_publication(world.uow(), YEAR) is None  # nothing yet
    assert documents(world, district.zhang) == []


async def test_each_units_liaisons_receive_only_their_own_units_report(
    world: BotWorld, district: District
) -> None:
    summary = await publish_q1(world, district.coordinator)
    publication = latest_publication(world.uow(), YEAR)
    assert publication is not None and publication.period == "Q1"
    standings = compute_standings(world.uow(), YEAR, publication.as_of)
    names = {u.code: u.name for u in sample_units()}
    for liaison, code in (
        (district.zhang, "dianzi"),
        (district.li, "dianzi"),
        (district.wang, "xiji"),
        (district.zhao, "sangcun"),
    ):
        [document] = documents(world, liaison)
        result = standings.result(code)
        assert (
            document.raw["document"]["file_name"] == f"2025一季度考核评价报告-{names[code]}.xlsx"
        )
        caption = document.text or ""
        assert caption.startswith("2025 年一季度考核排名已公布（截至 2025-03-10 10:00）")
        assert f"{names[code]}：镇街第 {result.rank} 名（共 10 个），等级 {result.tier}" in caption
        text = workbook_text(world, document)
        assert names[code] in text
        # Raters' names (区财政局 grades as a member of the panel) are not other units' details.
        others = [n for other, n in names.items() if other != code and n not in RATERS]
        assert [name for name in others if name in text or name in caption] == []
    assert summary.text is not None
    texts = world.texts(district.coordinator)
    assert any(
        t.startswith("已公布 2025 年一季度排名（截至 2025-03-10 10:00）。正在向各单位联络员")
        for t in texts
    )
    assert said("coord.publish_done", units=4, reached=5, not_reached=0) in texts[-1]
    assert "没有联络员的单位（19 个）：北庄镇、城头镇" in texts[-1]
    assert "未能送达" not in texts[-1]


async def test_an_english_reading_liaison_gets_the_report_in_english(
    world: BotWorld, district: District
) -> None:
    await publish_q1(world, district.coordinator)
    [document] = documents(world, district.tom)
    assert document.raw["document"]["file_name"] == "assessment-report-2025-Q1-finance.xlsx"
    caption = document.text or ""
    assert caption.startswith("The standings of Q1 2025 are published")
    assert "区财政局: rank" in caption and "in Zone and departments" in caption


async def test_a_liaison_who_blocked_the_bot_is_reported_and_the_others_still_receive_theirs(
    world: BotWorld, district: District
) -> None:
    district.zhao.block_bot()
    await publish_q1(world, district.coordinator)
    for liaison in (district.zhang, district.li, district.wang, district.tom):
        assert len(documents(world, liaison)) == 1
    summary = world.texts(district.coordinator)[-1]
    assert said("coord.publish_done", units=3, reached=4, not_reached=1) in summary
    assert said("coord.publish_blocked", name="赵六", unit="桑村镇") in summary
    assert latest_publication(world.uow(), YEAR) is not None


async def test_a_deactivated_liaison_receives_nothing(world: BotWorld, district: District) -> None:
    li = next(p for p in list_people(world.uow(), OPERATOR) if p.display_name == "李四")
    deactivate_person(world.uow(), OPERATOR, li.id)
    await publish_q1(world, district.coordinator)
    assert documents(world, district.li) == []
    assert len(documents(world, district.zhang)) == 1
    assert (
        said("coord.publish_done", units=4, reached=4, not_reached=0)
        in world.texts(district.coordinator)[-1]
    )


async def test_a_double_tap_on_publish_publishes_once(world: BotWorld, district: District) -> None:
    approve_year(world.uow)
    user = district.coordinator
    await send(world, user, "/publish")
    confirm = await choose(world, user, "coord.publish_period_year")
    data = confirm.callback_data(EARLY)
    user.tap(confirm, data)
    second = user.tap(confirm, data)
    await world.step()
    assert len(year_publications(world.uow(), OPERATOR, YEAR)) == 1
    answer = world.server.answer_to(second)
    assert answer is not None and answer.text == text_of("common.button_expired")
    assert len(documents(world, district.zhang)) == 1


async def test_cancel_publishes_nothing(world: BotWorld, district: District) -> None:
    approve_year(world.uow)
    user = district.coordinator
    await send(world, user, "/publish")
    await choose(world, user, "coord.publish_period_year")
    answer = await choose(world, user, "coord.publish_cancel_button")
    assert answer.text == said("coord.publish_cancelled")
    assert year_publications(world.uow(), OPERATOR, YEAR) == []
    assert world.server.calls("sendDocument") == []


async def test_typed_text_at_the_confirmation_shows_it_again(
    world: BotWorld, district: District
) -> None:
    user = district.coordinator
    await send(world, user, "/publish")
    await choose(world, user, "coord.publish_period_Q1")
    user.send_text("好的")
    await world.step()
    assert world.last(user).text.startswith("即将公布 2025 年一季度排名")
    assert year_publications(world.uow(), OPERATOR, YEAR) == []


async def test_a_past_year_offers_every_period_and_a_year_without_plan_is_refused(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world)
    await send(world, user, "/publish 2024")
    offer = world.last(user)
    periods = ("year", "Q1", "Q2", "Q3", "Q4")
    assert [label for label, _ in offer.buttons] == [
        *(text_of(f"coord.publish_period_{period}") for period in periods),
        text_of("coord.publish_cancel_button"),
    ]
    answer = await choose(world, user, "coord.publish_period_year")
    assert said("errors.no_plan", year=2024) in (answer.text or "")
    assert year_publications(world.uow(), OPERATOR, 2024) == []


async def test_a_future_year_or_a_bad_argument_is_refused(world: BotWorld) -> None:
    user = await join_coordinator(world)
    await send(world, user, "/publish 2026")
    assert world.texts(user)[-1] == said("coord.publish_future_year", year=2026)
    await send(world, user, "/publish 明年")
    assert world.texts(user)[-1].startswith("用法：/publish [年度]")


async def test_an_admin_may_publish(world: BotWorld) -> None:
    seed_scores(world)
    admin = await world.join(9400, Role.ADMIN, None, "管理员")
    zhang = await world.join(9301, Role.LIAISON, "dianzi", "张三")
    await publish_q1(world, admin)
    assert len(documents(world, zhang)) == 1
    publication = latest_publication(world.uow(), YEAR)
    assert publication is not None and publication.published_by is not None


async def test_an_older_period_list_cannot_change_a_confirmation(
    world: BotWorld, district: District
) -> None:
    user = district.coordinator
    await send(world, user, "/publish")
    periods: BotMessage = world.last(user)
    await choose(world, user, "coord.publish_period_Q1")
    # Tapping the year on the list shown before: its buttons expired with the confirmation.
    user.tap(periods, periods.callback_data(text_of("coord.publish_period_year")), strict=False)
    await world.step()
    assert "已过期" in world.texts(user)[-1]
    assert year_publications(world.uow(), OPERATOR, YEAR) == []


async def test_a_unit_whose_report_fails_is_reported_and_the_others_still_receive_theirs(
    world: BotWorld, district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = publish.unit_report_bytes

    def failing(uow: Any, year: int, unit: str, language: str, as_of: Any) -> Any:
        if unit == "xiji":
            raise RuntimeError("disk full")
        return real(uow, year, unit, language, as_of)

    monkeypatch.setattr(publish, "unit_report_bytes", failing)
    await publish_q1(world, district.coordinator)
    assert documents(world, district.wang) == []
    assert len(documents(world, district.zhang)) == 1
    summary = world.texts(district.coordinator)[-1]
    assert said("coord.publish_report_failed", unit="西集镇") in summary
    assert said("coord.publish_done", units=3, reached=4, not_reached=0) in summary


async def test_publishing_through_the_real_updater_delivers_the_reports(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with bot_world(sqlite_template, tmp_path, updater=True) as world:
        errors = record_errors(world.app)
        seed_scores(world)
        approve_year(world.uow)
        server = world.server
        boss = server.user(9001, first_name="王科长")
        zhang = server.user(9301, first_name="张三")
        wang = server.user(9303, first_name="王五")

        async def message_with(user: FakeUser, fragment: str) -> BotMessage:
            def found() -> BotMessage | None:
                return next(
                    (
                        m
                        for m in reversed(server.messages_to(user.id))
                        if fragment in (m.text or "")
                    ),
                    None,
                )

            message = await server.wait_for(found)
            assert message is not None
            return message

        async with world.polling():
            boss.send_command("/start", world.invite(Role.COORDINATOR))
            zhang.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
            wang.send_command("/start", world.invite(Role.LIAISON, "xiji"))
            await message_with(zhang, "店子镇")
            await message_with(wang, "西集镇")
            boss.send_command("/publish")
            offer = await message_with(boss, "哪一期")
            boss.tap(offer, offer.callback_data(text_of("coord.publish_period_year")))
            confirm = await message_with(boss, "即将公布")
            boss.tap(confirm, confirm.callback_data(EARLY))
            await message_with(boss, "发送完毕")
        [mine] = documents(world, zhang)
        [theirs] = documents(world, wang)
        assert "店子镇" in workbook_text(world, mine) and "西集镇" not in workbook_text(
            world, mine
        )
        assert "西集镇" in workbook_text(world, theirs)
        assert errors == []


async def test_a_period_that_has_ended_is_confirmed_without_a_warning(
    world: BotWorld, district: District
) -> None:
    user = district.coordinator
    world.clock.set(datetime(2025, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    await send(world, user, "/publish")
    before = len(world.texts(user))
    confirm = await choose(world, user, "coord.publish_period_Q1")
    assert len(world.texts(user)) == before + 1  # the confirmation alone
    assert [label for label, _ in confirm.buttons] == [
        text_of("coord.publish_confirm_button"),
        text_of("coord.publish_cancel_button"),
    ]
    assert "还没有结束" not in (confirm.text or "")
    await choose(world, user, "coord.publish_confirm_button")
    publication = latest_publication(world.uow(), YEAR)
    assert publication is not None and publication.period == "Q1"
