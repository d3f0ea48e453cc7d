"""/myscore: the unit's published score, rank and tier, and the explanation of every indicator,
work item and the bonus; nothing before publication, nothing of another unit."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from bot.buttons import Payload
from bot.dialogs import myscore
from bot.dialogs.myscore import MAX_MESSAGE, split_text
from bot.fake_bot_api import FakeUser
from scoring import BonusItem, Grade, GradeRecord, IndicatorValues
from services import publications
from services.access import Actor, Role
from services.plans import current_plan
from services.publications import publish_standings, withdraw_publication
from services.sample_district import sample_bonus, sample_grades, sample_values
from services.year_data import (
    add_bonus,
    decide_bonus,
    import_bonus,
    import_grades,
    import_values,
)
from tests.bot.steps import everything, newest_with, tap
from tests.bot.world import BotWorld, draft, unit_id
from tests.services.district import approve_year
from tests.texts import said, text_of

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")
# Names of other units that must never appear in a liaison's /myscore.
OTHERS = ("西集镇", "桑村镇", "山城街道", "区财政局")


def seed_year(world: BotWorld) -> None:
    """The sample district's values, grades and bonus for 2025."""
    plan = current_plan(world.uow(), 2025)
    rows = sample_values(plan)
    indicators = tuple(ind.code for ind in plan.development.indicators)
    matrix = np.array([[np.nan if v is None else v for v in row[1:]] for row in rows], float)
    values = IndicatorValues(tuple(str(r[0]) for r in rows), indicators, matrix)
    import_values(world.uow(), COORDINATOR, 2025, values, "sample")
    grades = [
        GradeRecord(str(u), str(i), str(p), str(r), Grade(str(g)))
        for u, i, p, r, g in sample_grades(plan)
    ]
    import_grades(world.uow(), COORDINATOR, 2025, grades, "sample")
    bonus = [BonusItem(str(u), str(t), a == "是", str(e)) for u, t, e, a in sample_bonus()]
    import_bonus(world.uow(), COORDINATOR, 2025, bonus, "sample")


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """A liaison of 店子镇 (dianzi) in a district with a year of data."""
    seed_year(world)
    return await world.join(1001, Role.LIAISON, "dianzi")


async def test_nothing_is_shown_before_the_standings_are_published(
    world: BotWorld, liaison: FakeUser
) -> None:
    liaison.send_command("/myscore")
    await world.step()
    assert said("myscore.not_published", year=2025) in world.texts(liaison)[-1]
    assert draft(world, 1001, "myscore") is None


