"""The report workbook: sheets, headers, order, formats, tiers, print setup and atomic writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from scoring import BonusItem, EventKind, Grade, Group, Standings, score
from services.files import report
from services.files.plan_file import default_plan_text, load_plan_text
from services.files.report import ReportSheet, sheet_name, tier_colours, write_report
from tests.factories import approved, department, events, grades, make_plan, town, values

YEAR = 2025
SHEETS_ZH = ["镇街排名", "部门排名", "指标得分", "工作情况", "加分项"]


def _build_standings() -> Standings:
    plan = load_plan_text(default_plan_text(YEAR))
    units = [
        town("a", "甲镇"),
        town("b", "乙镇"),
        town("c", "丙街道"),
        department("x", "区财政局"),
        department("y", "区统计局"),
        department("z", "区商务局"),
        department("w", "区农业农村局"),
    ]
    codes = [ind.code for ind in plan.development.indicators]
    figures = {"a": 9.0, "b": 5.0, "c": 1.0}
    rows: dict[str, dict[str, float | None]] = {
        unit: dict.fromkeys(codes, figure) for unit, figure in figures.items()
    }
    for unit, value in (("a", 0.45), ("b", 0.6), ("c", None)):
        rows[unit]["energy_intensity"] = value
    for unit, value in (("a", 30.0), ("b", 45.0), ("c", 60.0)):
        rows[unit]["pm25"] = value
    given = []
    for unit, grade in (("a", "excellent"), ("b", "good"), ("x", "excellent")):
        for item in ("key_work", "basic_work"):
            given += grades(unit, item, "Q1", grade, grade)
            given += grades(unit, item, "year", grade, grade, grade)
    # Six raters: one highest and one lowest are dropped.
    given += grades("x", "key_work", "Q2", *["excellent"] * 5, "poor")
    given += grades("c", "key_work", "year", "fair")
    for unit, grade in (("y", "good"), ("z", "fair"), ("w", "poor")):
        for item in ("key_work", "basic_work"):
            given += grades(unit, item, "year", grade)
    # Quarterly grades only: the item has no year-end grade.
    given += grades("c", "basic_work", "Q3", "good")
    bonus = [*approved("a", 7), BonusItem("b", "乙镇未认定事项", False, "材料不全")]
    happened = [events("b", EventKind.REPORT_LATE, 2), events("w", "false_report", 10)]
    return score(plan, units, values(rows, codes), given, bonus, happened)


@pytest.fixture(scope="module")
def standings() -> Standings:
    return _build_standings()


@pytest.fixture(scope="module")
def book(standings: Standings, tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("report") / "考核报告.xlsx"
    write_report(standings, path)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def book_en(standings: Standings, tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("report_en") / "report.xlsx"
    write_report(standings, path, language="en")
    return openpyxl.load_workbook(path)


def _row(ws: Worksheet, row: int) -> list[object]:
    return [cell.value for cell in ws[row]]


def _column(ws: Worksheet, col: int, first: int) -> list[object]:
    return [ws.cell(r, col).value for r in range(first, ws.max_row + 1)]


def test_report_has_the_rankings_then_indicators_work_and_bonus(book: openpyxl.Workbook) -> None:
    assert book.sheetnames == SHEETS_ZH


def test_town_ranking_headers_name_the_plan_work_items(book: openpyxl.Workbook) -> None:
    headers = _row(book["镇街排名"], 2)
    assert headers == [
        "名次",
        "单位代码",
        "单位",
        "等级",
        "发展成效",
        "重点工作",
        "基础工作",
        "加分",
        "扣分",
        "总分",
        "得分率",
    ]


def test_department_ranking_has_no_development_column(book: openpyxl.Workbook) -> None:
    headers = _row(book["部门排名"], 2)
    assert "发展成效" not in headers
    assert headers[4:6] == ["重点工作", "基础工作"]


def test_title_row_names_the_plan_title_and_the_group(book: openpyxl.Workbook) -> None:
    title = book["镇街排名"]["A1"].value
    assert str(YEAR) in title
    assert "山亭区新旧动能转换重大工程" in title
    assert "镇街排名" in title
    assert "A1:K1" in {str(r) for r in book["镇街排名"].merged_cells.ranges}


@pytest.mark.parametrize(
    ("sheet", "group"), [("镇街排名", Group.TOWN), ("部门排名", Group.ZONE_OR_DEPARTMENT)]
)
def test_ranking_rows_follow_the_standings_rank_order_with_their_totals(
    book: openpyxl.Workbook, standings: Standings, sheet: str, group: Group
) -> None:
    ws = book[sheet]
    expected = standings.group(group)
    total_col = _row(ws, 2).index("总分") + 1
    assert _column(ws, 2, 3) == [r.code for r in expected]
    assert _column(ws, 1, 3) == [r.rank for r in expected]
    assert _column(ws, 4, 3) == [r.tier for r in expected]
    assert _column(ws, total_col, 3) == pytest.approx([r.total for r in expected])
    assert _column(ws, total_col + 1, 3) == pytest.approx([r.share for r in expected])


def test_bonus_and_deductions_columns_equal_the_results(
    book: openpyxl.Workbook, standings: Standings
) -> None:
    ws = book["镇街排名"]
    row = _column(ws, 2, 3).index("b") + 3
    result = standings.result("b")
    assert ws.cell(row, 8).value == pytest.approx(result.bonus)
    assert ws.cell(row, 9).value == pytest.approx(result.deductions) == 2.0
    assert ws.cell(row, 5).value == pytest.approx(result.development)


@pytest.mark.parametrize(
    ("sheet", "cell"),
    [
        ("镇街排名", "D3"),
        ("部门排名", "D3"),
        ("指标得分", "D9"),
        ("工作情况", "C3"),
        ("加分项", "C3"),
    ],
)
def test_header_rows_are_frozen(book: openpyxl.Workbook, sheet: str, cell: str) -> None:
    assert book[sheet].freeze_panes == cell


def test_scores_show_two_decimals_and_shares_a_percentage(book: openpyxl.Workbook) -> None:
    ws = book["镇街排名"]
    assert {ws.cell(3, c).number_format for c in range(5, 11)} == {"0.00"}
    assert ws.cell(3, 11).number_format == "0.00%"
    work = book["工作情况"]
    assert {work.cell(3, c).number_format for c in range(5, 11)} == {"0.00"}
    indicators = book["指标得分"]
    assert indicators.cell(9, 3).number_format == "0.00"
    assert indicators.cell(9, 5).number_format == "0.00"


@pytest.mark.parametrize("sheet", ["镇街排名", "部门排名"])
def test_each_ranking_sheet_has_a_bar_chart_of_the_totals(
    book: openpyxl.Workbook, sheet: str
) -> None:
    charts = book[sheet]._charts
    assert len(charts) == 1
    assert charts[0].tagname == "barChart"


def test_tiers_are_filled_with_different_colours(
    book: openpyxl.Workbook, standings: Standings
) -> None:
    ws = book["部门排名"]
    fills: dict[str, set[str]] = {}
    for r in range(3, ws.max_row + 1):
        tier = ws.cell(r, 4).value
        fills.setdefault(tier, set()).add(ws.cell(r, 3).fill.fgColor.rgb)
    assert set(fills) == {"优秀", "良好", "一般", "较差"}
    assert all(len(colours) == 1 for colours in fills.values())
    assert len({next(iter(c)) for c in fills.values()}) == 4


def test_tier_colours_follow_band_position_so_custom_names_work() -> None:
    assert tier_colours(0, 4) == report.TIER_FIRST
    assert tier_colours(3, 4) == report.TIER_LAST
    assert tier_colours(1, 3) == report.TIER_MIDDLE[1]
    assert tier_colours(1, 2) == report.TIER_LAST
    assert len({tier_colours(i, 5) for i in range(5)}) == 5


def test_custom_tier_names_get_colours_by_band_position(tmp_path: Path) -> None:
    bands = [
        {"name": "第一档", "up_to": 0.34},
        {"name": "第二档", "up_to": 0.67},
        {"name": "第三档", "up_to": 1.0},
    ]
    plan = make_plan(YEAR, tiers={"by": "rank_share", "bands": bands})
    units = [department(code) for code in "xyz"]
    given = [
        g
        for unit, grade in (("x", "excellent"), ("y", "good"), ("z", "poor"))
        for g in grades(unit, "key_work", "year", grade)
    ]
    path = tmp_path / "r.xlsx"
    write_report(score(plan, units, grades=given), path)
    ws = openpyxl.load_workbook(path)["部门排名"]
    fills = {ws.cell(r, 4).value: ws.cell(r, 4).fill.fgColor.rgb[-6:] for r in range(3, 6)}
    assert fills == {
        "第一档": report.TIER_FIRST[0][1:],
        "第二档": report.TIER_MIDDLE[1][0][1:],
        "第三档": report.TIER_LAST[0][1:],
    }


def test_the_chart_of_a_big_group_shows_its_first_units(
    standings: Standings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "CHART_MAX_UNITS", 2)
    path = tmp_path / "r.xlsx"
    write_report(standings, path)
    (chart,) = openpyxl.load_workbook(path)["部门排名"]._charts
    assert chart.series[0].val.numRef.f.replace("'", "") == "部门排名!$I$3:$I$4"
    assert chart.series[0].cat.strRef.f.replace("'", "") == "部门排名!$C$3:$C$4"
    first_two = standings.group(Group.ZONE_OR_DEPARTMENT)[:2]
    cached_names = [pt.v for pt in chart.series[0].cat.strRef.strCache.pt]
    assert cached_names == [r.name for r in first_two]
    cached_totals = [float(pt.v) for pt in chart.series[0].val.numRef.numCache.pt]
    assert cached_totals == pytest.approx([r.total for r in first_two])


def test_indicator_sheet_shows_each_value_and_points_under_a_merged_name(
    book: openpyxl.Workbook, standings: Standings
) -> None:
    ws = book["指标得分"]
    assert ws["D3"].value == "地区生产总值增速（%）"
    assert "D3:E3" in {str(r) for r in ws.merged_cells.ranges}
    assert [ws.cell(r, 1).value for r in range(3, 8)] == [
        "指标",
        "方向",
        "分值",
        "最优值",
        "最差值",
    ]
    assert ws["D4"].value == "越大越好"
    assert ws["D5"].value == 50
    assert (ws["D6"].value, ws["D7"].value) == (9.0, 1.0)
    assert _row(ws, 8)[:5] == ["单位代码", "单位", "发展成效", "值", "得分"]
    codes = _column(ws, 1, 9)
    assert codes == [r.code for r in standings.group(Group.TOWN)]
    explained = {i.code: i for i in standings.explain("a").indicators}
    a_row = 9 + codes.index("a")
    assert ws.cell(a_row, 4).value == explained["gdp_growth"].value
    assert ws.cell(a_row, 5).value == pytest.approx(explained["gdp_growth"].points)
    assert ws.cell(a_row, 3).value == pytest.approx(standings.result("a").development)


def test_lower_is_better_indicators_show_their_direction_and_best_value(
    book: openpyxl.Workbook,
) -> None:
    ws = book["指标得分"]
    col = _row(ws, 3).index("PM2.5平均浓度（微克/立方米）") + 1
    assert ws.cell(4, col).value == "越小越好"
    assert (ws.cell(6, col).value, ws.cell(7, col).value) == (30.0, 60.0)


def test_missing_indicator_values_are_empty_and_grey(book: openpyxl.Workbook) -> None:
    ws = book["指标得分"]
    col = _row(ws, 3).index("单位GDP能耗（吨标准煤/万元）") + 1
    c_row = _column(ws, 1, 9).index("c") + 9
    assert ws.cell(c_row, col).value is None
    assert ws.cell(c_row, col).fill.fgColor.rgb.endswith(report.GREY[1:])
    assert ws.cell(c_row, col + 1).value == 0
    a_row = _column(ws, 1, 9).index("a") + 9
    assert ws.cell(a_row, col).value == 0.45
    assert ws.cell(a_row, col).fill.fgColor.rgb != ws.cell(c_row, col).fill.fgColor.rgb
    assert "灰色" in ws["A2"].value


def _work_rows(book: openpyxl.Workbook) -> dict[tuple[str, str], list[object]]:
    ws = book["工作情况"]
    return {
        (str(row[0]), str(row[3])): list(row) for row in ws.iter_rows(min_row=3, values_only=True)
    }


def test_work_sheet_headers_and_one_row_per_unit_and_item(
    book: openpyxl.Workbook, standings: Standings
) -> None:
    assert _row(book["工作情况"], 2) == [
        "单位代码",
        "单位",
        "类别",
        "工作项",
        "平时系数",
        "年终系数",
        "综合系数",
        "基础得分",
        "扣分",
        "得分",
        "标记",
    ]
    rows = _work_rows(book)
    assert len(rows) == 2 * len(standings.units)
    item = {i.code: i for i in standings.explain("x").items}["key_work"]
    assert rows[("x", "重点工作")][4:10] == pytest.approx(
        [item.daily, item.year_end, item.coef, item.raw_points, item.deducted, item.points]
    )


def test_work_sheet_flags_are_chinese_words(book: openpyxl.Workbook) -> None:
    rows = _work_rows(book)
    assert rows[("x", "重点工作")][10] == "去掉最高最低"
    assert rows[("w", "基础工作")][10] == "扣至零"
    assert rows[("c", "基础工作")][10] == "无年终评价"
    assert rows[("c", "重点工作")][10] is None
    assert rows[("a", "重点工作")][10] is None


def test_ungraded_item_says_so_and_leaves_coefficients_empty(tmp_path: Path) -> None:
    plan = load_plan_text(default_plan_text(YEAR))
    standings = score(
        plan, [town("a"), department("x")], grades=grades("a", "key_work", "year", "good")
    )
    path = tmp_path / "r.xlsx"
    write_report(standings, path)
    rows = _work_rows(openpyxl.load_workbook(path))
    assert rows[("x", "重点工作")][10] == "未评价"
    assert rows[("x", "重点工作")][4:7] == [None, None, None]
    assert rows[("x", "重点工作")][9] == 0


def test_bonus_sheet_counts_approved_items_up_to_the_cap(book: openpyxl.Workbook) -> None:
    ws = book["加分项"]
    assert _row(ws, 2) == [
        "单位代码",
        "单位",
        "加分事项",
        "佐证材料",
        "是否认定",
        "计入分值",
        "说明",
    ]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    a_rows = [r for r in rows if r[0] == "a"]
    assert len(a_rows) == 7
    assert [r[5] for r in a_rows] == [10] * 6 + [0]
    assert a_rows[-1][6] == "已达年度上限 60 分，未计入"
    assert sum(r[5] for r in a_rows) == 60
    (b_row,) = [r for r in rows if r[0] == "b"]
    assert (b_row[2], b_row[3], b_row[4], b_row[5]) == ("乙镇未认定事项", "材料不全", "否", 0)


def test_the_report_also_opens_in_calamine(standings: Standings, tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    write_report(standings, path)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == SHEETS_ZH
    ranking = book.get_sheet_by_name("镇街排名").to_python()
    assert [row[1] for row in ranking[2:]] == [r.code for r in standings.group(Group.TOWN)]


def test_english_report_has_english_sheets_and_headers(book_en: openpyxl.Workbook) -> None:
    assert book_en.sheetnames == [
        "Town ranking",
        "Department ranking",
        "Indicator scores",
        "Work items",
        "Bonus items",
    ]
    assert _row(book_en["Town ranking"], 2)[:5] == [
        "Rank",
        "Unit code",
        "Unit",
        "Tier",
        "Development",
    ]
    assert _row(book_en["Work items"], 2)[4] == "Daily coef."
    flags = {r[10] for r in book_en["Work items"].iter_rows(min_row=3, values_only=True)}
    assert "highest and lowest dropped" in flags


@pytest.mark.parametrize("sheet", SHEETS_ZH)
def test_every_sheet_prints_landscape_on_a4_one_page_wide(
    book: openpyxl.Workbook, sheet: str
) -> None:
    ws = book[sheet]
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth in (None, 1)  # 1 is the default, left out by XlsxWriter
    assert int(ws.page_setup.fitToHeight) == 0
    assert ws.print_title_rows is not None


def test_a_failed_write_leaves_no_file_and_keeps_the_old_report(
    standings: Standings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"old report")

    def broken(self: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report._Report, "write_bonus", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_report(standings, path)
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == b"old report"


def test_a_failure_while_streaming_rows_leaves_no_file(
    standings: Standings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, r: int, contents: list[object]) -> str:
        raise ValueError("bad row")

    monkeypatch.setattr(report._RowXml, "__call__", broken)
    with pytest.raises(ValueError, match="bad row"):
        write_report(standings, tmp_path / "report.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_unit_names_with_markup_and_spaces_survive(tmp_path: Path) -> None:
    plan = load_plan_text(default_plan_text(YEAR))
    odd = " A&B <镇> "
    standings = score(plan, [town("a", odd), department("x", "局\x07")])
    path = tmp_path / "r.xlsx"
    write_report(standings, path)
    book = openpyxl.load_workbook(path)
    assert book["镇街排名"]["C3"].value == odd
    assert book["指标得分"]["B9"].value == odd
    assert book["工作情况"]["B3"].value == odd
    # A control character cannot be in XML: it goes in as Excel's escape, the file stays valid.
    assert book["部门排名"]["C3"].value.startswith("局")


def test_a_missing_folder_fails_without_leaving_anything(
    standings: Standings, tmp_path: Path
) -> None:
    with pytest.raises(Exception):  # noqa: B017 - XlsxWriter's own error type
        write_report(standings, tmp_path / "nowhere" / "report.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_extra_sheets_come_after_the_standard_ones(standings: Standings, tmp_path: Path) -> None:
    extra = ReportSheet(
        name="甲镇/任务",
        headers=["任务", "完成", "得分", "截止日期"],
        rows=[["招商引资", True, 12.5, dt.date(2025, 6, 30)], ["项目建设", False, None, None]],
        widths=[20, 8, 8, 12],
    )
    path = tmp_path / "r.xlsx"
    write_report(standings, path, extra_sheets=[extra])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [*SHEETS_ZH, "甲镇_任务"]
    ws = book["甲镇_任务"]
    assert _row(ws, 1) == ["任务", "完成", "得分", "截止日期"]
    assert _row(ws, 2)[:3] == ["招商引资", "是", 12.5]
    assert ws["C2"].number_format == "0.00"
    assert ws["D2"].value == dt.datetime(2025, 6, 30)
    assert _row(ws, 3)[:2] == ["项目建设", "否"]
    assert ws.freeze_panes == "A2"


def test_sheet_names_are_made_valid_and_unique() -> None:
    assert sheet_name("a/b", []) == "a_b"
    assert sheet_name("镇街排名", ["镇街排名"]) == "镇街排名(2)"
    long = "长" * 40
    assert len(sheet_name(long, [long[:31]])) == 31


def test_a_year_with_no_towns_still_writes_every_sheet(tmp_path: Path) -> None:
    plan = load_plan_text(default_plan_text(YEAR))
    standings = score(
        plan, [department("x")], grades=grades("x", "basic_work", "year", Grade.GOOD)
    )
    path = tmp_path / "r.xlsx"
    write_report(standings, path)
    book = openpyxl.load_workbook(path)
    # key_work has no grade: the workbook opens on what is missing (scoring.completeness).
    assert book.sheetnames == ["数据缺失", *SHEETS_ZH]
    assert book["镇街排名"]._charts == []
    assert book["镇街排名"].max_row == 2


def test_alert_texts_of_an_extra_sheet_show_red(tmp_path: Path) -> None:
    standings = _build_standings()
    path = tmp_path / "alerts.xlsx"
    sheet = ReportSheet("店子镇", ["状态"], [["逾期未整改"], ["正常推进"]], [12], ("逾期未整改",))
    write_report(standings, path, extra_sheets=[sheet])
    ws = openpyxl.load_workbook(path)["店子镇"]
    rules = [rule for rng in ws.conditional_formatting for rule in rng.rules]
    assert [rule.text for rule in rules] == ["逾期未整改"]
    assert rules[0].dxf.fill.bgColor.rgb.endswith("FFC7CE")
