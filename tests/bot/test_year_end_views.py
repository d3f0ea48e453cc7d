"""/unit and the unit assessment report say how the year-end coefficient was made (panel, peers,
rectification) and show the rectification evaluation: counts, ratio, the coefficient it gave."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import yaml

from bot.fake_bot_api import FakeUser
from scoring import Grade, GradeRecord
from services.access import Actor, Role
from services.findings import accept_rectification, record_finding, submit_rectification
from services.peer import cast_vote, open_round
from services.plans import load_plan
from services.publications import publish_standings
from services.unit_report import write_unit_report, write_year_report
from services.year_data import import_grades
from storage.repositories.year_data import YearUnits
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.factories import plan_data
from tests.services.district import approve_year
from tests.texts import said, text_of

COORDINATOR = 8001
YEAR = 2025


def weigh_all_three(world: BotWorld) -> None:
    """The 2025 plan weighing the panel 0.6, the peers 0.3 and rectification 0.1."""
    data = plan_data(YEAR)
    data["work"]["year_end"] = {"sources": {"panel": 0.6, "peer": 0.3, "rectification": 0.1}}
    load_plan(world.uow(), OPERATOR, yaml.safe_dump(data, allow_unicode=True), "plan.yaml")


def ids(world: BotWorld) -> dict[str, int]:
    """The units' ids by code."""
    with world.uow() as u:
        return {r.code: r.id for r in u.repository(YearUnits).rows()}


def liaison(unit_id: int, name: str) -> Actor:
    """A liaison of a unit (no account needed by the services)."""
    return Actor(person_id=None, role=Role.LIAISON, unit_id=unit_id, name=name)


def seed(world: BotWorld) -> None:
    """店子镇: panel 好 on key work; peers 西集镇 较好 and 桑村镇 一般; two findings due on
    5 March, one rectified on time and accepted, one not: 1 of 2 = 50 % -> 差 0.4."""
    weigh_all_three(world)
    unit = ids(world)
    import_grades(
        world.uow(),
        OPERATOR,
        YEAR,
        [GradeRecord("dianzi", "key_work", "year", "区统计局", Grade.EXCELLENT)],
        "grades.xlsx",
    )
    coordinator = Actor.operator()
    world.clock.set(datetime(2025, 3, 2, 10, tzinfo=SHANGHAI))
    findings = [
        record_finding(
            world.uow(),
            coordinator,
            unit["dianzi"],
            text,
            "visit",
            date(2025, 3, 1),
            date(2025, 3, 5),
        ).id
        for text in ("台账不全", "公示未更新")
    ]
    receipt = submit_rectification(
        world.uow(), liaison(unit["dianzi"], "王芳"), findings[0], "已补"
    )
    accept_rectification(world.uow(), coordinator, receipt.rectification_id)
    world.clock.set(datetime(2025, 3, 10, 10, tzinfo=SHANGHAI))
    open_round(world.uow(), coordinator, YEAR, "town")
    for rater, grade in (("xiji", Grade.GOOD), ("sangcun", Grade.FAIR)):
        cast_vote(
            world.uow(), liaison(unit[rater], rater), YEAR, unit["dianzi"], "key_work", grade
        )


async def unit_text(world: BotWorld, user: FakeUser) -> str:
    """What /unit 店子镇 answers."""
    before = len(world.texts(user))
    user.send_command("/unit", "店子镇")
    await world.step()
    return "\n".join(world.texts(user)[before:])


async def test_unit_says_how_the_year_end_coefficient_was_made(world: BotWorld) -> None:
    seed(world)
    user = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    text = await unit_text(world, user)
    # key_work: (0.6 x 1.0 + 0.3 x 0.7 + 0.1 x 0.4) / 1.0 = 0.85
    assert said("coord.unit_year_end_header") in text
    assert (
        "重点工作：年终系数 0.85 = 考核小组 1.00 × 0.60；互评 0.70 × 0.30；整改结果 0.40 × 0.10"
        in text
    )
    assert "互评：2 个单位评价" in text
    assert "西集镇" not in text.split("年终系数的来源")[1]  # who voted is never shown
    # basic_work: no panel grade, no peers: rectification alone.
    assert "基础工作：年终系数 0.40 = 考核小组 无数据 × 0.60；整改结果 0.40 × 0.10" in text
    assert "已到期限的督导问题 2 个，其中按期（含批准延期后的期限）整改并通过 1 个" in text
    assert "整改率 50.0%，等次 差（系数 0.40）" in text
    assert "按权重 0.10 计入年终系数" in text


async def test_with_the_default_plan_unit_is_as_before(world: BotWorld) -> None:
    user = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    text = await unit_text(world, user)
    assert "年终系数的来源" not in text and "整改结果评价" not in text


def test_the_unit_report_lists_the_sources_and_the_rectification_evaluation(
    world: BotWorld, tmp_path: Path
) -> None:
    seed(world)
    path = tmp_path / "unit.xlsx"
    write_unit_report(world.uow(), YEAR, "店子镇", path, "zh")
    ws = openpyxl.load_workbook(path)["工作情况"]
    rows = [[c for c in row if c is not None] for row in ws.iter_rows(values_only=True)]
    flat = [row for row in rows if row]
    start = next(i for i, row in enumerate(flat) if row == ["年终系数的来源"])
    sources = flat[start + 2 : start + 7]
    assert sources[0][:4] == ["重点工作", text_of("year.source_panel"), 0.6, 1.0]
    assert sources[1][:4] == ["重点工作", text_of("year.source_peer"), 0.3, 0.7]
    assert sources[1][4] == text_of("year.ur_source_votes", votes=2, trimmed=False)
    assert sources[2][:4] == ["重点工作", "整改结果评价", 0.1, 0.4]
    assert sources[3][1:] == [text_of("year.source_panel"), 0.6, text_of("year.ur_source_no_data")]
    rect = flat[flat.index(["整改结果评价"]) + 2]
    assert rect == [2, 1, 0.5, "差", 0.4, text_of("year.ur_rectification_counted", weight=0.1)]


async def test_myscore_explains_the_sources_to_the_unit_without_naming_who_voted(
    world: BotWorld,
) -> None:
    seed(world)
    approve_year(world.uow, Actor.operator())
    publish_standings(world.uow(), Actor.operator(), YEAR)
    user = await world.join(8002, Role.LIAISON, "dianzi", "王芳")
    user.send_command("/myscore")
    await world.step()
    message = world.last(user)
    user.tap(message, message.callback_data(text_of("myscore.item_button", name="重点工作")))
    await world.step()
    shown = world.last(user).text or ""
    assert (
        "年终系数 = 考核小组 1.0000 × 0.60 + 互评 0.7000 × 0.30 + 整改结果 0.4000 × 0.10" in shown
    )
    assert "互评：2 个同组单位评价" in shown
    assert "到期问题 2 个，按期整改并通过 1 个，整改率 50.0%，等次 差（系数 0.40）" in shown
    assert "西集镇" not in shown and "桑村镇" not in shown


def test_the_report_workbook_names_the_year_end_flags(world: BotWorld, tmp_path: Path) -> None:
    seed(world)
    path = tmp_path / "year.xlsx"
    write_year_report(world.uow(), YEAR, path)
    book = openpyxl.load_workbook(path, read_only=True)
    cells = [
        str(value)
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    book.close()
    # 西集镇 got no vote and had no finding due; 店子镇 got both.
    assert any(
        text_of("report.flag_no_peer") in c and text_of("report.flag_no_findings") in c
        for c in cells
    )
