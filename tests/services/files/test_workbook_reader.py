"""Reading data workbooks: good files give the engine's inputs, bad ones every problem at once."""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import python_calamine
import xlsxwriter

from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    Grade,
    GradeRecord,
    Group,
    InputError,
    InputProblem,
    Unit,
)
from services.files import reader
from services.files.reader import (
    ENGINE_CODES,
    PROBLEM_CODES,
    format_problem,
    read_bonus,
    read_events,
    read_grades,
    read_units,
    read_values,
)
from templates import LANGUAGES, has_message, render
from tests.fixtures_workbooks import (
    UNITS,
    default_plan,
    units_rows,
    write_sheet,
    write_workbook,
)

PLAN = default_plan()
CODES = [ind.code for ind in PLAN.development.indicators]
GRADE_HEADER = ["unit", "item", "period", "rater", "grade"]
BONUS_HEADER = ["unit", "title", "evidence", "approved"]
EVENT_HEADER = ["unit", "event", "count"]


def problems_of(read: Any, *args: Any) -> tuple[InputProblem, ...]:
    """The problems a reader raises; fails the test when it raises none."""
    with pytest.raises(InputError) as caught:
        read(*args)
    return caught.value.problems


def only(problems: tuple[InputProblem, ...], code: str) -> InputProblem:
    """The one problem of `code`, checking that it renders with its row and a fix."""
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    problem = found[0]
    zh = format_problem(problem, "zh")
    en = format_problem(problem, "en")
    if problem.row is not None:
        assert f"第 {problem.row} 行" in zh
        assert f"row {problem.row}" in en
    assert "请" in zh  # every Chinese message says what to do
    return problem


def values_rows(*rows: list[Any], header: list[Any] | None = None) -> list[list[Any]]:
    return [header or ["unit", *CODES], *rows]


def full_row(unit: str | None, value: Any = 5.0) -> list[Any]:
    return [unit, *([value] * len(CODES))]


# ---------------------------------------------------------------------------------------------
# Files and sheets


def test_a_missing_file_is_reported_as_missing(tmp_path: Path) -> None:
    problem = only(problems_of(read_units, tmp_path / "nope.xlsx"), "file_missing")
    assert problem.source == str(tmp_path / "nope.xlsx")
    assert problem.sheet == ""


def test_the_source_name_can_be_given_for_files_saved_under_another_name(tmp_path: Path) -> None:
    problems = problems_of(lambda: read_units(tmp_path / "x.xlsx", source="单位.xlsx"))
    assert problems[0].source == "单位.xlsx"
    assert format_problem(problems[0]).startswith("文件 单位.xlsx")


def test_a_pdf_renamed_xlsx_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    problem = only(problems_of(read_units, path), "not_a_workbook")
    assert "另存为 .xlsx" in format_problem(problem)


def test_a_zip_that_is_not_a_workbook_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    only(problems_of(read_units, path), "not_a_workbook")


def test_a_folder_is_an_unreadable_file(tmp_path: Path) -> None:
    only(problems_of(read_units, tmp_path), "file_unreadable")


def test_a_password_protected_workbook_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "units", units_rows())

    def locked(handle: Any) -> Any:
        raise python_calamine.PasswordError("password")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", locked)
    # In this process: the public reader parses in a child process, which a patch cannot reach.
    only(problems_of(reader._read_units, path), "workbook_encrypted")


