"""/result, /approve and /publish of the year: a coordinator freezes a draft, the approver gets
it with the report workbook and returns it (remarks reach the coordinators) or approves it;
only the approved result is published, as of its moment; data changed after approval make it
stale, which the bot shows unit by unit and which publishes nothing."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.dialogs import publish
from bot.fake_bot_api import FakeUser
from services.access import Actor, Role
from services.people import list_people
from services.publications import latest_publication
from services.results import set_approver, year_results
from services.year_data import record_grade
from storage.repositories.year_data import YearUnits
from storage.statuses import ResultStatus
from templates import render
from tests.bot.steps import choose, documents, join_coordinator, new_texts, send
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld, seed_scores

YEAR = 2025


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests need no pacing between sends."""
    monkeypatch.setattr(publish, "SEND_PAUSE", 0.0)


async def leader(world: BotWorld, approver: bool = True, user_id: int = 9501) -> FakeUser:
    """A leader (viewer), marked as an approver if asked."""
    user = await world.join(user_id, Role.VIEWER, None, "刘区长")
    person = next(p for p in list_people(world.uow(), OPERATOR) if p.telegram_user_id == user_id)
    if approver:
        set_approver(world.uow(), OPERATOR, person.id, True)
    return user


async def test_draft_returned_with_remarks_then_approved_then_published(world: BotWorld) -> None:
    seed_scores(world)
    boss = await join_coordinator(world)
    chief = await leader(world)
    liaison = await world.join(9502, Role.LIAISON, "dianzi", "张三")

    answers = await send(world, boss, "/result")
    assert render("result.none", "zh", year=YEAR) in answers[-1]
    await choose(world, boss, "result.freeze_button")
    frozen = await choose(world, boss, "result.freeze_confirm_button")
    [draft] = year_results(world.uow(), YEAR)
    assert draft.status is ResultStatus.DRAFT
    assert (frozen.text or "").startswith(f"已冻结 {YEAR} 年度考核结果草稿第 1 版")
    [document] = documents(world, chief)
    assert document.raw["document"]["file_name"] == render(
        "result.file_name", "zh", year=YEAR, version=1
    )
    assert (document.text or "").startswith(f"{YEAR} 年度考核结果草稿第 1 版")

    await send(world, chief, "/approve")
    assert [label for label, _ in world.last(chief).buttons] == [
        render("result.approve_button", "zh"),
        render("result.return_button", "zh"),
        render("result.cancel_button", "zh"),
    ]
    asked = await choose(world, chief, "result.return_button")
    assert asked.text == render("result.return_ask", "zh")
    chief.send_text("西集镇重点工作评价请复核")
    await world.step()
    assert world.texts(chief)[-1] == render("result.returned", "zh", year=YEAR, version=1)
    assert world.texts(boss)[-1] == render(
        "result.coord_returned",
        "zh",
        approver="刘区长",
        year=YEAR,
        version=1,
        remarks="西集镇重点工作评价请复核",
    )
    # Publishing the year is refused while the result is not approved.
    await send(world, boss, "/publish")
    refused = await choose(world, boss, "coord.publish_period_year")
    assert refused.text == render("errors.result_not_approved", "zh", year=YEAR, status="returned")

    await send(world, boss, "/result")
    await choose(world, boss, "result.refreeze_button")
    await choose(world, boss, "result.freeze_confirm_button")
    await send(world, chief, "/approve")
    done = await choose(world, chief, "result.approve_button")
    assert done.text == render("result.approved", "zh", year=YEAR, version=2)
    assert world.texts(boss)[-1].startswith("✅ 刘区长 已审定 2025 年度考核结果第 2 版")
    approved = year_results(world.uow(), YEAR)[0]

    await send(world, boss, "/publish")
    confirm = await choose(world, boss, "coord.publish_period_year")
    assert confirm.text is not None and "即将公布 2025 年全年排名" in confirm.text
    # The clock is before the year ends: publishing the year early is warned about.
    await choose(world, boss, "coord.publish_early_button")
    publication = latest_publication(world.uow(), YEAR)
    assert publication is not None and publication.as_of == approved.as_of
    assert year_results(world.uow(), YEAR)[0].status is ResultStatus.PUBLISHED
    [report] = documents(world, liaison)
    assert "店子镇" in report.raw["document"]["file_name"]


