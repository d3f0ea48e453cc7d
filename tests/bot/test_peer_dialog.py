"""/peer through the real Application and the fake Bot API: a coordinator opens the round, the
liaisons are told and grade their cards (one tap, changeable, each unit sees only its own
votes), the coordinator follows who has voted and reminds the others through the reminder job,
closes the round, and the standings change."""

from __future__ import annotations

from typing import Any

import yaml

from bot.fake_bot_api import FakeUser
from bot.jobs import send_reminders
from services.access import Role
from services.plans import load_plan
from services.standings import compute_standings
from tests.bot.steps import send, tap
from tests.bot.workbooks import XLSX, workbook
from tests.bot.world import OPERATOR, BotWorld
from tests.factories import plan_data
from tests.fakes.bot_api import record_errors
from tests.texts import said, text_of

COORDINATOR, DIANZI, DIANZI_2, XIJI, SANGCUN, RATER = 7001, 7002, 7003, 7004, 7005, 7006


def weigh_peers(world: BotWorld) -> None:
    """The 2025 plan with the panel and the peers weighed 0.6 and 0.4."""
    data = plan_data(2025)
    data["work"]["year_end"] = {"sources": {"panel": 0.6, "peer": 0.4}}
    load_plan(world.uow(), OPERATOR, yaml.safe_dump(data, allow_unicode=True), "plan.yaml")


def card(world: BotWorld, user: FakeUser, unit: str) -> Any:
    """The newest card of `unit` in the user's chat (as it stands now, edits applied)."""
    for message in reversed(world.server.messages_to(user.id)):
        if (message.text or "").startswith(f"{unit} · "):
            return message
    raise AssertionError(f"no card of {unit}")


def items_of(world: BotWorld, code: str) -> dict[str, Any]:
    """A unit's key_work in the standings JSON."""
    towns = compute_standings(world.uow(), 2025).to_json()["groups"]["town"]
    item: dict[str, Any] = next(e for e in towns if e["unit"] == code)["items"]["key_work"]
    return item