def test_a_workbook_without_any_content_is_empty(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", {"Sheet1": []})
    problem = only(problems_of(read_units, path), "workbook_empty")
    assert problem.row is None


def test_a_missing_sheet_names_the_sheets_that_exist(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", {"Sheet1": units_rows(), "说明": [["x"]]})
    problem = only(problems_of(read_units, path), "sheet_missing")
    assert problem.params["sheets"] == ["Sheet1", "说明"]
    assert "Sheet1、说明" in format_problem(problem)
    assert "改名为“units”" in format_problem(problem)


def test_chinese_sheet_names_are_accepted_and_other_sheets_ignored(tmp_path: Path) -> None:
    sheets = {"说明": [["填写说明"]], "单位": units_rows(), "lists": [["a"]]}
    assert read_units(write_workbook(tmp_path / "x.xlsx", sheets)) == list(UNITS)


def test_sheet_names_match_regardless_of_case_and_spaces(tmp_path: Path) -> None:
    assert read_units(write_sheet(tmp_path / "x.xlsx", " Units ", units_rows())) == list(UNITS)


def test_two_sheets_that_could_both_be_the_data_are_ambiguous(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", {"units": units_rows(), "单位": units_rows()})
    problem = only(problems_of(read_units, path), "sheet_ambiguous")
    assert problem.sheet == "units"


def test_an_empty_data_sheet_is_reported(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "x.xlsx", {"units": [], "说明": [["x"]]})
    problem = only(problems_of(read_units, path), "sheet_empty")
    assert problem.sheet == "units"


@pytest.mark.parametrize(
    ("sheet", "header", "read"),
    [
        ("units", ["code", "name", "group"], lambda p: read_units(p)),
        ("values", ["unit", *CODES], lambda p: read_values(p, PLAN, UNITS)),
        ("grades", GRADE_HEADER, lambda p: read_grades(p, PLAN, UNITS)),
    ],
)
def test_a_file_with_only_a_header_is_empty(
    tmp_path: Path, sheet: str, header: list[str], read: Any
) -> None:
    path = write_sheet(tmp_path / "x.xlsx", sheet, [header])
    problem = only(problems_of(read, path), "no_data_rows")
    assert problem.sheet == sheet


def test_bonus_and_events_files_may_have_no_rows(tmp_path: Path) -> None:
    assert read_bonus(write_sheet(tmp_path / "b.xlsx", "bonus", [BONUS_HEADER]), UNITS) == []
    assert read_events(write_sheet(tmp_path / "e.xlsx", "events", [EVENT_HEADER]), UNITS) == []


def test_a_real_xlsx_saved_under_an_xls_name_still_reads(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "x.xls", "units", units_rows())
    assert read_units(path) == list(UNITS)


# ---------------------------------------------------------------------------------------------
# Headers


def test_a_missing_column_names_the_header_row_found(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "units", [["code", "名字"], ["a", "甲"]])
    problems = problems_of(read_units, path)
    assert [p.code for p in problems] == ["missing_column", "missing_column"]
    problem = problems[0]
    assert (problem.sheet, problem.row, problem.column) == ("units", 1, "")
    assert problem.params["column"] == "name"
    assert problem.params["found"] == ["code", "名字"]
    assert "表头行实际是：code、名字" in format_problem(problem)
    assert "The header row found is: code, 名字" in format_problem(problem, "en")


def test_duplicate_column_headers_are_reported(tmp_path: Path) -> None:
    rows = [["code", "name", "group", "单位代码"], ["a", "甲", "town", "a"]]
    problem = only(
        problems_of(read_units, write_sheet(tmp_path / "x.xlsx", "units", rows)),
        "duplicate_column",
    )
    assert (problem.row, problem.column) == (1, "D (单位代码)")
    assert problem.params["first"] == "A"


def test_an_indicator_headed_by_both_its_code_and_name_is_a_duplicate_column(
    tmp_path: Path,
) -> None:
    rows = values_rows(["dianzi", 1.0, 2.0], header=["unit", "gdp_growth", "地区生产总值增速"])
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "duplicate_column")
    assert problem.column == "C (地区生产总值增速)"


def test_an_unknown_column_in_values_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    rows = values_rows(["dianzi", 1.0, 2.0], header=["unit", "gdp_growht", "gdp_growth"])
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "unknown_column")
    assert (problem.row, problem.column) == (1, "B (gdp_growht)")
    assert problem.params["suggestions"] == ["gdp_growth"]
    assert "是否应为：gdp_growth" in format_problem(problem)


def test_a_column_with_data_but_no_header_in_values_is_reported(tmp_path: Path) -> None:
    rows = values_rows(["dianzi", 1.0, 2.0], header=["unit", "gdp_growth", None])
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "column_without_header")
    assert (problem.row, problem.column) == (1, "C")


