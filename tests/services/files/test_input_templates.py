"""Input templates: canonical sheets and headers, drop-down lists, and a clean round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from scoring import (
    BonusItem,
    EventCount,
    EventKind,
    Grade,
    GradeRecord,
    Group,
    InputError,
    Unit,
)
from services.files import input_templates
from services.files.input_templates import TEMPLATE_KINDS, write_template
from services.files.reader import (
    SHEET_NAMES,
    read_bonus,
    read_events,
    read_grades,
    read_units,
    read_values,
)
from tests.fixtures_workbooks import UNITS, default_plan

PLAN = default_plan()
CODES = [ind.code for ind in PLAN.development.indicators]
HEADERS = {
    "units": ["code", "name", "group"],
    "values": ["unit", *CODES],
    "grades": ["unit", "item", "period", "rater", "grade", "source"],
    "bonus": ["unit", "title", "evidence", "approved"],
    "events": ["unit", "event", "count"],
}


def validations(sheet: Any) -> dict[str, tuple[str, str | None]]:
    """Each validated column's letter -> (type, formula)."""
    out: dict[str, tuple[str, str | None]] = {}
    for dv in sheet.data_validations.dataValidation:
        letter = str(dv.sqref).split(":")[0].rstrip("0123456789")
        out[letter] = (dv.type, dv.formula1)
    return out


def test_the_template_kinds_are_the_five_data_workbooks() -> None:
    assert TEMPLATE_KINDS == ("units", "values", "grades", "bonus", "events")


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", TEMPLATE_KINDS)
def test_each_template_has_the_canonical_sheet_headers_and_a_frozen_bold_header(
    tmp_path: Path, kind: str, language: str
) -> None:
    path = tmp_path / f"{kind}.xlsx"
    write_template(kind, PLAN, path, UNITS, language)
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.title == SHEET_NAMES[kind][0] == kind
    assert [c.value for c in sheet[1]] == HEADERS[kind]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes in ("A2", "B2")
    assert book.sheetnames[1] == ("说明" if language == "zh" else "Instructions")


