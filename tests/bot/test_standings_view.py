"""/standings and /unit for coordinators and leaders: the ranked lists, the bar charts (read back:
a PNG drawn in the CJK font with no missing glyph), one unit's breakdown, bad arguments, and
who may use them."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any
from unittest import mock

import pytest
from matplotlib import font_manager
from matplotlib.backends import backend_agg
from matplotlib.ft2font import FT2Font
from PIL import Image

from bot.dialogs.standings_view import parse_standings_args
from bot.fake_bot_api import BotMessage
from bot.message_split import split_messages, utf16_length
from scoring import Group, Unit
from services.access import Role
from services.files.charts import cjk_font_path
from services.files.charts_standings import MAX_BARS, standings_chart
from services.people import register_units
from services.standings import as_of_day, compute_standings
from templates.formatting import num
from tests.bot.steps import join_coordinator, new_texts, photos, send
from tests.bot.world import OPERATOR, BotWorld, seed_scores
from tests.texts import said, text_of

YEAR = 2025


def photo_bytes(world: BotWorld, message: BotMessage) -> bytes:
    """The largest size of a photo the bot sent."""
    return world.server.file(message.raw["photo"][-1]["file_id"]).data


# --- /standings -----------------------------------------------------------------------------


async def test_standings_list_each_group_ranked_with_tier_and_total(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    texts = await send(world, user, "/standings")
    assert texts[0] == said("coord.standings_preparing", year=2025)
    listing = "\n".join(t for t in texts if "排名" in t and "·" in t)
    standings = compute_standings(world.uow(), YEAR)
    for group, title in ((Group.TOWN, "镇街排名"), (Group.ZONE_OR_DEPARTMENT, "开发区和部门排名")):
        assert title in listing
        for r in standings.group(group):
            assert f"{r.rank}. {r.name}　{r.tier}　{num(r.total)}" in listing
    first = standings.group(Group.TOWN)[0]
    assert listing.index(f"1. {first.name}") < listing.rindex(standings.group(Group.TOWN)[-1].name)
    assert all(utf16_length(t) <= 4096 for t in texts)
    pictures = photos(world, user)
    assert [p.text for p in pictures] == [
        said("coord.standings_chart_caption", group=text_of("year.group_town")),
        said("coord.standings_chart_caption", group=text_of("year.group_zone_or_department")),
    ]
    chat_actions = [c.params.get("action") for c in world.server.calls("sendChatAction")]
    assert "typing" in chat_actions and "upload_photo" in chat_actions


async def test_the_chart_sent_is_a_png_picture(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    await send(world, user, "/standings 镇街")
    [picture] = photos(world, user)
    image = Image.open(io.BytesIO(photo_bytes(world, picture)))
    image.load()
    assert image.format == "PNG"
    width, height = image.size
    assert width == 1000 and 300 < height < 1000


@pytest.fixture
def fonts_drawn() -> Iterator[list[str]]:
    """The font files the Agg renderer draws text with, while the fixture is active."""
    used: list[str] = []
    real = font_manager.get_font

    def spy(paths: Any, *args: Any, **kwargs: Any) -> Any:
        used.extend([paths] if isinstance(paths, str) else [str(p) for p in paths])
        return real(paths, *args, **kwargs)

    with mock.patch.object(backend_agg, "get_font", spy):
        yield used


async def test_the_chart_is_drawn_in_the_cjk_font_with_no_missing_glyph(
    world: BotWorld, fonts_drawn: list[str]
) -> None:
    seed_scores(world)
    standings = compute_standings(world.uow(), YEAR)
    results = standings.group(Group.ZONE_OR_DEPARTMENT)
    chart = standings_chart(results, standings.plan, "开发区和部门总分 · 2025 年度", "总分")
    font = str(cjk_font_path())
    assert chart.font_file == font
    # Every text was drawn with the CJK font, never with a fallback …
    assert fonts_drawn and set(fonts_drawn) == {font}
    # … and that font has a glyph for every character drawn (a missing one would also have
    # raised matplotlib's "Glyph … missing" warning, an error under pytest here).
    charmap = FT2Font(font).get_charmap()
    drawn = "".join(r.name + r.tier for r in results) + "开发区和部门总分年度0123456789.·"
    assert [c for c in set(drawn) if ord(c) not in charmap] == []
    assert "区人力资源和社会保障局" in drawn
    image = Image.open(io.BytesIO(chart.png))
    assert image.format == "PNG" and image.size == (chart.width, chart.height)


def test_the_cjk_font_is_not_the_fallback_font() -> None:
    assert "DejaVu" not in font_manager.FontProperties(fname=str(cjk_font_path())).get_name()


async def test_a_group_and_an_as_of_day_narrow_the_standings(world: BotWorld) -> None:
    seed_scores(world)  # stored on 10 March
    user = await join_coordinator(world)
    answers = await send(world, user, "/standings town 2025-03-01")
    listing = "\n".join(answers)
    assert "镇街排名" in listing and "截至 2025-03-01 当日结束" in listing
    assert "开发区和部门排名" not in listing
    # On 1 March nothing had been stored yet: the standings of then, not of now.
    then = compute_standings(world.uow(), YEAR, as_of_day(world.uow(), YEAR, date(2025, 3, 1)))
    now = compute_standings(world.uow(), YEAR)
    for r in then.group(Group.TOWN):
        assert f"{r.rank}. {r.name}　{r.tier}　{num(r.total)}" in listing
    assert f"{num(now.group(Group.TOWN)[0].total)}" not in listing
    assert len(photos(world, user)) == 1


async def test_bad_arguments_get_the_usage(world: BotWorld) -> None:
    user = await join_coordinator(world)
    for args in ("乡镇", "2025-13-01", "town dept", "2025-03-01 2025-03-02"):
        [answer] = await send(world, user, f"/standings {args}")
        assert (
            "看不懂" in answer
            and said(
                "coord.standings_usage",
                town="镇街",
                town_short="town",
                dept="部门",
                dept_short="dept",
            )
            in answer
        )
    answers = await send(world, user, "/standings 2025-03-11")
    assert answers == ["截至日期 2025-03-11 晚于今天（2025-03-10），排名只能按已发生的情况计算。"]


async def test_standings_of_a_year_without_a_plan_say_so(world: BotWorld) -> None:
    user = await join_coordinator(world)
    answers = await send(world, user, "/standings 2024-12-31")
    assert said("errors.no_plan", year=2024) in answers[-1]


def test_arguments_come_in_any_order() -> None:
    parsed = parse_standings_args(["2025-06-30", "部门"])
    assert (parsed.group, str(parsed.day)) == (Group.ZONE_OR_DEPARTMENT, "2025-06-30")
    assert parse_standings_args([]).group is None


def test_long_lists_are_split_without_cutting_a_line() -> None:
    lines = [f"{n}. 很长的单位名称{'甲' * 40}　优秀　<b>812.34</b>" for n in range(300)]
    messages = split_messages(lines)
    assert len(messages) > 1
    assert all(utf16_length(m) <= 4096 for m in messages)
    assert "\n".join(messages).split("\n") == lines


async def test_a_big_group_is_split_into_messages_and_its_chart_shows_the_first_ranks(
    world: BotWorld,
) -> None:
    extra = [
        Unit(f"dept{n:03d}", f"区第{n}号很长名称的工作部门和办公室", Group.ZONE_OR_DEPARTMENT)
        for n in range(150)
    ]
    register_units(world.uow(), OPERATOR, extra)
    user = await join_coordinator(world)
    texts = [t for t in await send(world, user, "/standings dept") if t]
    listing = [t for t in texts if "区第" in t and "柱状图" not in t]
    assert len(listing) > 1
    assert all(utf16_length(t) <= 4096 for t in texts)
    assert sum(t.count("区第") for t in listing) == 150
    [picture] = photos(world, user)
    image = Image.open(io.BytesIO(photo_bytes(world, picture)))
    assert image.size[1] < 2600  # MAX_BARS bars, not 163
    assert MAX_BARS == 60


# --- /unit ----------------------------------------------------------------------------------


async def test_unit_shows_blocks_rank_tier_indicators_and_items(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    answers = await send(world, user, "/unit 店子镇")
    text = "\n".join(answers)
    explained = compute_standings(world.uow(), YEAR).explain("dianzi")
    r = explained.result
    assert f"镇街第 {r.rank} 名（共 10 个）　等级 {r.tier}　总分 {num(r.total)}" in text
    assert f"发展成效 {num(r.development)}" in text
    for indicator in explained.indicators:
        assert f"• {indicator.name}：" in text
    for item in explained.items:
        assert f"• {item.name}：{num(item.points)} / {num(item.weight)} 分" in text
    assert "年终 区发展和改革局" in text  # a grade with its period and rater …
    assert "[去掉]" in text  # … and one dropped by trimming
    assert "计 60.00 分（已达上限）" in text  # 店子镇 claims 7 items, the cap is 60


async def test_unit_explains_a_missing_value_in_words(world: BotWorld) -> None:
    seed_scores(world)  # 水泉镇 did not report foreign capital
    user = await join_coordinator(world)
    answers = await send(world, user, "/unit shuiquan")
    text = "\n".join(answers)
    assert "• 实际使用外资：未报" in text and "⚠️ 未报数值" in text
    assert "需要注意：有指标未报数值" in text


async def test_a_name_matching_several_units_offers_them_as_buttons(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    await send(world, user, "/unit 镇")
    offer = world.last(user)
    assert offer.text == said("coord.unit_several", query="镇")
    labels = [label for label, _ in offer.buttons]
    assert "西集镇" in labels and "店子镇" in labels
    before = len(world.server.messages_to(user.id))
    user.tap(offer, offer.callback_data("西集镇"))
    await world.step()
    text = "\n".join(new_texts(world, user, before))
    assert "西集镇" in text and "镇街第" in text
    # The list is done with: its buttons expire.
    user.tap(offer, offer.callback_data("店子镇"), strict=False)  # closed already
    await world.step()
    assert "已过期" in world.texts(user)[-1]


async def test_a_name_matching_nothing_is_asked_again(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    await send(world, user, "/unit 火星")
    assert world.texts(user)[-1].startswith("没有找到名称或代码包含“火星”的单位")
    user.send_text("桑村")
    await world.step()
    assert any("桑村镇" in t and "镇街第" in t for t in world.texts(user)[-3:])


async def test_unit_without_a_name_asks_for_it(world: BotWorld) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    await send(world, user, "/unit")
    assert world.texts(user)[-1] == said("coord.unit_ask")
    user.send_text("区财政局")
    await world.step()
    text = "\n".join(world.texts(user)[-3:])
    assert "开发区和部门第" in text and "发展成效指标" not in text


async def test_unit_speaks_english_to_an_english_reader(world: BotWorld) -> None:
    seed_scores(world)
    world.server.user(9002, "Lee", "en")
    user = await join_coordinator(world, 9002)
    await send(world, user, "/unit dianzi")
    text = "\n".join(world.texts(user)[-4:])
    assert "in Towns" in text and "Work items" in text and "excellent" in text


# --- who may -------------------------------------------------------------------------------


async def test_a_leader_may_see_standings_and_units(world: BotWorld) -> None:
    seed_scores(world)
    leader = await world.join(9100, Role.VIEWER, None, "区领导")
    await send(world, leader, "/standings 镇街")
    assert any("镇街排名" in t for t in world.texts(leader))
    await send(world, leader, "/unit 西集镇")
    assert "镇街第" in "\n".join(world.texts(leader)[-3:])


REPORT_COMMANDS = ("/standings", "/unit", "/export", "/publish", "/supervision_report")


async def test_liaisons_raters_and_strangers_are_refused_and_nothing_is_sent(
    world: BotWorld,
) -> None:
    seed_scores(world)
    liaison = await world.join(9201, Role.LIAISON, "dianzi", "张三")
    rater = await world.join(9202, Role.RATER, None, "评分人")
    stranger = world.server.user(9203)
    for user in (liaison, rater, stranger):
        for command in REPORT_COMMANDS:
            before = len(world.server.messages_to(user.id))
            await send(world, user, f"{command} 店子镇" if command == "/unit" else command)
            answers = world.server.messages_to(user.id)[before:]
            assert len(answers) == 1 and answers[0].kind == "text", (user.id, command)
            expected = "邀请链接" if user is stranger else "您的角色不能使用这个功能"
            assert expected in (answers[0].text or "")
    assert world.server.calls("sendDocument") == [] and world.server.calls("sendPhoto") == []


async def test_a_leader_may_not_publish(world: BotWorld) -> None:
    leader = await world.join(9100, Role.VIEWER, None, "区领导")
    await send(world, leader, "/publish")
    assert said("common.not_for_your_role") in world.texts(leader)[-1]


def test_a_block_too_long_for_one_message_is_cut_at_its_lines() -> None:
    block = "\n".join(f"第 {n} 行：" + "评价" * 100 for n in range(40))
    messages = split_messages(["<b>标题</b>", block, "尾"])
    assert len(messages) > 1 and all(utf16_length(m) <= 4096 for m in messages)
    assert "\n".join(messages) == "\n".join(["<b>标题</b>", block, "尾"])
    assert all(utf16_length(m) <= 4096 for m in split_messages(["字" * 10000]))