def test_values_without_any_indicator_column_are_refused(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "values", [["unit"], ["dianzi"]])
    problem = only(problems_of(read_values, path, PLAN, UNITS), "no_indicator_columns")
    assert problem.row == 1


def test_headers_match_case_insensitively_and_in_chinese(tmp_path: Path) -> None:
    rows = [[" 单位代码", "NAME", "组别"], *(r for r in units_rows()[1:])]
    assert read_units(write_sheet(tmp_path / "x.xlsx", "units", rows)) == list(UNITS)


def test_indicator_columns_may_be_headed_by_name_and_come_back_in_plan_order(
    tmp_path: Path,
) -> None:
    rows = [["单位", "PM2.5平均浓度", "GDP_Growth"], ["店子镇", 40.0, 7.5]]
    values = read_values(write_sheet(tmp_path / "x.xlsx", "指标值", rows), PLAN, UNITS)
    assert values.units == ("dianzi",)
    assert values.indicators == ("gdp_growth", "pm25")
    assert values.matrix.tolist() == [[7.5, 40.0]]


def test_unknown_columns_outside_values_are_ignored_as_notes(tmp_path: Path) -> None:
    rows = [["code", "name", "group", "备注"], ["dianzi", "店子镇", "镇街", "注意"]]
    units = read_units(write_sheet(tmp_path / "x.xlsx", "units", rows))
    assert units == [Unit("dianzi", "店子镇", Group.TOWN)]


# ---------------------------------------------------------------------------------------------
# Cells


def test_an_unknown_unit_is_reported_with_suggestions(tmp_path: Path) -> None:
    rows = values_rows(full_row("dianzi"), full_row("店子"))
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "unknown_unit")
    assert (problem.sheet, problem.row, problem.column) == ("values", 3, "A (unit)")
    assert problem.params["suggestions"] == ["店子镇"]


def test_units_are_matched_by_code_or_name_in_every_file(tmp_path: Path) -> None:
    rows = [BONUS_HEADER, ["店子镇", "甲", "", "是"], ["XIJI", "乙", "", "否"]]
    items = read_bonus(write_sheet(tmp_path / "x.xlsx", "bonus", rows), UNITS)
    assert [i.unit for i in items] == ["dianzi", "xiji"]


def test_an_unknown_work_item_is_reported(tmp_path: Path) -> None:
    rows = [GRADE_HEADER, ["dianzi", "特色工作", "Q1", "张三", "好"]]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "unknown_item")
    assert (problem.row, problem.column) == (2, "B (item)")
    assert "重点工作" in format_problem(problem)


def test_an_unknown_period_is_reported(tmp_path: Path) -> None:
    rows = [GRADE_HEADER, ["dianzi", "key_work", "Q5", "张三", "好"]]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "unknown_period")
    assert (problem.row, problem.column) == (2, "C (period)")


def test_an_unknown_grade_is_reported(tmp_path: Path) -> None:
    rows = [GRADE_HEADER, ["dianzi", "key_work", "Q1", "张三", "优"]]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "unknown_grade")
    assert (problem.row, problem.column) == (2, "E (grade)")
    assert "好、较好、一般、差" in format_problem(problem)


def test_chinese_and_english_words_for_periods_and_grades_are_accepted(tmp_path: Path) -> None:
    rows = [
        ["单位", "工作项", "期间", "评价人", "等次"],
        ["dianzi", "重点工作", "一季度", "张三", "好"],
        ["dianzi", "key_work", "q2", "张三", "Good"],
        ["dianzi", "基础工作", "年度", "张三", "一般"],
        ["dianzi", "basic_work", "全年", "李四", "poor"],
    ]
    records = read_grades(write_sheet(tmp_path / "x.xlsx", "等次", rows), PLAN, UNITS)
    assert records == [
        GradeRecord("dianzi", "key_work", "Q1", "张三", Grade.EXCELLENT),
        GradeRecord("dianzi", "key_work", "Q2", "张三", Grade.GOOD),
        GradeRecord("dianzi", "basic_work", "year", "张三", Grade.FAIR),
        GradeRecord("dianzi", "basic_work", "year", "李四", Grade.POOR),
    ]


