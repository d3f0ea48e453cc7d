"""/supervision_plan and /finding with the supervision plan: the template, loading a filled-in
workbook (and a bad one, which stores nothing), adding an activity step by step, and a finding
that names the activity it came from."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl

from services.supervision_plan import year_activities
from storage.statuses import SupervisionKind
from templates import render
from tests.bot.steps import choose, documents, join_coordinator, new_texts, send
from tests.bot.world import BotWorld

YEAR = 2025
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_template_then_load_the_filled_in_workbook(world: BotWorld) -> None:
    boss = await join_coordinator(world)
    answers = await send(world, boss, "/supervision_plan")
    assert (
        render("supervision.header", "zh", year=YEAR, planned=0, done=0)
        .replace("<b>", "")
        .replace("</b>", "")
        in answers[0]
    )
    await choose(world, boss, "supervision.template_button")
    [template] = documents(world, boss)
    assert template.raw["document"]["file_name"] == render(
        "supervision.template_file", "zh", year=YEAR
    )
    book = openpyxl.load_workbook(
        io.BytesIO(world.server.file(template.raw["document"]["file_id"]).data)
    )
    ws = book["activities"]
    ws.append([date(YEAR, 4, 8), "实地检查", "项目建设进度", "店子镇"])
    ws.append([date(YEAR, 7, 10), "会议调度", "半年调度", ""])
    bad = io.BytesIO()
    book.save(bad)
    filled = bad.getvalue()

    await choose(world, boss, "supervision.load_button")
    ws.append(["明天", "开会", "", ""])
    wrong = io.BytesIO()
    book.save(wrong)
    before = len(world.server.messages_to(boss.id))
    boss.send_document(wrong.getvalue(), "督导计划.xlsx", XLSX)
    await world.step()
    text = "\n".join(new_texts(world, boss, before))
    # Row 4: a date that is none, a kind that is none, no focus.
    header = render("coord.upload_problems", "zh", file="督导计划.xlsx", count=3)
    assert re.sub("</?b>", "", header) in text
    assert year_activities(world.uow(), YEAR) == []

    before = len(world.server.messages_to(boss.id))
    boss.send_document(filled, "督导计划.xlsx", XLSX)
    await world.step()
    assert render(
        "supervision.loaded", "zh", file="督导计划.xlsx", year=YEAR, added=2, unchanged=0
    ) in new_texts(world, boss, before)
    assert [a.focus for a in year_activities(world.uow(), YEAR)] == ["项目建设进度", "半年调度"]


async def test_add_an_activity_then_a_finding_names_it(world: BotWorld) -> None:
    boss = await join_coordinator(world)
    await send(world, boss, "/supervision_plan")
    await choose(world, boss, "supervision.add_button")
    boss.send_text("2025-03-08")
    await world.step()
    await choose(world, boss, "supervision.kind_on_site_inspection")
    boss.send_text("项目建设进度")
    await world.step()
    boss.send_text("店子镇")
    await world.step()
    [activity] = year_activities(world.uow(), YEAR)
    assert (activity.planned_on, activity.kind, activity.units) == (
        date(YEAR, 3, 8),
        SupervisionKind.ON_SITE_INSPECTION,
        (("dianzi", "店子镇"),),
    )
    assert any(t.startswith(render("supervision.added", "zh")) for t in world.texts(boss))

    await send(world, boss, "/finding")
    boss.send_text("店子镇")
    await world.step()
    asked = await choose(world, boss, "year.source_on_site_inspection")
    assert asked.text == render("coord.finding_ask_activity", "zh")
    await choose(
        world, boss, "coord.finding_activity_button", day="2025-03-08", focus="项目建设进度"
    )
    boss.send_text("台账不全")
    await world.step()
    await choose(world, boss, "coord.finding_no_files_button")
    await choose(world, boss, "coord.finding_deadline_button", days=7, day="2025-03-17")
    await choose(world, boss, "coord.finding_record_button")
    [activity] = year_activities(world.uow(), YEAR)
    assert activity.done_on == date(YEAR, 3, 10)
    assert [f.description for f in activity.findings] == ["台账不全"]


async def test_a_finding_of_another_kind_is_not_asked_about_the_plan(world: BotWorld) -> None:
    boss = await join_coordinator(world)
    await send(world, boss, "/supervision_plan")
    await choose(world, boss, "supervision.add_button")
    boss.send_text("2025-03-08")
    await world.step()
    await choose(world, boss, "supervision.kind_on_site_inspection")
    boss.send_text("检查")
    await world.step()
    await choose(world, boss, "supervision.all_units_button")
    await send(world, boss, "/finding")
    boss.send_text("西集镇")
    await world.step()
    asked = await choose(world, boss, "year.source_visit")
    assert asked.text is not None and asked.text.startswith(
        render("coord.finding_ask_description", "zh", max=2000)[:8]
    )
