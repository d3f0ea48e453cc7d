"""File scoring with the year-end sources (scoring.md §2b): the grades sheet's `source` column
(peer votes by unit code or name), the events sheet's findings counts, the templates, and every
bad input a row-level problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from scoring import EventCount, EventKind, Grade, GradeRecord, Group, InputError, Plan, Unit
from scoring.inputs import RectificationCount
from scoring.plan import YearEndSource
from services.file_scoring import ScoringFiles, score_files
from services.files.input_templates import write_template
from services.files.reader import format_problem, read_event_sheet, read_grades
from tests.factories import plan_data
from tests.fixtures_workbooks import units_rows, write_sheet

PEER = YearEndSource.PEER
UNITS = (
    Unit("dianzi", "店子镇", Group.TOWN),
    Unit("xiji", "西集镇", Group.TOWN),
    Unit("sangcun", "桑村镇", Group.TOWN),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
    Unit("devzone", "开发区", Group.ZONE_OR_DEPARTMENT),
)
YEAR_END = {"sources": {"panel": 0.6, "peer": 0.3, "rectification": 0.1}}
GRADES_HEADER = ["unit", "item", "period", "rater", "grade", "source"]


def plan_file(path: Path, year_end: dict[str, Any] | None = YEAR_END) -> Path:
    """A plan file: the default plan with this year_end block (None: the default's own)."""
    data = plan_data()
    if year_end is not None:
        data["work"]["year_end"] = year_end
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def the_plan(tmp_path: Path, year_end: dict[str, Any] | None = YEAR_END) -> Plan:
    from services.files.plan_file import load_plan_file

    return load_plan_file(plan_file(tmp_path / "plan.yaml", year_end))


def problems_of(read: Any) -> list[tuple[int | None, str, str]]:
    """(row, column letter, code) of every problem a read raises."""
    with pytest.raises(InputError) as caught:
        read()
    return [(p.row, p.column.split(" ")[0], p.code) for p in caught.value.problems]


# --- the grades sheet's source column ---------------------------------------------------------


def test_peer_rows_name_the_rating_unit_by_code_or_name(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "g.xlsx",
        "grades",
        [
            GRADES_HEADER,
            ["dianzi", "重点工作", "年度", "区财政局", "好", None],  # panel (empty source)
            ["dianzi", "key_work", "year", "西集镇", "较好", "互评"],
            ["dianzi", "key_work", "year", "sangcun", "一般", "peer"],
            ["xiji", "key_work", "year", "店子镇", "好", "PEER"],
            ["finance", "key_work", "year", "区财政局", "差", "考核小组"],
        ],
    )
    assert read_grades(path, the_plan(tmp_path), UNITS) == [
        GradeRecord("dianzi", "key_work", "year", "区财政局", Grade.EXCELLENT),
        GradeRecord("dianzi", "key_work", "year", "xiji", Grade.GOOD, PEER),
        GradeRecord("dianzi", "key_work", "year", "sangcun", Grade.FAIR, PEER),
        GradeRecord("xiji", "key_work", "year", "dianzi", Grade.EXCELLENT, PEER),
        GradeRecord("finance", "key_work", "year", "区财政局", Grade.POOR),
    ]


def test_a_grades_sheet_without_a_source_column_is_all_panel(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "g.xlsx",
        "grades",
        [GRADES_HEADER[:5], ["dianzi", "key_work", "Q1", "区财政局", "好"]],
    )
    (record,) = read_grades(path, the_plan(tmp_path), UNITS)
    assert record.source is YearEndSource.PANEL


def test_every_bad_peer_row_is_a_problem_at_its_row_and_column(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "g.xlsx",
        "grades",
        [
            GRADES_HEADER,
            ["dianzi", "key_work", "year", "店子镇", "好", "互评"],  # 2: itself
            ["dianzi", "key_work", "year", "区财政局", "好", "互评"],  # 3: another group
            ["dianzi", "key_work", "year", "山城镇", "好", "互评"],  # 4: no such unit
            ["dianzi", "basic_work", "year", "xiji", "好", "互评"],  # 5: not a peer item
            ["dianzi", "key_work", "Q2", "xiji", "好", "互评"],  # 6: not year-end
            ["dianzi", "key_work", "year", "xiji", "好", "同行"],  # 7: unknown source
            ["dianzi", "key_work", "year", "西集镇", "好", "互评"],  # 8: fine
            ["dianzi", "key_work", "year", "xiji", "差", "peer"],  # 9: xiji again
        ],
    )
    assert problems_of(lambda: read_grades(path, the_plan(tmp_path), UNITS)) == [
        (2, "D", "peer_own_unit"),
        (3, "D", "peer_other_group"),
        (4, "D", "unknown_rater_unit"),
        (5, "B", "peer_item_not_rated"),
        (6, "C", "peer_not_year_end"),
        (7, "F", "unknown_source"),
        (9, "D", "duplicate_grade"),
    ]


def test_peer_rows_under_a_plan_without_peers_are_refused(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "g.xlsx",
        "grades",
        [GRADES_HEADER, ["dianzi", "key_work", "year", "xiji", "好", "互评"]],
    )
    plan = the_plan(tmp_path, year_end=None)
    assert problems_of(lambda: read_grades(path, plan, UNITS)) == [(2, "F", "peer_not_in_plan")]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_peer_problem_reads_as_a_sentence(tmp_path: Path, language: str) -> None:
    path = write_sheet(
        tmp_path / "g.xlsx",
        "grades",
        [
            GRADES_HEADER,
            ["dianzi", "key_work", "year", "店子镇", "好", "互评"],
            ["dianzi", "key_work", "year", "区财政局", "好", "互评"],
            ["dianzi", "key_work", "year", "山城镇", "好", "互评"],
            ["dianzi", "basic_work", "Q1", "xiji", "好", "互评"],
        ],
    )
    with pytest.raises(InputError) as caught:
        read_grades(path, the_plan(tmp_path), UNITS, source="g.xlsx")
    lines = [format_problem(p, language) for p in caught.value.problems]
    assert len(lines) == 5
    assert all("g.xlsx" in line and "{{" not in line for line in lines)
    own, other, unknown, item, period = lines
    assert "店子镇" in own
    assert "区财政局" in other
    assert "山城镇" in unknown
    assert ("基础工作" in item) if language == "zh" else ("基础工作" in item or "basic" in item)
    assert "Q1" in period


# --- the events sheet's findings counts ---------------------------------------------------------


def test_findings_counts_come_with_the_events(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "e.xlsx",
        "events",
        [
            ["unit", "event", "count"],
            ["dianzi", "迟报", 1],
            ["dianzi", "finding_due", 4],
            ["dianzi", "按期整改", 3],
            ["xiji", "到期问题", 2],
        ],
    )
    sheet = read_event_sheet(path, UNITS)
    assert sheet.events == [EventCount("dianzi", EventKind.REPORT_LATE, 1)]
    assert sheet.rectification == [
        RectificationCount("dianzi", 4, 3),
        RectificationCount("xiji", 2, 0),
    ]


def test_more_rectified_on_time_than_due_is_a_problem_at_its_row(tmp_path: Path) -> None:
    path = write_sheet(
        tmp_path / "e.xlsx",
        "events",
        [
            ["unit", "event", "count"],
            ["dianzi", "finding_due", 2],
            ["dianzi", "finding_rectified_on_time", 3],
            ["xiji", "按期整改", 1],
            ["xiji", "finding_due", "two"],
            ["sangcun", "到期问题", 1],
            ["sangcun", "到期问题", 1],
        ],
    )
    assert problems_of(lambda: read_event_sheet(path, UNITS)) == [
        (3, "C", "rectified_more_than_due"),
        (5, "C", "bad_count"),
        (7, "B", "duplicate_event"),
    ]
    # xiji's row 4 is not compared with a due count that does not read (row 5).


# --- scoring the files ---------------------------------------------------------------------------


def scoring_files(tmp_path: Path) -> ScoringFiles:
    """The five towns-and-departments files with panel, peer and findings rows."""
    plan = plan_file(tmp_path / "plan.yaml")
    units = write_sheet(tmp_path / "units.xlsx", "units", units_rows(UNITS))
    values = write_sheet(
        tmp_path / "values.xlsx",
        "values",
        [["unit", "gdp_growth"], ["dianzi", 7.0], ["xiji", 6.0], ["sangcun", 5.0]],
    )
    grades = write_sheet(
        tmp_path / "grades.xlsx",
        "grades",
        [
            GRADES_HEADER,
            ["dianzi", "key_work", "year", "区财政局", "好", None],
            ["dianzi", "key_work", "year", "区统计局", "较好", None],
            ["dianzi", "key_work", "year", "西集镇", "较好", "互评"],
            ["dianzi", "key_work", "year", "桑村镇", "一般", "互评"],
            ["dianzi", "basic_work", "year", "区财政局", "好", None],
            ["xiji", "key_work", "year", "区财政局", "较好", None],
        ],
    )
    events = write_sheet(
        tmp_path / "events.xlsx",
        "events",
        [["unit", "event", "count"], ["dianzi", "到期问题", 4], ["dianzi", "按期整改", 3]],
    )
    return ScoringFiles(plan, units, values, grades, None, events)


def test_kaohe_score_weighs_panel_peer_and_rectification(tmp_path: Path) -> None:
    # dianzi key_work: panel (1.0 + 0.8) / 2 = 0.9, peer (0.8 + 0.6) / 2 = 0.7, rectification
    # 3 of 4 = 0.75 -> 一般 0.6: (0.6 * 0.9 + 0.3 * 0.7 + 0.1 * 0.6) / 1.0 = 0.81 -> 162.
    # basic_work: panel 1.0, rectification 0.6: (0.6 + 0.06) / 0.7 -> 188.571…
    # xiji key_work: panel 0.8 alone (no votes, nothing due) -> 160, flags no_peer, no_findings.
    standings = score_files(scoring_files(tmp_path))
    towns = {e["unit"]: e for e in standings.to_json()["groups"]["town"]}
    key = towns["dianzi"]["items"]["key_work"]
    assert key["coef"] == pytest.approx(0.81)
    assert towns["dianzi"]["key_work"] == pytest.approx(162.0)
    assert key["year_end_sources"] == {
        "panel": pytest.approx(0.9),
        "peer": pytest.approx(0.7),
        "rectification": 0.6,
    }
    assert towns["dianzi"]["basic_work"] == pytest.approx(200 * 0.66 / 0.7)
    assert towns["xiji"]["items"]["key_work"]["flags"] == ["no_peer", "no_findings"]
    assert towns["xiji"]["key_work"] == 160.0
    rectification = standings.explain("dianzi").rectification
    assert rectification is not None
    assert (rectification.due, rectification.on_time, rectification.grade) == (4, 3, Grade.FAIR)


def test_the_command_line_prints_the_sources_of_each_item(tmp_path: Path) -> None:
    files = scoring_files(tmp_path)
    args = ["score", "--plan", str(files.plan), "--units", str(files.units)]
    args += ["--values", str(files.values), "--grades", str(files.grades)]
    args += ["--events", str(files.events), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    towns = {e["unit"]: e for e in json.loads(result.stdout)["groups"]["town"]}
    assert set(towns["dianzi"]["items"]["key_work"]["year_end_sources"]) == {
        "panel",
        "peer",
        "rectification",
    }


def test_the_command_line_lists_bad_peer_rows_and_exits_2(tmp_path: Path) -> None:
    files = scoring_files(tmp_path)
    write_sheet(
        files.grades,
        "grades",
        [GRADES_HEADER, ["dianzi", "key_work", "year", "dianzi", "好", "互评"]],
    )
    args = ["score", "--plan", str(files.plan), "--units", str(files.units)]
    args += ["--values", str(files.values), "--grades", str(files.grades)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "店子镇" in result.output and "互评" in result.output


# --- the templates ---------------------------------------------------------------------------


def dropdowns(path: Path, sheet: str) -> dict[str, str | None]:
    """Each validated column's letter -> its list formula."""
    ws = openpyxl.load_workbook(path)[sheet]
    return {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1
        for dv in ws.data_validations.dataValidation
    }


@pytest.mark.parametrize(
    ("language", "choices"), [("zh", '"考核小组,互评"'), ("en", '"panel,peer"')]
)
def test_the_grades_template_offers_the_source_and_reads_back(
    tmp_path: Path, language: str, choices: str
) -> None:
    plan = the_plan(tmp_path)
    path = tmp_path / "g.xlsx"
    write_template("grades", plan, path, UNITS, language)
    assert dropdowns(path, "grades")["F"] == choices
    peer = "互评" if language == "zh" else "peer"
    book = openpyxl.load_workbook(path)
    book["grades"].append(["dianzi", "key_work", "year", "xiji", "excellent", peer])
    book.save(path)
    assert read_grades(path, plan, UNITS) == [
        GradeRecord("dianzi", "key_work", "year", "xiji", Grade.EXCELLENT, PEER)
    ]
    notes = " ".join(str(c.value) for row in book.worksheets[1].iter_rows() for c in row)
    assert "peer 0.3" in notes


def test_the_events_template_offers_the_findings_counts_and_reads_back(tmp_path: Path) -> None:
    plan = the_plan(tmp_path)
    path = tmp_path / "e.xlsx"
    write_template("events", plan, path, UNITS)
    assert dropdowns(path, "events")["B"] == '"迟报,未报,整改逾期,虚报,到期问题,按期整改"'
    book = openpyxl.load_workbook(path)
    book["events"].append(["xiji", "到期问题", 5])
    book["events"].append(["xiji", "按期整改", 5])
    book.save(path)
    assert read_event_sheet(path, UNITS).rectification == [RectificationCount("xiji", 5, 5)]