def test_an_unknown_group_is_reported(tmp_path: Path) -> None:
    rows = [["code", "name", "group"], ["dianzi", "店子镇", "乡"]]
    problem = only(
        problems_of(read_units, write_sheet(tmp_path / "x.xlsx", "units", rows)), "unknown_group"
    )
    assert (problem.row, problem.column) == (2, "C (group)")
    assert "镇街/town 或 部门/dept" in format_problem(problem)


def test_a_bad_yes_no_is_reported(tmp_path: Path) -> None:
    rows = [BONUS_HEADER, ["dianzi", "甲", "", "待定"]]
    path = write_sheet(tmp_path / "x.xlsx", "bonus", rows)
    problem = only(problems_of(read_bonus, path, UNITS), "bad_yes_no")
    assert (problem.row, problem.column) == (2, "D (approved)")


@pytest.mark.parametrize(
    ("cell", "approved"),
    [("是", True), ("否", False), ("YES", True), ("n", False), (True, True), (0, False)],
)
def test_yes_and_no_may_be_written_many_ways(tmp_path: Path, cell: Any, approved: bool) -> None:
    rows = [BONUS_HEADER, ["dianzi", "甲", "文号", cell]]
    items = read_bonus(write_sheet(tmp_path / "x.xlsx", "bonus", rows), UNITS)
    assert items == [BonusItem("dianzi", "甲", approved, "文号")]


def test_an_unknown_event_kind_is_reported(tmp_path: Path) -> None:
    rows = [EVENT_HEADER, ["dianzi", "迟到", 1]]
    path = write_sheet(tmp_path / "x.xlsx", "events", rows)
    problem = only(problems_of(read_events, path, UNITS), "unknown_event")
    assert (problem.row, problem.column) == (2, "B (event)")


@pytest.mark.parametrize("count", [-1, 1.5, "两次", True])
def test_a_count_that_is_not_a_whole_number_is_reported(tmp_path: Path, count: Any) -> None:
    rows = [EVENT_HEADER, ["dianzi", "report_late", count]]
    path = write_sheet(tmp_path / "x.xlsx", "events", rows)
    problem = only(problems_of(read_events, path, UNITS), "bad_count")
    assert (problem.row, problem.column) == (2, "C (count)")


@pytest.mark.parametrize("text", ["N/A", "—", "无", "7.5.1", "nan", "inf"])
def test_text_in_a_number_cell_is_reported(tmp_path: Path, text: str) -> None:
    row = full_row("dianzi")
    row[2] = text
    path = write_sheet(tmp_path / "x.xlsx", "values", values_rows(row))
    problem = only(problems_of(read_values, path, PLAN, UNITS), "not_a_number")
    assert (problem.sheet, problem.row, problem.column) == (
        "values",
        2,
        "C (general_budget_revenue)",
    )
    assert problem.params["got"] == text
    assert "没有数据就留空" in format_problem(problem)


@pytest.mark.parametrize("cell", [True, dt.datetime(2025, 1, 2)])
def test_a_boolean_or_a_date_in_a_number_cell_is_not_a_number(tmp_path: Path, cell: Any) -> None:
    row = full_row("dianzi")
    row[1] = cell
    path = write_sheet(tmp_path / "x.xlsx", "values", values_rows(row))
    only(problems_of(read_values, path, PLAN, UNITS), "not_a_number")


@pytest.mark.parametrize(
    ("text", "number"),
    [("7.5", 7.5), (" -3 ", -3.0), ("7.5%", 7.5), ("1,234.5", 1234.5), ("７.５", 7.5)],
)
def test_numeric_text_is_read_as_a_number(tmp_path: Path, text: str, number: float) -> None:
    row = full_row("dianzi")
    row[1] = text
    values = read_values(write_sheet(tmp_path / "x.xlsx", "values", values_rows(row)), PLAN, UNITS)
    assert values.matrix[0, 0] == number