async def test_changed_data_make_the_approved_result_stale_and_nothing_is_published(
    world: BotWorld,
) -> None:
    seed_scores(world)
    boss = await join_coordinator(world)
    chief = await leader(world)
    await send(world, boss, "/result")
    await choose(world, boss, "result.freeze_button")
    await choose(world, boss, "result.freeze_confirm_button")
    await send(world, chief, "/approve")
    await choose(world, chief, "result.approve_button")
    answers = await send(world, boss, "/result")
    assert render("result.fresh", "zh") in "\n".join(answers)

    with world.uow() as u:
        xiji = next(r.id for r in u.repository(YearUnits).rows() if r.code == "shuiquan")
    for item in ("key_work", "basic_work"):
        record_grade(world.uow(), Actor.operator(), YEAR, xiji, item, "year", "poor", "区长")
    answers = await send(world, boss, "/result")
    text = "\n".join(answers)
    assert "⚠️" in text and "水泉镇（镇街）" in text
    before = len(world.texts(boss))
    await send(world, boss, "/publish")
    await choose(world, boss, "coord.publish_period_year")
    text = "\n".join(new_texts(world, boss, before))
    assert "水泉镇（镇街）" in text
    assert latest_publication(world.uow(), YEAR) is None


async def test_a_leader_not_named_approver_cannot_approve(world: BotWorld) -> None:
    seed_scores(world)
    boss = await join_coordinator(world)
    other = await leader(world, approver=False, user_id=9503)
    await send(world, boss, "/result")
    await choose(world, boss, "result.freeze_button")
    frozen = await choose(world, boss, "result.freeze_confirm_button")
    assert "还没有指定审定人" in (frozen.text or "")
    answers = await send(world, other, "/approve")
    assert answers == [render("errors.result_not_an_approver", "zh")]
    assert year_results(world.uow(), YEAR)[0].status is ResultStatus.DRAFT


async def test_an_admin_closes_the_published_year_and_it_stays_readable(world: BotWorld) -> None:
    seed_scores(world)
    admin = await world.join(9504, Role.ADMIN, None, "管理员")
    boss = await join_coordinator(world)
    chief = await leader(world)
    await send(world, admin, f"/close_year {YEAR}")
    refused = await choose(world, admin, "result.close_confirm_button")
    assert refused.text == render("errors.year_close_unpublished", "zh", year=YEAR)
    await send(world, boss, "/result")
    await choose(world, boss, "result.freeze_button")
    await choose(world, boss, "result.freeze_confirm_button")
    await send(world, chief, "/approve")
    await choose(world, chief, "result.approve_button")
    await send(world, boss, "/publish")
    await choose(world, boss, "coord.publish_period_year")
    # The clock is before the year ends: publishing the year early is warned about.
    await choose(world, boss, "coord.publish_early_button")

    await send(world, boss, f"/close_year {YEAR}")  # coordinators may not
    assert world.texts(boss)[-1] != render("result.closed", "zh", year=YEAR, version=1)
    await send(world, admin, f"/close_year {YEAR}")
    closed = await choose(world, admin, "result.close_confirm_button")
    assert closed.text == render("result.closed", "zh", year=YEAR, version=1)

    answers = await send(world, boss, f"/standings {YEAR}")
    assert answers[0] == render("coord.standings_preparing", "zh", year=YEAR)
    await send(world, boss, f"/result {YEAR}")
    await choose(world, boss, "result.refreeze_button")
    await choose(world, boss, "result.freeze_confirm_button")
    assert world.texts(boss)[-1] == render("errors.year_closed", "zh", year=YEAR)
    # In January, the assessment year is no longer the closed year but the next one.
    world.clock.set(datetime(YEAR + 1, 1, 20, 10, tzinfo=SHANGHAI))
    answers = await send(world, boss, "/standings")
    assert answers[0] == render("coord.standings_preparing", "zh", year=YEAR + 1)