async def test_a_whole_peer_round_from_opening_to_the_standings(world: BotWorld) -> None:
    errors = record_errors(world.app)
    weigh_peers(world)
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    dianzi = await world.join(DIANZI, Role.LIAISON, "dianzi", "店子联络员")
    dianzi_2 = await world.join(DIANZI_2, Role.LIAISON, "dianzi", "店子联络员二")
    xiji = await world.join(XIJI, Role.LIAISON, "xiji", "西集联络员")
    sangcun = await world.join(SANGCUN, Role.LIAISON, "sangcun", "桑村联络员")
    before = items_of(world, "dianzi")
    assert before["flags"] == ["no_grade", "no_peer"]

    # Open: the group, the vote-by day, a confirmation.
    await send(world, coordinator, "/peer open")
    assert [t for t, _ in world.last(coordinator).buttons] == [
        text_of("peer.group_button", group="town", count=10),
        text_of("peer.group_button", group="zone_or_department", count=13),
    ]
    await tap(world, coordinator, text_of("peer.group_button", group="town", count=10))
    await tap(world, coordinator, text_of("peer.vote_by_button", days=7, day="2025-03-17"))
    assert "确认开启 2025 年度镇街互评" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("peer.confirm_open_button"))
    assert "已开启 2025 年度镇街互评" in world.texts(coordinator)[-1]

    # The liaisons are told by the reminder job, each once.
    seen = len(world.texts(sangcun))
    await send_reminders(world.deps, world.app.bot, "one")
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    (notice,) = world.texts(sangcun)[seen:]
    assert "2025 年度镇街互评已开启" in notice and "2025-03-17" in notice
    assert any("互评已开启" in t for t in world.texts(dianzi_2))

    # A liaison's cards: one per other town, none for their own.
    await send(world, dianzi, "/peer")
    texts = world.texts(dianzi)
    assert any("本单位已评 0/9" in t for t in texts)
    cards = [t for t in texts if " · 重点工作" in t]
    assert len(cards) == 9 and not any(t.startswith("店子镇 · ") for t in cards)
    xiji_card = card(world, dianzi, "西集镇")
    assert [t for t, _ in xiji_card.buttons] == [
        text_of("peer.grade_button", grade="excellent", chosen=False),
        text_of("peer.grade_button", grade="good", chosen=False),
        text_of("peer.grade_button", grade="fair", chosen=False),
        text_of("peer.grade_button", grade="poor", chosen=False),
    ]
    await tap(
        world, dianzi, text_of("peer.grade_button", grade="good", chosen=False), on=xiji_card
    )
    xiji_card = card(world, dianzi, "西集镇")
    assert xiji_card.edited and said(
        "peer.card", unit="西集镇", item="重点工作", grade="good"
    ) in (xiji_card.text or "")
    assert [t for t, _ in xiji_card.buttons] == [
        text_of("peer.grade_button", grade="excellent", chosen=False),
        text_of("peer.grade_button", grade="good", chosen=True),
        text_of("peer.grade_button", grade="fair", chosen=False),
        text_of("peer.grade_button", grade="poor", chosen=False),
    ]
    await tap(
        world, dianzi, text_of("peer.grade_button", grade="excellent", chosen=False), on=xiji_card
    )  # changed, until the round closes
    assert "本单位的评价：好 ✓" in (card(world, dianzi, "西集镇").text or "")

    # The unit's other liaison sees the unit's vote; 西集镇 sees none of 店子镇's.
    await send(world, dianzi_2, "/peer")
    assert "本单位的评价：好 ✓" in (card(world, dianzi_2, "西集镇").text or "")
    await send(world, xiji, "/peer")
    xiji_texts = [t for t in world.texts(xiji) if " · 重点工作" in t]
    assert all("尚未评价" in t for t in xiji_texts)
    await tap(
        world,
        xiji,
        text_of("peer.grade_button", grade="excellent", chosen=False),
        on=card(world, xiji, "店子镇"),
    )

    # Who has voted: counts first, the units behind a button, never the votes.
    await send(world, coordinator, "/peer status")
    status = world.texts(coordinator)[-1]
    assert "已完成 0 个单位，部分完成 2 个，未开始 8 个（共 10 个）" in status
    await tap(world, coordinator, text_of("peer.details_button"))
    details = world.texts(coordinator)[-1]
    assert (
        said("peer.detail_line", unit="店子镇", voted=1, cards=9, state="partly") in details
        and said("peer.detail_line", unit="桑村镇", voted=0, cards=9, state="not_started")
        in details
    )
    assert "较好" not in details and " 好" not in details

    # Remind those not done, through the reminder job; each liaison once a day.
    await tap(world, coordinator, text_of("peer.remind_button"))
    assert said("peer.reminded", units=10, liaisons=4, already=0) in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("peer.remind_button"))
    assert said("peer.reminded", units=10, liaisons=0, already=4) in world.texts(coordinator)[-1]
    seen = len(world.texts(sangcun))
    world.clock.advance(minutes=1)
    await send_reminders(world.deps, world.app.bot, "one")
    (reminder,) = world.texts(sangcun)[seen:]
    assert "本单位已评 0/9" in reminder

    # Close: frozen; a tap on a card afterwards is refused and changes nothing.
    await send(world, coordinator, "/peer close")
    await tap(world, coordinator, text_of("peer.round_button", year=2025, group="town"))
    assert "确认结束 2025 年度镇街互评" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("peer.confirm_close_button"))
    assert "已结束 2025 年度镇街互评" in world.texts(coordinator)[-1]
    await tap(
        world,
        dianzi,
        text_of("peer.grade_button", grade="poor", chosen=False),
        on=card(world, dianzi, "西集镇"),
    )
    assert said("errors.peer_round_closed", year=2025, group="town") in world.texts(dianzi)[-1]

    # The standings now weigh the peers' votes.
    after_dianzi, after_xiji = items_of(world, "dianzi"), items_of(world, "xiji")
    assert after_dianzi["year_end_sources"] == {"peer": 1.0}
    assert after_dianzi["points"] == 200.0 and before["points"] == 0.0
    assert after_xiji["year_end_sources"] == {"peer": 1.0}  # 店子镇's latest vote: 好
    assert errors == []