def test_an_empty_value_cell_is_a_missing_value(tmp_path: Path) -> None:
    row = full_row("dianzi")
    row[1] = None
    row[2] = "  "
    values = read_values(write_sheet(tmp_path / "x.xlsx", "values", values_rows(row)), PLAN, UNITS)
    assert math.isnan(values.matrix[0, 0])
    assert math.isnan(values.matrix[0, 1])
    assert values.matrix[0, 2] == 5.0


def test_a_formula_error_is_reported_rather_than_read_as_a_missing_value(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("values")
    sheet.write_row(0, 0, ["unit", *CODES])
    sheet.write_row(1, 0, full_row("dianzi"))
    sheet.write_formula(1, 3, "=VLOOKUP(1,Z1:Z2,1,FALSE)", None, "#N/A")
    book.close()
    problem = only(problems_of(read_values, path, PLAN, UNITS), "formula_error")
    assert (problem.row, problem.column) == (2, "D (industrial_value_added)")
    assert problem.params["got"] == "#N/A"


def test_a_formula_error_in_a_text_column_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("units")
    sheet.write_row(0, 0, ["code", "name", "group"])
    sheet.write_row(1, 0, ["dianzi", "店子镇", "town"])
    sheet.write_formula(2, 0, "=1/0", None, "#DIV/0!")
    book.close()
    problems = problems_of(read_units, path)
    problem = only(problems, "formula_error")
    assert (problem.row, problem.column) == (3, "A (code)")


def test_an_empty_unit_cell_in_values_is_reported(tmp_path: Path) -> None:
    path = write_sheet(tmp_path / "x.xlsx", "values", values_rows(full_row(None)))
    problem = only(problems_of(read_values, path, PLAN, UNITS), "empty_cell")
    assert (problem.row, problem.column) == (2, "A (unit)")
    assert "单位不能为空" in format_problem(problem)


def test_an_empty_rater_is_reported(tmp_path: Path) -> None:
    rows = [GRADE_HEADER, ["dianzi", "key_work", "Q1", " ", "好"]]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "empty_cell")
    assert (problem.row, problem.column) == (2, "D (rater)")
    assert problem.params["field"] == "rater"
    assert "评价人不能为空" in format_problem(problem)


# ---------------------------------------------------------------------------------------------
# Duplicates and groups


def test_duplicate_unit_codes_are_reported(tmp_path: Path) -> None:
    rows = [*units_rows(), ["Dianzi", "店子", "town"]]
    problem = only(
        problems_of(read_units, write_sheet(tmp_path / "x.xlsx", "units", rows)),
        "duplicate_unit_code",
    )
    assert (problem.row, problem.column) == (6, "A (code)")
    assert problem.params["first_row"] == 2


def test_duplicate_unit_names_are_reported(tmp_path: Path) -> None:
    rows = [*units_rows(), ["dianzi2", "店子镇", "town"]]
    problem = only(
        problems_of(read_units, write_sheet(tmp_path / "x.xlsx", "units", rows)),
        "duplicate_unit_name",
    )
    assert (problem.row, problem.column) == (6, "B (name)")


def test_a_unit_twice_in_values_is_reported(tmp_path: Path) -> None:
    rows = values_rows(full_row("dianzi"), full_row("xiji"), full_row("店子镇"))
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "duplicate_unit")
    assert (problem.row, problem.column) == (4, "A (unit)")
    assert "第 2 行已有" in format_problem(problem)


def test_a_grade_given_twice_is_reported(tmp_path: Path) -> None:
    rows = [
        GRADE_HEADER,
        ["dianzi", "key_work", "Q1", "张三", "好"],
        ["店子镇", "重点工作", "一季度", "张三 ", "差"],
    ]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "duplicate_grade")
    assert (problem.row, problem.column) == (3, "D (rater)")
    assert problem.params["first_row"] == 2