async def test_the_overview_shows_total_rank_tier_and_blocks(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    overview = world.last(liaison)
    text = overview.text or ""
    assert "2025 年度考核得分" in text and "店子镇" in text
    assert "镇街组第" in text and "共 10 个单位" in text
    assert "等级：" in text and "发展成效指标：" in text and "重点工作：" in text
    assert "加分：60.00" in text and "加分已达上限" in text  # the sample claims seven
    assert [label for label, _ in overview.buttons] == [
        text_of("myscore.indicators_button", count=12),
        text_of("myscore.item_button", name="重点工作"),
        text_of("myscore.item_button", name="基础工作"),
        text_of("myscore.bonus_button"),
    ]
    assert not any(name in everything(world, liaison) for name in OTHERS)


async def test_each_indicator_is_explained_with_its_formula(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    await tap(world, liaison, text_of("myscore.indicators_button", count=12))
    listing = world.last(liaison)
    assert "1. 地区生产总值增速" in (listing.text or "") and listing.edited
    await tap(world, liaison, "1")
    shown = world.last(liaison).text or ""
    assert "地区生产总值增速" in shown and "类别：质量效益" in shown
    assert "同组最好值" in shown and "相对位置 r" in shown and "得分 = 50.00 ×" in shown
    await tap(world, liaison, text_of("myscore.next_indicator"))
    assert "一般公共预算收入增速" in (world.last(liaison).text or "")
    await tap(world, liaison, text_of("myscore.list_button"))
    await tap(world, liaison, "10")
    shown = world.last(liaison).text or ""
    assert "单位GDP能耗" in shown and "满意值" in shown and "数值越小越好" in shown
    await tap(world, liaison, text_of("myscore.overview_button"))
    assert "2025 年度考核得分" in (world.last(liaison).text or "")
    assert len(world.server.messages_to(liaison.id)) == 3  # welcome, help, one edited message
    assert not any(name in everything(world, liaison) for name in OTHERS)


async def test_a_missing_value_is_explained_in_words(world: BotWorld) -> None:
    seed_year(world)
    user = await world.join(1001, Role.LIAISON, "shuiquan")  # left out foreign capital
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user.send_command("/myscore")
    await world.step()
    assert "有指标未报数值" in (world.last(user).text or "")
    await tap(world, user, text_of("myscore.indicators_button", count=12))
    await tap(world, user, "9")
    shown = world.last(user).text or ""
    assert "实际使用外资" in shown and "本单位数值：未报" in shown and "计 0 分" in shown


async def test_a_work_item_shows_the_grades_dropped_and_the_deductions(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    await tap(world, liaison, text_of("myscore.item_button", name="重点工作"))
    shown = world.last(liaison).text or ""
    assert "一季度评价（3 个评价单位）" in shown
    assert "年终评价（6 个评价单位）" in shown and "去掉最高、最低" in shown
    assert "综合系数 = 0.40 × 季度平均" in shown and "最终得分" in shown
    assert "区统计局" not in shown and "区督查室" not in shown  # raters stay anonymous


async def test_deductions_are_listed_by_event(world: BotWorld) -> None:
    from datetime import date

    from services.findings import record_finding

    seed_year(world)
    user = await world.join(1001, Role.LIAISON, "dianzi")
    record_finding(
        world.uow(), COORDINATOR, unit_id(world, "dianzi"), "消防通道堵塞", "on_site_inspection",
        date(2025, 3, 1), date(2025, 3, 5),
    )  # fmt: skip
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user.send_command("/myscore")
    await world.step()
    await tap(world, user, text_of("myscore.item_button", name="重点工作"))
    shown = world.last(user).text or ""
    assert "扣分：整改逾期 1 次 × 2.00 分 = 2.00 分" in shown


async def test_the_bonus_lists_the_units_own_items(world: BotWorld, liaison: FakeUser) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    await tap(world, liaison, text_of("myscore.bonus_button"))
    shown = world.last(liaison).text or ""
    assert "已达上限" in shown and "创新性典型经验做法（示例 7）" in shown
    assert "新能源装备" not in shown  # 西集镇's


async def test_a_department_has_no_indicators(world: BotWorld) -> None:
    seed_year(world)
    user = await world.join(1001, Role.LIAISON, "finance")
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user.send_command("/myscore")
    await world.step()
    overview = world.last(user)
    assert "开发区和部门组第" in (overview.text or "") and "共 13 个单位" in (overview.text or "")
    assert "发展成效指标" not in (overview.text or "")
    assert [label for label, _ in overview.buttons] == [
        text_of("myscore.item_button", name="重点工作"),
        text_of("myscore.item_button", name="基础工作"),
        text_of("myscore.bonus_button"),
    ]


async def test_a_newer_publication_is_noticed_at_the_next_tap(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    world.clock.advance(hours=2)
    publish_standings(world.uow(), COORDINATOR, 2025)
    await tap(world, liaison, text_of("myscore.bonus_button"))
    assert said("myscore.republished") in world.texts(liaison)[-2]
    assert "2025-03-10 12:00" in world.texts(liaison)[-1]


async def test_a_withdrawn_publication_is_no_longer_shown(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    view = publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    withdraw_publication(world.uow(), COORDINATOR, view.id)
    await tap(world, liaison, text_of("myscore.item_button", name="重点工作"))
    assert said("myscore.not_published", year=2025) in world.texts(liaison)[-1]
    assert draft(world, 1001, "myscore") is None


async def test_the_standings_are_computed_off_the_event_loop_and_kept_a_while(
    world: BotWorld, liaison: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = publications.unit_explanation

    def watched(*args: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(myscore, "unit_explanation", watched)
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    await tap(world, liaison, text_of("myscore.item_button", name="重点工作"))
    await tap(world, liaison, text_of("myscore.overview_button"))
    assert len(threads) == 1 and threads[0] != threading.main_thread().name


async def test_text_while_looking_shows_the_overview_again(
    world: BotWorld, liaison: FakeUser
) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    liaison.send_text("排名怎么算的")
    await world.step()
    assert said("dialog.use_buttons") in world.texts(liaison)[-2]
    assert "2025 年度考核得分" in world.texts(liaison)[-1]


async def test_an_altered_index_shows_the_overview(world: BotWorld, liaison: FakeUser) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore")
    await world.step()
    state = draft(world, 1001, "myscore")
    payload = world.deps.signer.dump(Payload("myscore", state.version, "i", "99"))
    liaison.tap(world.last(liaison), payload, strict=False)
    await world.step()
    assert "2025 年度考核得分" in (world.last(liaison).text or "")


async def test_another_year_or_a_bad_year_is_answered(world: BotWorld, liaison: FakeUser) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    liaison.send_command("/myscore", "2024")
    await world.step()
    assert said("myscore.not_published", year=2024) in world.texts(liaison)[-1]
    liaison.send_command("/myscore", "去年")
    await world.step()
    assert said("myscore.bad_year", value="去年") in world.texts(liaison)[-1]


@pytest.mark.parametrize("role", [Role.RATER, Role.VIEWER, Role.COORDINATOR])
async def test_other_roles_cannot_use_myscore(world: BotWorld, role: Role) -> None:
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user = await world.join(2001, role, None, "王五")
    user.send_command("/myscore")
    await world.step()
    assert said("common.not_for_your_role") in world.texts(user)[-1]


async def test_a_text_too_long_for_one_message_is_sent_in_pieces(world: BotWorld) -> None:
    seed_year(world)
    user = await world.join(1001, Role.LIAISON, "xiji")
    for n in range(60):
        added = add_bonus(world.uow(), COORDINATOR, 2025, unit_id(world, "xiji"), f"{n:02d}" * 60)
        decide_bonus(world.uow(), COORDINATOR, added.id, n % 2 == 0)
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user.send_command("/myscore")
    await world.step()
    before = len(world.server.messages_to(user.id))
    await tap(world, user, text_of("myscore.bonus_button"))
    new = world.server.messages_to(user.id)[before:]
    assert len(new) >= 2
    assert all(len(m.source_text or "") <= 4096 for m in new)
    assert new[-1].buttons and not new[0].buttons
    assert "59" * 60 in "".join(m.text or "" for m in new)
    newest_with(world, user, text_of("myscore.overview_button"))


def test_split_text_cuts_at_line_ends_and_never_over_the_limit() -> None:
    text = "\n".join(f"第 {n} 行" + "字" * 50 for n in range(200))
    pieces = split_text(text)
    assert all(len(p) <= MAX_MESSAGE for p in pieces)
    assert "\n".join(pieces) == text
    assert split_text("短") == ["短"]
    long_line = "长" * (MAX_MESSAGE * 2 + 5)
    assert "".join(split_text(long_line)) == long_line


async def test_the_explanations_read_in_english_too(world: BotWorld) -> None:
    seed_year(world)
    user = await world.join(1001, Role.LIAISON, "shuiquan")
    user.send_command("/language")
    await world.step()
    await tap(world, user, "English")
    approve_year(world.uow, COORDINATOR)
    publish_standings(world.uow(), COORDINATOR, 2025)
    user.send_command("/myscore")
    await world.step()
    assert "Rank: 10 of 10 in the towns group" in (world.last(user).text or "")
    await tap(world, user, "📊 Development indicators (12)")
    await tap(world, user, "9")
    assert "Your value: not reported" in (world.last(user).text or "")
    await tap(world, user, "Next ▶")
    assert "Satisfactory value: 0.40 吨标准煤/万元" in (world.last(user).text or "")
    await tap(world, user, "🏠 Overview")
    await tap(world, user, "📋 重点工作")
    assert "highest and lowest dropped" in (world.last(user).text or "")
    await tap(world, user, "🏠 Overview")
    await tap(world, user, "➕ Bonus")
    assert "No approved bonus items." in (world.last(user).text or "")
