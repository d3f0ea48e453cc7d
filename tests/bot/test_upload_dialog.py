"""Workbooks sent to the bot: checked, every bad row listed, summarised, confirmed, imported;
/templates."""

from __future__ import annotations

import io

import python_calamine
import xlsxwriter

from services.access import Role
from services.files.plan_file import default_plan_text
from services.files.task_reader import TASK_SHEET_NAMES
from services.plans import load_plan
from services.standings import year_inputs
from services.tasks import tasks_of_year
from services.unit_lookup import all_units
from services.year_data import list_bonus
from tests.bot.steps import join_coordinator, labels, send_file, tap
from tests.bot.workbooks import INDICATORS, TOWNS, XLSX, values_rows, values_workbook, workbook
from tests.bot.world import OPERATOR, BotWorld, value_years
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

COORDINATOR, RATER, LIAISON, VIEWER, STRANGER = 7001, 7002, 7003, 7004, 7999


# ---------------------------------------------------------------------------------------------
# Values


async def test_a_values_workbook_is_checked_summarised_and_imported_on_confirm(
    world: BotWorld,
) -> None:
    errors = record_errors(world.app)
    user = await join_coordinator(world, COORDINATOR)
    rows = values_rows()
    rows[3][5] = None  # one value missing
    await send_file(world, user, values_workbook(rows), "指标值.xlsx")
    texts = world.texts(user)
    assert said("coord.upload_checking", file="指标值.xlsx") in texts[-2]
    summary = texts[-1]
    assert "校验通过：2025 年度发展成效指标值" in summary
    assert "镇街：10 个（共 10 个）" in summary
    assert "数值：120 个，其中空缺 1 个" in summary
    assert "这是本年度第一版" in summary
    assert value_years(world) == []  # nothing stored before the confirmation
    assert [c.params["action"] for c in world.server.calls("sendChatAction")] == ["typing"]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "已导入 2025 年度指标值，为第 1 版：120 个数值（空缺 1 个）" in world.texts(user)[-1]
    values = year_inputs(world.uow(), 2025).values
    assert sorted(values.units) == sorted(TOWNS)
    assert values.matrix[values.units.index("dianzi"), 0] == 7.25
    assert errors == []