def test_a_bonus_item_claimed_twice_is_reported(tmp_path: Path) -> None:
    rows = [BONUS_HEADER, ["dianzi", "省级试点", "", "是"], ["dianzi", "省级试点", "", "是"]]
    path = write_sheet(tmp_path / "x.xlsx", "bonus", rows)
    problem = only(problems_of(read_bonus, path, UNITS), "duplicate_bonus")
    assert (problem.row, problem.column) == (3, "B (title)")


def test_an_event_listed_twice_is_reported(tmp_path: Path) -> None:
    rows = [EVENT_HEADER, ["dianzi", "report_late", 1], ["dianzi", "迟报", 2]]
    path = write_sheet(tmp_path / "x.xlsx", "events", rows)
    problem = only(problems_of(read_events, path, UNITS), "duplicate_event")
    assert (problem.row, problem.column) == (3, "B (event)")


def test_a_department_in_values_is_told_only_towns_have_indicators(tmp_path: Path) -> None:
    rows = values_rows(full_row("dianzi"), full_row("finance"))
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "value_for_non_town")
    assert (problem.row, problem.column) == (3, "A (unit)")
    assert "只有镇街考核发展成效指标" in format_problem(problem)


# ---------------------------------------------------------------------------------------------
# Every problem at once, row numbers, blank rows


def test_every_problem_is_reported_in_row_order_not_just_the_first(tmp_path: Path) -> None:
    rows = [
        GRADE_HEADER,
        ["nobody", "key_work", "Q1", "张三", "优"],
        ["dianzi", "key_work", "Q1", "张三", "好"],
        ["dianzi", "nothing", "Q9", "", "好"],
    ]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problems = problems_of(read_grades, path, PLAN, UNITS)
    assert [(p.row, p.code) for p in problems] == [
        (2, "unknown_unit"),
        (2, "unknown_grade"),
        (4, "unknown_item"),
        (4, "unknown_period"),
        (4, "empty_cell"),
    ]


def test_row_numbers_are_excel_rows_even_below_blank_rows(tmp_path: Path) -> None:
    rows = [[], [], ["code", "name", "group"], ["dianzi", "店子镇", "town"], [], ["x", "", "town"]]
    problem = only(
        problems_of(read_units, write_sheet(tmp_path / "x.xlsx", "units", rows)), "empty_cell"
    )
    assert (problem.row, problem.column) == (6, "B (name)")


def test_blank_rows_and_rows_with_only_notes_are_skipped(tmp_path: Path) -> None:
    rows = [
        ["code", "name", "group", "备注"],
        [],
        ["dianzi", "店子镇", "town", ""],
        [None, None, None, "以下为部门"],
        ["finance", "区财政局", "部门", None],
    ]
    units = read_units(write_sheet(tmp_path / "x.xlsx", "units", rows))
    assert [u.code for u in units] == ["dianzi", "finance"]


# ---------------------------------------------------------------------------------------------
# Good files


def test_a_good_units_file_reads_to_units(tmp_path: Path) -> None:
    rows = [
        ["代码", "名称", "分组"],
        ["dianzi", "店子镇", "镇街"],
        ["devzone", "开发区", "部门"],
        [101, "区财政局", "zone_or_department"],
    ]
    assert read_units(write_sheet(tmp_path / "x.xlsx", "units", rows)) == [
        Unit("dianzi", "店子镇", Group.TOWN),
        Unit("devzone", "开发区", Group.ZONE_OR_DEPARTMENT),
        Unit("101", "区财政局", Group.ZONE_OR_DEPARTMENT),
    ]


def test_a_good_values_file_reads_to_a_matrix(tmp_path: Path) -> None:
    first = [float(j) for j in range(len(CODES))]
    rows = values_rows(["dianzi", *first], ["西集镇", *([None] * len(CODES))])
    values = read_values(write_sheet(tmp_path / "x.xlsx", "values", rows), PLAN, UNITS)
    assert values.units == ("dianzi", "xiji")
    assert values.indicators == tuple(CODES)
    assert values.matrix[0].tolist() == first
    assert np.isnan(values.matrix[1]).all()


