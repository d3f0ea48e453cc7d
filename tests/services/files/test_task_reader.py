"""The tasks workbook: read all or nothing with every bad row listed, and its template."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from scoring import Group, InputError, InputProblem, Unit
from services.files.plan_file import default_plan_text, load_plan_text
from services.files.reader import format_problem
from services.files.task_reader import TASK_COLUMNS, read_tasks, write_tasks_template
from services.tasks import TaskInput

PLAN = load_plan_text(default_plan_text(2025))
UNITS = [Unit("dianzi", "店子镇", Group.TOWN), Unit("fgj", "区发改局", Group.ZONE_OR_DEPARTMENT)]
HEADERS = list(TASK_COLUMNS)
GOOD = ["dianzi", "T01", "建成 5G 基站 200 个", "实施方案", "200 个", "2025-06-30", "key_work"]


def _book(
    tmp_path: Path,
    rows: Sequence[Sequence[object]],
    headers: Sequence[str] = HEADERS,
    sheet: str = "tasks",
) -> Path:
    path = tmp_path / "tasks.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet(sheet)
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, header in enumerate(headers):
        ws.write_string(0, col, header)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, date):
                ws.write_datetime(r, col, value, day)
            elif isinstance(value, str):
                ws.write_string(r, col, value)
            elif value is not None:
                ws.write(r, col, value)
    book.close()
    return path


def _problems(path: Path) -> list[InputProblem]:
    with pytest.raises(InputError) as raised:
        read_tasks(path, PLAN, UNITS)
    return list(raised.value.problems)


def _row(**changes: object) -> list[object]:
    row: list[object] = list(GOOD)
    for name, value in changes.items():
        row[HEADERS.index(name)] = value
    return row


def test_a_good_file_gives_every_task_with_unit_and_work_item_codes(tmp_path: Path) -> None:
    path = _book(
        tmp_path,
        [
            GOOD,
            _row(unit="区发改局", code="T01", due_date=date(2025, 12, 31), work_item="基础工作"),
            _row(code="T02", source_document="", target="", due_date=""),
        ],
    )
    tasks = read_tasks(path, PLAN, UNITS)
    assert tasks == [
        TaskInput(
            "dianzi",
            "T01",
            "建成 5G 基站 200 个",
            "实施方案",
            "200 个",
            date(2025, 6, 30),
            "key_work",
        ),
        TaskInput(
            "fgj",
            "T01",
            "建成 5G 基站 200 个",
            "实施方案",
            "200 个",
            date(2025, 12, 31),
            "basic_work",
        ),
        TaskInput("dianzi", "T02", "建成 5G 基站 200 个", "", "", None, "key_work"),
    ]


def test_chinese_headers_and_sheet_name_are_accepted_in_any_order(tmp_path: Path) -> None:
    headers = ["任务编号", "单位", "任务名称", "工作项", "完成时限", "目标", "来源文件"]
    row = ["T01", "店子镇", "招商", "重点工作", "2025年6月30日", "3 个项目", "行动计划"]
    tasks = read_tasks(_book(tmp_path, [row], headers, sheet="目标任务"), PLAN, UNITS)
    assert tasks == [
        TaskInput("dianzi", "T01", "招商", "行动计划", "3 个项目", date(2025, 6, 30), "key_work")
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (date(2025, 6, 30), date(2025, 6, 30)),
        (datetime(2025, 6, 30, 17, 0), date(2025, 6, 30)),
        ("2025-06-30", date(2025, 6, 30)),
        (" 2025/6/3 ", date(2025, 6, 3)),
        ("２０２５－０６－３０", date(2025, 6, 30)),
    ],
)
def test_due_dates_may_be_excel_dates_or_text(
    tmp_path: Path, cell: object, expected: date
) -> None:
    (task,) = read_tasks(_book(tmp_path, [_row(due_date=cell)]), PLAN, UNITS)
    assert task.due_date == expected


@pytest.mark.parametrize("cell", ["明年", "2025-02-30", "30/06/2025", 45838, "2025-6"])
def test_a_bad_due_date_is_reported_with_what_was_written(tmp_path: Path, cell: object) -> None:
    (problem,) = _problems(_book(tmp_path, [_row(due_date=cell)]))
    assert (problem.code, problem.row, problem.column) == ("bad_due_date", 2, "F (due_date)")
    assert problem.params["got"] == str(cell)


def test_an_unknown_unit_is_reported_with_suggestions(tmp_path: Path) -> None:
    (problem,) = _problems(_book(tmp_path, [_row(unit="店子")]))
    assert (problem.code, problem.column) == ("unknown_unit", "A (unit)")
    assert problem.params["suggestions"] == ["店子镇"]


def test_an_unknown_work_item_is_reported_with_the_choices(tmp_path: Path) -> None:
    (problem,) = _problems(_book(tmp_path, [_row(work_item="日常工作")]))
    assert (problem.code, problem.column) == ("unknown_item", "G (work_item)")
    assert "key_work" in problem.params["choices"]


def test_a_repeated_unit_and_code_is_reported_with_the_first_row(tmp_path: Path) -> None:
    problems = _problems(_book(tmp_path, [GOOD, _row(title="别的"), _row(code="t01")]))
    assert [(p.code, p.row, p.params["first_row"]) for p in problems] == [
        ("duplicate_task", 3, 2),
        ("duplicate_task", 4, 2),  # codes differing only in case are the same code
    ]
    # The same code in another unit is a different task.
    assert len(read_tasks(_book(tmp_path, [GOOD, _row(unit="fgj")]), PLAN, UNITS)) == 2


def test_a_missing_column_is_reported_with_what_was_found(tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h != "work_item"]
    (problem,) = _problems(_book(tmp_path, [GOOD[:-1]], headers))
    assert problem.code == "missing_column"
    assert problem.params["column"] == "work_item"


def test_an_empty_workbook_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(_book(tmp_path, [], headers=[], sheet="Sheet1"))
    assert problem.code == "workbook_empty"


def test_an_empty_tasks_sheet_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(_book(tmp_path, [], headers=[]))
    assert problem.code == "sheet_empty"


def test_an_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "tasks.xlsx"
    path.write_bytes(b"")
    (problem,) = _problems(path)
    assert problem.code == "not_a_workbook"


def test_a_header_without_rows_is_reported(tmp_path: Path) -> None:
    (problem,) = _problems(_book(tmp_path, []))
    assert problem.code == "no_data_rows"


def test_empty_required_cells_and_too_long_text_are_reported(tmp_path: Path) -> None:
    problems = _problems(
        _book(tmp_path, [_row(unit="", code="", title="", work_item=""), _row(title="长" * 501)])
    )
    assert [(p.code, p.row, p.column[0]) for p in problems] == [
        ("empty_cell", 2, "A"),
        ("task_empty_cell", 2, "B"),
        ("task_empty_cell", 2, "C"),
        ("task_empty_cell", 2, "G"),
        ("task_text_too_long", 3, "C"),
    ]


def test_every_bad_row_is_listed_at_once_and_nothing_is_returned(tmp_path: Path) -> None:
    rows: list[Sequence[object]] = [
        GOOD,
        _row(unit="nowhere"),
        _row(code="T02", work_item="x"),
        _row(code="T03", due_date="soon"),
        GOOD,
    ]
    problems = _problems(_book(tmp_path, rows))
    assert [(p.row, p.code) for p in problems] == [
        (3, "unknown_unit"),
        (4, "unknown_item"),
        (5, "bad_due_date"),
        (6, "duplicate_task"),
    ]
    assert all(p.source == str(tmp_path / "tasks.xlsx") and p.sheet == "tasks" for p in problems)


def test_a_file_that_is_not_a_workbook_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "tasks.xlsx"
    path.write_text("not a workbook", encoding="utf-8")
    (problem,) = _problems(path)
    assert problem.code == "not_a_workbook"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_task_problem_renders_in_both_languages(tmp_path: Path, language: str) -> None:
    rows: list[Sequence[object]] = [GOOD, GOOD, _row(code="", due_date="x", title="长" * 501)]
    for problem in _problems(_book(tmp_path, rows)):
        line = format_problem(problem, language)
        assert problem.code not in line  # a real message, not the unknown-problem fallback


# ---------------------------------------------------------------------------------------------
# The template


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_template_has_the_headers_lists_and_instructions(
    tmp_path: Path, language: str
) -> None:
    path = tmp_path / "template.xlsx"
    write_tasks_template(PLAN, path, UNITS, language)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "tasks"
    sheet = book["tasks"]
    assert [c.value for c in sheet[1]] == HEADERS
    kinds = {dv.type for dv in sheet.data_validations.dataValidation}
    assert kinds == {"list", "date"}
    assert book["lists"].sheet_state == "hidden"
    instructions = book[book.sheetnames[1]]
    text = " ".join(str(c.value) for row in instructions.iter_rows() for c in row if c.value)
    assert "key_work" in text and "店子镇" in text
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_a_filled_in_template_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_tasks_template(PLAN, path, UNITS, "zh")
    book = openpyxl.load_workbook(path)
    sheet = book["tasks"]
    sheet.append(["店子镇", "T01", "招商引资", "", "", datetime(2025, 9, 30), "重点工作"])
    book.save(path)
    assert read_tasks(path, PLAN, UNITS) == [
        TaskInput("dianzi", "T01", "招商引资", "", "", date(2025, 9, 30), "key_work")
    ]


def test_the_empty_template_reads_as_a_header_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    write_tasks_template(PLAN, path)
    (problem,) = _problems(path)
    assert problem.code == "no_data_rows"