async def test_a_column_mixing_percentages_and_numbers_is_shown_before_the_confirmation(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("values")
    sheet.write_row(0, 0, ["unit", *INDICATORS])
    percent = book.add_format({"num_format": "0.0%"})
    for r, row in enumerate(values_rows(), start=1):
        sheet.write_row(r, 0, row)
    sheet.write_number(2, 1, 0.0725, percent)  # dianzi's gdp_growth, shown as 7.3 %
    book.close()
    await send_file(world, user, buffer.getvalue(), "指标值.xlsx")
    texts = world.texts(user)
    assert said("workbook.warnings_header", file="指标值.xlsx", count=1) in texts[-2]
    assert "B3" in texts[-2] and "百分比格式" in texts[-2] and "0.0725" in texts[-2]
    assert "校验通过：2025 年度发展成效指标值" in texts[-1]  # the confirmation comes after it
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "已导入 2025 年度指标值" in world.texts(user)[-1]


async def test_a_second_workbook_says_which_version_it_replaces(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    await tap(world, user, text_of("coord.upload_confirm_button"))
    rows = values_rows()
    rows[0][1] = 99.0
    await send_file(world, user, values_workbook(rows), "指标值（修正）.xlsx")
    assert "导入后将替换现行的第 1 版（2025-03-10 导入" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "为第 2 版" in world.texts(user)[-1]
    assert "与第 1 版相比有 1 个不同" in world.texts(user)[-1]
    assert value_years(world) == [(2025, 1), (2025, 2)]


async def test_every_bad_row_is_listed_and_nothing_is_stored(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = values_rows()
    rows[2][3] = "N/A"  # Excel row 4
    rows[6][7] = "约五"  # Excel row 8
    rows.append(["火星镇", *[1.0] * len(INDICATORS)])  # row 12: no such unit
    await send_file(world, user, values_workbook(rows), "指标值.xlsx")
    text = world.texts(user)[-1]
    assert said("coord.upload_problems", file="指标值.xlsx", count=3) in text
    assert "第 4 行" in text and "N/A" in text
    assert "第 8 行" in text and "约五" in text
    assert "第 12 行" in text and "火星镇" in text
    assert said("coord.upload_fix_and_resend") in text
    assert all("确认导入" not in label for label in labels(world, user))
    assert value_years(world) == []
    user.send_text("好了")  # the upload is over: no dialog takes text
    await world.step()
    assert said("common.no_dialog") in world.texts(user)[-1]


async def test_many_bad_rows_are_split_into_messages_under_telegram_limit(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = values_rows()
    for row in rows:
        for j in range(1, 7):
            row[j] = "缺"  # 60 bad cells
    await send_file(world, user, values_workbook(rows), "指标值.xlsx")
    messages = [m.source_text or "" for m in world.server.messages_to(user.id)]
    problems = [m for m in messages if "不是数字" in m or "有 60 处问题" in m]
    assert len(problems) >= 2
    assert all(len(m.encode("utf-16-le")) // 2 <= 4096 for m in messages)
    listed = sum(m.count("第 ") for m in problems)
    assert listed >= 60
    assert value_years(world) == []


async def test_thousands_of_bad_rows_also_come_as_a_text_file(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = [["火星镇", *[1.0] * len(INDICATORS)] for _ in range(400)]
    await send_file(world, user, values_workbook(rows), "指标值.xlsx")
    [document] = world.server.calls("sendDocument")
    listing = document.files["document"].data.decode("utf-8")
    assert len(listing.splitlines()) == 400
    assert text_of("coord.upload_problems_file", file="指标值") in (
        document.files["document"].filename or ""
    )
    assert len([m for m in world.server.messages_to(user.id) if m.kind == "text"]) <= 12
    assert value_years(world) == []


async def test_a_workbook_for_another_year_is_never_imported_silently(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(
        world, user, values_workbook(title="2024 年度考核数据模板：发展成效指标值"), "指标值.xlsx"
    )
    question = world.texts(user)[-1]
    assert "标题表明它是 2024 年度的数据，而当前考核年度是 2025 年" in question
    assert "2024 年度还没有导入考核方案" in question
    assert labels(world, user) == [
        text_of("coord.upload_year_button", year=2025),
        text_of("coord.upload_cancel_button"),
    ]
    await tap(world, user, text_of("coord.upload_cancel_button"))
    assert said("coord.upload_cancelled", file="指标值.xlsx") in world.texts(user)[-1]
    assert value_years(world) == []


async def test_a_workbook_for_a_year_with_a_plan_is_imported_into_the_year_chosen(
    world: BotWorld,
) -> None:
    load_plan(world.uow(), OPERATOR, default_plan_text(2024), "default 2024")
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, values_workbook(), "2024年指标值.xlsx")
    assert "文件名表明它是 2024 年度" in world.texts(user)[-1]
    assert labels(world, user) == [
        text_of("coord.upload_year_button", year=2024),
        text_of("coord.upload_year_button", year=2025),
        text_of("coord.upload_cancel_button"),
    ]
    await tap(world, user, text_of("coord.upload_year_button", year=2024))
    assert "校验通过：2024 年度发展成效指标值" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "已导入 2024 年度指标值" in world.texts(user)[-1]
    assert value_years(world) == [(2024, 1)]


async def test_a_file_that_is_not_a_workbook_is_refused_clearly(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, b"%PDF-1.7\n1 0 obj << >> endobj\n", "指标值.xlsx")
    assert said("workbook.not_a_workbook", file="指标值.xlsx", reason="signature") in " ".join(
        world.texts(user)[-2:]
    )
    user.send_document(b"PK\x03\x04\x14\x00broken zip", "指标值.xlsx", XLSX)
    await world.step()
    assert said("workbook.zip_damaged", file="指标值.xlsx", reason="no_directory") in " ".join(
        world.texts(user)[-2:]
    )
    user.send_photo(tiny_png())
    await world.step()
    assert said("coord.upload_photo_not_workbook") in world.texts(user)[-1]
    assert value_years(world) == []


async def test_a_workbook_without_a_known_sheet_names_the_sheets_expected(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, workbook("Sheet1", ["a"], [[1]]), "数据.xlsx")
    text = world.texts(user)[-1]
    assert "没有可导入的工作表" in text and "Sheet1" in text and "指标值" in text


async def test_cancel_stores_nothing_and_the_confirm_button_expires(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    summary = world.last(user)
    await tap(world, user, text_of("coord.upload_cancel_button"))
    assert said("coord.upload_cancelled", file="指标值.xlsx") in world.texts(user)[-1]
    user.tap(summary, summary.callback_data(text_of("coord.upload_confirm_button")), strict=False)
    await world.step()
    assert "已过期" in world.texts(user)[-1]
    assert value_years(world) == []


async def test_only_coordinators_can_import_a_workbook(world: BotWorld) -> None:
    rater = await world.join(RATER, Role.RATER, None, "区财政局")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    viewer = await world.join(VIEWER, Role.VIEWER, None, "李主任")
    stranger = world.server.user(STRANGER)
    for user in (rater, liaison, viewer, stranger):
        user.send_document(values_workbook(), "指标值.xlsx", XLSX)
    await world.step()
    for user in (rater, liaison, viewer):
        assert said("common.no_dialog") in world.texts(user)[-1]
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert value_years(world) == []
    assert world.server.calls("getFile") == []  # not even downloaded


# ---------------------------------------------------------------------------------------------
# The other kinds


async def test_a_units_workbook_adds_and_changes_units_after_confirmation(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = [
        ["dianzi", "店子镇", "镇街"],
        ["xiji", "西集镇", "镇街"],
        ["newtown", "新城街道", "镇街"],
    ]
    await send_file(world, user, workbook("单位", ["代码", "名称", "组别"], rows), "单位名单.xlsx")
    summary = world.texts(user)[-1]
    assert "校验通过：考核单位名单" in summary and "新增：1 个（新城街道）" in summary
    assert all(u.code != "newtown" for u in all_units(world.uow()))
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert (
        said("coord.upload_done_units", file="单位名单.xlsx", added=1, updated=0, unchanged=2)
        in world.texts(user)[-1]
    )
    assert any(u.code == "newtown" for u in all_units(world.uow()))


async def test_a_grades_workbook_is_imported(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = [
        ["dianzi", "重点工作", "Q1", "区统计局", "好"],
        ["xiji", "基础工作", "年度", "区统计局", "较好"],
    ]
    header = ["unit", "item", "period", "rater", "grade"]
    await send_file(world, user, workbook("等次", header, rows), "等次.xlsx")
    assert "评价记录：2 条，涉及 2 个单位" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "新增 2 条" in world.texts(user)[-1]
    assert len(year_inputs(world.uow(), 2025).grades) == 2


async def test_a_bonus_workbook_is_imported(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = [["dianzi", "省级试点", "文件", "是"], ["xiji", "市级表彰", "", "否"]]
    header = ["unit", "title", "evidence", "approved"]
    await send_file(world, user, workbook("加分项", header, rows), "加分项.xlsx")
    assert "加分项：2 项，涉及 2 个单位，其中已认定 1 项" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert sorted(b.status for b in list_bonus(world.uow(), 2025)) == ["approved", "pending"]


async def test_a_tasks_workbook_is_imported(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    rows = [["dianzi", "T1", "新建标准厂房", "", "5万平方米", "2025-06-30", "重点工作"]]
    header = ["unit", "code", "title", "source_document", "target", "due_date", "work_item"]
    await send_file(world, user, workbook(TASK_SHEET_NAMES[1], header, rows), "任务.xlsx")
    assert "任务：1 项，涉及 1 个单位" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "新增 1 项" in world.texts(user)[-1]
    assert [t.title for t in tasks_of_year(world.uow(), OPERATOR, 2025)] == ["新建标准厂房"]


async def test_an_events_workbook_is_explained_not_imported(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    events = workbook("events", ["unit", "event", "count"], [["dianzi", "迟报", 1]])
    await send_file(world, user, events, "指标值.xlsx")
    assert said("coord.upload_events_not_imported", file="指标值.xlsx") in world.texts(user)[-1]


async def test_a_workbook_with_several_kinds_asks_which_to_import(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    units = (["code", "name", "group"], [["newtown", "新城街道", "镇街"]])
    await send_file(world, user, values_workbook(extra={"units": units}), "全部.xlsx")
    assert labels(world, user) == [
        text_of("coord.upload_kind", kind="values"),
        text_of("coord.upload_kind", kind="units"),
        text_of("coord.upload_cancel_button"),
    ]
    await tap(world, user, text_of("coord.upload_kind", kind="units"))
    assert "校验通过：考核单位名单" in world.texts(user)[-1]


# ---------------------------------------------------------------------------------------------
# Templates


async def test_templates_are_sent_as_workbooks_that_can_be_sent_back(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/templates")
    await world.step()
    assert labels(world, user) == [
        "单位名单",
        text_of("coord.templates_kind", kind="values"),
        text_of("coord.templates_kind", kind="grades"),
        "加分项",
        text_of("coord.templates_kind", kind="events"),
        text_of("coord.templates_kind", kind="tasks"),
    ]
    await tap(world, user, text_of("coord.templates_kind", kind="values"))
    [call] = world.server.calls("sendDocument")
    upload = call.files["document"]
    assert upload.filename == text_of("coord.templates_file_name", kind="values", year=2025)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(upload.data))
    assert book.sheet_names[:2] == ["values", text_of("workbook.instructions_sheet")]
    header = book.get_sheet_by_name("values").to_python()[0]
    assert header == ["unit", *INDICATORS]
    # The template comes back (here unfilled): it is read as the current year's, no question.
    await send_file(world, user, upload.data, upload.filename)
    assert "校验通过：2025 年度发展成效指标值" in world.texts(user)[-1]


async def test_every_template_kind_is_sent(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    for label in ("单位名单", "等次评价", "加分项", "扣分事件", "目标任务"):
        user.send_command("/templates")
        await world.step()
        await tap(world, user, label)
    names = [c.files["document"].filename for c in world.server.calls("sendDocument")]
    assert names == [
        text_of("coord.templates_file_name", kind="units", year=2025),
        text_of("coord.templates_file_name", kind="grades", year=2025),
        text_of("coord.templates_file_name", kind="bonus", year=2025),
        text_of("coord.templates_file_name", kind="events", year=2025),
        text_of("coord.templates_file_name", kind="tasks", year=2025),
    ]
    assert world.server.calls("sendChatAction")[0].params["action"] == "upload_document"


async def test_a_workbook_sent_in_the_middle_of_grading_is_checked_as_an_upload(
    world: BotWorld,
) -> None:
    user = await join_coordinator(world, COORDINATOR)
    user.send_command("/grade")
    await world.step()
    await tap(world, user, text_of("coord.grade_period", period="Q1"))
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    assert "校验通过：2025 年度发展成效指标值" in world.texts(user)[-1]
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert value_years(world) == [(2025, 1)]


async def test_a_double_tap_on_confirm_imports_once(world: BotWorld) -> None:
    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    summary = world.last(user)
    confirm = summary.callback_data(text_of("coord.upload_confirm_button"))
    user.tap(summary, confirm)
    user.tap(summary, confirm, strict=False)
    await world.step()
    assert value_years(world) == [(2025, 1)]
    assert "已过期" in world.texts(user)[-1]


async def test_an_import_the_service_refuses_says_why_and_that_nothing_was_stored(
    world: BotWorld,
) -> None:
    from services.dialogs import dialog_of_kind, save_dialog
    from services.people import person_session

    user = await join_coordinator(world, COORDINATOR)
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    # The summary waited while its year lost its plan (a draft now for a year without one).
    session = person_session(world.uow(), COORDINATOR)
    assert session is not None and session.actor.person_id is not None
    person_id = session.actor.person_id
    draft = dialog_of_kind(world.uow(), person_id, "upload")
    assert draft is not None and draft.step == "confirm"
    save_dialog(world.uow(), person_id, "upload", "confirm", {**draft.data, "year": 2031})
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert world.texts(user)[-2:] == [
        said("errors.no_plan", year=2031),
        said("coord.upload_nothing_stored"),
    ]
    assert value_years(world) == []
    assert dialog_of_kind(world.uow(), person_id, "upload") is None