async def test_the_open_notice_goes_only_to_units_with_cards_left(world: BotWorld) -> None:
    weigh_peers(world)
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await send(world, coordinator, "/peer open 2025")
    await tap(world, coordinator, text_of("peer.group_button", group="town", count=10))
    await tap(world, coordinator, text_of("peer.vote_by_button", days=0, day=""))
    await tap(world, coordinator, text_of("peer.confirm_open_button"))
    late = await world.join(XIJI, Role.LIAISON, "xiji", "西集联络员")  # joined after opening
    seen = len(world.texts(late))
    await send_reminders(world.deps, world.app.bot, "one")
    assert any("互评已开启" in t for t in world.texts(late)[seen:])


async def test_only_liaisons_and_coordinators_use_peer_and_bad_input_is_explained(
    world: BotWorld,
) -> None:
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    await send(world, rater, "/peer")
    assert said("common.not_for_your_role") in world.texts(rater)[-1]
    liaison = await world.join(DIANZI, Role.LIAISON, "dianzi", "店子联络员")
    await send(world, liaison, "/peer")
    assert said("peer.none_open", year=None) in world.texts(liaison)[-1]
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await send(world, coordinator, "/peer open")
    assert said("peer.no_peer_plan") in world.texts(coordinator)[-1]
    await send(world, coordinator, "/peer reopen")
    assert said("peer.usage") in world.texts(coordinator)[-1]
    await send(world, coordinator, "/peer")
    assert [t for t, _ in world.last(coordinator).buttons] == [
        text_of("peer.menu_open"),
        text_of("peer.menu_status"),
        text_of("peer.menu_close"),
    ]
    await tap(world, coordinator, text_of("peer.menu_status"))
    assert said("peer.no_rounds", year=None) in world.texts(coordinator)[-1]


async def test_a_peer_round_on_paper_is_imported_as_a_grades_workbook(world: BotWorld) -> None:
    weigh_peers(world)
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    header = ["unit", "item", "period", "rater", "grade", "source"]
    bad = [["dianzi", "重点工作", "年度", "店子镇", "好", "互评"]]
    coordinator.send_document(workbook("grades", header, bad), "互评.xlsx", XLSX)
    await world.step()
    refusal = world.texts(coordinator)[-1]
    assert (
        said("coord.upload_problems", file="互评.xlsx", count=1) in refusal
        and said("workbook.peer_own_unit", unit="店子镇") in refusal
    )
    rows = [
        ["dianzi", "重点工作", "年度", "区统计局", "较好", None],
        ["dianzi", "重点工作", "年度", "西集镇", "好", "互评"],
        ["dianzi", "重点工作", "年度", "sangcun", "一般", "互评"],
    ]
    coordinator.send_document(workbook("grades", header, rows), "互评.xlsx", XLSX)
    await world.step()
    assert "其中互评：2 条" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.upload_confirm_button"))
    assert "其中互评 2 条" in world.texts(coordinator)[-1]
    # panel 0.8 and peer (1.0 + 0.6) / 2 = 0.8 weighed 0.6 / 0.4: key_work 0.8 x 200.
    item = items_of(world, "dianzi")
    assert item["year_end_sources"] == {"panel": 0.8, "peer": 0.8}
    assert item["points"] == 160.0


async def test_cards_of_a_large_group_come_in_pages(world: BotWorld) -> None:
    weigh_peers(world)
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await send(world, coordinator, "/peer open")
    await tap(
        world, coordinator, text_of("peer.group_button", group="zone_or_department", count=13)
    )
    await tap(world, coordinator, text_of("peer.vote_by_button", days=0, day=""))
    await tap(world, coordinator, text_of("peer.confirm_open_button"))
    finance = await world.join(RATER, Role.LIAISON, "finance", "财政局联络员")
    await send(world, finance, "/peer")
    cards = [t for t in world.texts(finance) if " · 重点工作" in t]
    assert len(cards) == 10  # a page; twelve other departments in all
    assert said("peer.page", page=1, pages=2) in world.texts(finance)[-1]
    await tap(world, finance, text_of("peer.page_next"))
    cards = [t for t in world.texts(finance) if " · 重点工作" in t]
    assert len(cards) == 12 and not any(t.startswith("区财政局 · ") for t in cards)
    assert said("peer.page", page=2, pages=2) in world.texts(finance)[-1]