def test_a_good_grades_file_reads_to_records(tmp_path: Path) -> None:
    rows = [
        GRADE_HEADER,
        ["dianzi", "key_work", "Q1", "张三", "excellent"],
        ["finance", "basic_work", "year", "李四", "较好"],
    ]
    assert read_grades(write_sheet(tmp_path / "x.xlsx", "grades", rows), PLAN, UNITS) == [
        GradeRecord("dianzi", "key_work", "Q1", "张三", Grade.EXCELLENT),
        GradeRecord("finance", "basic_work", "year", "李四", Grade.GOOD),
    ]


def test_a_good_bonus_file_reads_to_items(tmp_path: Path) -> None:
    rows = [
        ["单位", "标题", "佐证材料", "是否认定"],
        ["dianzi", "省级试点", "鲁发改〔2025〕1号", "是"],
        ["finance", "政策创新", None, "否"],
    ]
    assert read_bonus(write_sheet(tmp_path / "x.xlsx", "加分项", rows), UNITS) == [
        BonusItem("dianzi", "省级试点", True, "鲁发改〔2025〕1号"),
        BonusItem("finance", "政策创新", False, ""),
    ]


def test_the_evidence_column_of_bonus_is_optional(tmp_path: Path) -> None:
    rows = [["unit", "title", "approved"], ["dianzi", "省级试点", "yes"]]
    assert read_bonus(write_sheet(tmp_path / "x.xlsx", "bonus", rows), UNITS) == [
        BonusItem("dianzi", "省级试点", True, "")
    ]


def test_a_good_events_file_reads_to_counts(tmp_path: Path) -> None:
    rows = [
        ["单位", "事件", "次数"],
        ["dianzi", "report_late", 2],
        ["finance", "整改逾期", "0"],
        ["xiji", "虚报", 1.0],
    ]
    assert read_events(write_sheet(tmp_path / "x.xlsx", "扣分事件", rows), UNITS) == [
        EventCount("dianzi", EventKind.REPORT_LATE, 2),
        EventCount("finance", EventKind.RECTIFICATION_OVERDUE, 0),
        EventCount("xiji", EventKind.FALSE_REPORT, 1),
    ]


# ---------------------------------------------------------------------------------------------
# Rendering


def test_a_problem_renders_as_one_chinese_line_with_file_sheet_row_and_column() -> None:
    problem = InputProblem(
        "not_a_number",
        {"got": "N/A", "indicator": "gdp_growth"},
        "values.xlsx",
        "values",
        5,
        "C (gdp_growth)",
    )
    line = format_problem(problem)
    assert line.startswith(
        "文件 values.xlsx 工作表“values” 第 5 行 C 列（gdp_growth）：“N/A”不是数字"
    )
    assert "\n" not in line


def test_a_problem_renders_in_english() -> None:
    problem = InputProblem(
        "unknown_grade", {"got": "A", "choices": []}, "g.xlsx", "grades", 7, "E (grade)"
    )
    assert format_problem(problem, "en").startswith(
        "g.xlsx, sheet “grades”, row 7, column E (grade): Unknown grade “A”."
    )


def test_html_rendering_escapes_values_exactly_once() -> None:
    problem = InputProblem(
        "unknown_unit",
        {"unit": "<b>&</b>", "suggestions": []},
        "a<b>.xlsx",
        "values",
        2,
        "A (unit)",
    )
    line = format_problem(problem, html=True)
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in line
    assert "a&lt;b&gt;.xlsx" in line
    assert "&amp;lt;" not in line