def test_the_values_template_explains_each_indicator_in_a_header_comment(tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    write_template("values", PLAN, path)
    sheet = openpyxl.load_workbook(path)["values"]
    assert sheet["B1"].value == "gdp_growth"
    assert sheet["B1"].comment is not None
    assert sheet["B1"].comment.text == "地区生产总值增速（%），越大越好，50.00 分"
    assert validations(sheet)["B"][0] == "decimal"


def test_drop_down_lists_offer_chinese_words_in_a_chinese_template(tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    write_template("grades", PLAN, path, UNITS)
    found = validations(openpyxl.load_workbook(path)["grades"])
    assert found["A"] == ("list", '"dianzi,xiji,devzone,finance"')
    assert found["B"] == ("list", '"重点工作,基础工作"')
    assert found["C"] == ("list", '"Q1,Q2,Q3,Q4,年度"')
    assert found["E"] == ("list", '"好,较好,一般,差"')


def test_drop_down_lists_offer_english_codes_in_an_english_template(tmp_path: Path) -> None:
    path = tmp_path / "e.xlsx"
    write_template("events", PLAN, path, language="en")
    book = openpyxl.load_workbook(path)
    found = validations(book["events"])
    assert found["B"] == (
        "list",
        '"report_late,report_missing,rectification_overdue,false_report,'
        'finding_due,finding_rectified_on_time"',
    )
    assert found["C"] == ("whole", "0")
    assert "A" not in found  # no units given, so no unit list
    assert book.sheetnames == ["events", "Instructions"]


def test_group_and_approved_columns_have_drop_down_lists(tmp_path: Path) -> None:
    write_template("units", PLAN, tmp_path / "u.xlsx")
    write_template("bonus", PLAN, tmp_path / "b.xlsx")
    assert validations(openpyxl.load_workbook(tmp_path / "u.xlsx")["units"])["C"] == (
        "list",
        '"镇街,部门"',
    )
    assert validations(openpyxl.load_workbook(tmp_path / "b.xlsx")["bonus"])["D"] == (
        "list",
        '"是,否"',
    )


def test_a_long_unit_list_goes_to_a_hidden_lists_sheet(tmp_path: Path) -> None:
    units = [Unit(f"town_number_{i}", f"镇{i}", Group.TOWN) for i in range(40)]
    path = tmp_path / "v.xlsx"
    write_template("values", PLAN, path, units)
    book = openpyxl.load_workbook(path)
    assert book["lists"].sheet_state == "hidden"
    assert validations(book["values"])["A"] == ("list", "lists!$A$2:$A$41")
    assert [book["lists"].cell(i, 1).value for i in (2, 41)] == ["town_number_0", "town_number_39"]


def test_the_values_template_lists_only_towns(tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    write_template("values", PLAN, path, UNITS)
    sheet = openpyxl.load_workbook(path)["values"]
    assert [sheet.cell(r, 1).value for r in range(2, 5)] == ["dianzi", "xiji", None]


def test_the_units_template_lists_the_given_units(tmp_path: Path) -> None:
    path = tmp_path / "u.xlsx"
    write_template("units", PLAN, path, UNITS, language="en")
    assert read_units(path) == list(UNITS)


def test_the_instructions_sheet_is_in_the_catalog_language(tmp_path: Path) -> None:
    write_template("bonus", PLAN, tmp_path / "zh.xlsx")
    write_template("bonus", PLAN, tmp_path / "en.xlsx", language="en")
    zh = [c for row in openpyxl.load_workbook(tmp_path / "zh.xlsx")["说明"].values for c in row]
    en = [
        c
        for row in openpyxl.load_workbook(tmp_path / "en.xlsx")["Instructions"].values
        for c in row
    ]
    assert "2025 年度考核数据模板：加分项" in zh
    assert "· 每条认定的加分项加 10.00 分，每个单位全年最多加 60.00 分。" in zh
    assert "2025 assessment data template: bonus items" in en


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tasks"):
        write_template("tasks", PLAN, tmp_path / "t.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v.xlsx"
    path.write_bytes(b"old")

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(input_templates, "_fill", broken)
    with pytest.raises(RuntimeError):
        write_template("values", PLAN, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["v.xlsx"]


def test_a_template_into_a_missing_folder_fails_without_leftovers(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_template("units", PLAN, tmp_path / "nowhere" / "u.xlsx")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Round trips: write a template, fill it in as a person would (openpyxl), read it back.


def fill(path: Path, sheet: str, rows: list[list[Any]], start: int = 2) -> None:
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    for r, row in enumerate(rows, start=start):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)
    book.save(path)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_filled_units_template_reads_back(tmp_path: Path, language: str) -> None:
    path = tmp_path / "u.xlsx"
    write_template("units", PLAN, path, language=language)
    town, other = ("镇街", "部门") if language == "zh" else ("town", "zone_or_department")
    fill(path, "units", [["dianzi", "店子镇", town], ["finance", "区财政局", other]])
    assert read_units(path) == [
        Unit("dianzi", "店子镇", Group.TOWN),
        Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
    ]


def test_a_filled_values_template_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    write_template("values", PLAN, path, UNITS)
    fill(path, "values", [["dianzi", 7.5, 3.0], ["xiji", None, "4.5"]])
    values = read_values(path, PLAN, UNITS)
    assert values.units == ("dianzi", "xiji")
    assert values.indicators == tuple(CODES)
    assert values.matrix[0, :2].tolist() == [7.5, 3.0]
    assert values.matrix[1, 1] == 4.5


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_filled_grades_template_reads_back(tmp_path: Path, language: str) -> None:
    path = tmp_path / "g.xlsx"
    write_template("grades", PLAN, path, UNITS, language)
    if language == "zh":
        rows = [
            ["dianzi", "重点工作", "Q1", "区财政局", "好"],
            ["finance", "基础工作", "年度", "区统计局", "差"],
        ]
    else:
        rows = [
            ["dianzi", "key_work", "Q1", "区财政局", "excellent"],
            ["finance", "basic_work", "year", "区统计局", "poor"],
        ]
    fill(path, "grades", rows)
    assert read_grades(path, PLAN, UNITS) == [
        GradeRecord("dianzi", "key_work", "Q1", "区财政局", Grade.EXCELLENT),
        GradeRecord("finance", "basic_work", "year", "区统计局", Grade.POOR),
    ]


def test_a_filled_bonus_template_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "b.xlsx"
    write_template("bonus", PLAN, path, UNITS)
    fill(
        path,
        "bonus",
        [["dianzi", "省级试点", "鲁发改〔2025〕1号", "是"], ["xiji", "政策创新", None, "否"]],
    )
    assert read_bonus(path, UNITS) == [
        BonusItem("dianzi", "省级试点", True, "鲁发改〔2025〕1号"),
        BonusItem("xiji", "政策创新", False, ""),
    ]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_filled_events_template_reads_back(tmp_path: Path, language: str) -> None:
    path = tmp_path / "e.xlsx"
    write_template("events", PLAN, path, UNITS, language)
    late = "迟报" if language == "zh" else "report_late"
    fill(path, "events", [["dianzi", late, 2], ["finance", "false_report", 1]])
    assert read_events(path, UNITS) == [
        EventCount("dianzi", EventKind.REPORT_LATE, 2),
        EventCount("finance", EventKind.FALSE_REPORT, 1),
    ]


@pytest.mark.parametrize("kind", ["bonus", "events"])
def test_an_empty_bonus_or_events_template_reads_as_no_items(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.xlsx"
    write_template(kind, PLAN, path, UNITS)
    read = read_bonus if kind == "bonus" else read_events
    assert read(path, UNITS) == []


def test_an_empty_grades_template_is_refused_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "g.xlsx"
    write_template("grades", PLAN, path, UNITS)
    with pytest.raises(InputError) as caught:
        read_grades(path, PLAN, UNITS)
    assert [p.code for p in caught.value.problems] == ["no_data_rows"]