def test_problems_from_the_engine_render_with_the_same_catalog() -> None:
    cases: list[tuple[str, dict[str, object]]] = [
        ("duplicate_unit", {"unit": "dianzi"}),
        ("unknown_unit", {"unit": "x"}),
        ("value_for_non_town", {"unit": "finance"}),
        ("unknown_indicator", {"indicator": "x"}),
        ("unknown_item", {"item": "x"}),
        ("unknown_period", {"period": "Q9"}),
        ("duplicate_grade", {"unit": "a", "item": "key_work", "period": "Q1", "rater": "r"}),
        ("negative_count", {"count": -1}),
    ]
    for code, params in cases:
        assert code in ENGINE_CODES
        for language in LANGUAGES:
            assert format_problem(InputProblem(code, params, "values"), language)


def test_an_unknown_problem_code_still_renders() -> None:
    line = format_problem(InputProblem("something_new", {"a": 1}, "x.xlsx"), "en")
    assert "something_new" in line


def test_every_problem_code_has_a_message_in_every_language() -> None:
    for code in (*PROBLEM_CODES, *ENGINE_CODES, "problem_line", "header", "footer"):
        for language in LANGUAGES:
            assert has_message(f"workbook.{code}", language), (code, language)


def test_the_footer_tells_how_to_get_a_template() -> None:
    assert "kaohe template values --plan" in render("workbook.footer")
    assert "kaohe template grades --plan" in render("workbook.footer", "en", kind="grades")


# ---------------------------------------------------------------------------------------------
# Columns many tables carry: row numbers, remarks, a unit name next to the code


def test_row_number_and_remark_columns_are_ignored_even_in_values(tmp_path: Path) -> None:
    rows = [["序号", "unit", "gdp_growth", "备注"], [1, "dianzi", 7.5, "初步数"]]
    values = read_values(write_sheet(tmp_path / "x.xlsx", "values", rows), PLAN, UNITS)
    assert values.matrix.tolist() == [[7.5]]


def test_a_unit_name_column_next_to_the_code_must_name_the_same_unit(tmp_path: Path) -> None:
    rows = [["unit", "单位名称", "gdp_growth"], ["dianzi", "店子镇", 7.5], ["xiji", "店子镇", 6.0]]
    path = write_sheet(tmp_path / "x.xlsx", "values", rows)
    problem = only(problems_of(read_values, path, PLAN, UNITS), "unit_name_mismatch")
    assert (problem.row, problem.column) == (3, "B (单位名称)")
    assert problem.params == {"unit": "xiji", "name": "店子镇", "expected": "西集镇"}


def test_a_unit_name_column_alone_identifies_the_units(tmp_path: Path) -> None:
    rows = [["单位名称", "event", "count"], ["店子镇", "report_late", 1]]
    events = read_events(write_sheet(tmp_path / "x.xlsx", "events", rows), UNITS)
    assert events == [EventCount("dianzi", EventKind.REPORT_LATE, 1)]


def test_a_mismatched_unit_name_in_grades_is_reported(tmp_path: Path) -> None:
    rows = [
        ["unit", "unit_name", "item", "period", "rater", "grade"],
        ["dianzi", "区财政局", "key_work", "Q1", "张三", "好"],
    ]
    path = write_sheet(tmp_path / "x.xlsx", "grades", rows)
    problem = only(problems_of(read_grades, path, PLAN, UNITS), "unit_name_mismatch")
    assert (problem.row, problem.column) == (2, "B (unit_name)")


def test_formula_errors_are_found_wherever_the_sheet_is_cut_into_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("values")
    sheet.write_row(0, 0, ["unit", *CODES])
    sheet.write_row(1, 0, full_row("dianzi"))
    sheet.write_row(2, 0, full_row("xiji"))
    sheet.write_formula(1, 5, "=1/0", None, "#DIV/0!")
    sheet.write_formula(2, 12, "=NA()", None, "#N/A")
    book.close()
    monkeypatch.setattr(reader, "_CHUNK", 97)
    problems = problems_of(read_values, path, PLAN, UNITS)
    assert [(p.code, p.row, p.column[0], p.params["got"]) for p in problems] == [
        ("formula_error", 2, "F", "#DIV/0!"),
        ("formula_error", 3, "M", "#N/A"),
    ]
