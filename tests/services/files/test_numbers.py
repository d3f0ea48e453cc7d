"""Numbers that are not numbers: infinities, NaN and overflowing values are bad input naming
their cell; a column mixing percentage-formatted cells with plain numbers gets a warning."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cli.app import app
from scoring import InputError, InputProblem
from services.files.reader import (
    format_problem,
    read_bonus,
    read_events,
    read_grades,
    read_values,
)
from services.sample_district import SampleFiles, write_sample
from tests.fixtures_hostile import plain_workbook
from tests.fixtures_workbooks import TOWNS, UNITS, default_plan, write_sheet

PLAN = default_plan()
runner = CliRunner()


def problems_of(read: object, *args: object) -> list[tuple[str, int | None, str]]:
    """(code, row, column) of every problem a reader raises."""
    assert callable(read)
    with pytest.raises(InputError) as caught:
        read(*args)
    return [(p.code, p.row, p.column) for p in caught.value.problems]


def test_values_of_1e308_and_minus_1e308_are_refused_naming_their_cells(tmp_path: Path) -> None:
    rows = [["unit", "gdp_growth"], ["dianzi", 1e308], ["xiji", -1e308]]
    path = write_sheet(tmp_path / "values.xlsx", "values", rows)
    assert problems_of(read_values, path, PLAN, TOWNS) == [
        ("number_too_large", 2, "B (gdp_growth)"),
        ("number_too_large", 3, "B (gdp_growth)"),
    ]


@pytest.mark.parametrize("text", ["1e309", "-1e309", "inf", "-inf", "Infinity", "nan", "NaN"])
def test_text_that_is_not_a_finite_number_is_refused(tmp_path: Path, text: str) -> None:
    rows = [["unit", "gdp_growth"], ["dianzi", text], ["xiji", 6.0]]
    path = write_sheet(tmp_path / "values.xlsx", "values", rows)
    assert problems_of(read_values, path, PLAN, TOWNS) == [("not_a_number", 2, "B (gdp_growth)")]


@pytest.mark.parametrize("stored", ["NaN", "inf", "-INF"])
def test_number_cells_holding_nan_or_infinity_are_refused_not_taken_as_missing(
    tmp_path: Path, stored: str
) -> None:
    # Excel never writes these, a hand-made file can: <v>NaN</v> read as a float NaN used to
    # pass as an empty cell (a missing value).
    strings = ["unit", "gdp_growth", "dianzi", "xiji"]
    rows = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    rows += f'<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>{stored}</v></c></row>'
    rows += '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>6.5</v></c></row>'
    path = plain_workbook(tmp_path / "values.xlsx", "values", rows, strings)
    assert problems_of(read_values, path, PLAN, TOWNS) == [("not_a_number", 2, "B (gdp_growth)")]


def test_a_value_at_the_limit_is_kept(tmp_path: Path) -> None:
    rows = [["unit", "gdp_growth"], ["dianzi", 1e15], ["xiji", -1e15]]
    values = read_values(write_sheet(tmp_path / "values.xlsx", "values", rows), PLAN, TOWNS)
    assert values.matrix.tolist() == [[1e15], [-1e15]]


@pytest.mark.parametrize(
    ("count", "code"), [("1e309", "bad_count"), ("inf", "bad_count"), (100_000, "count_too_large")]
)
def test_event_counts_that_are_not_finite_or_absurd_are_refused(
    tmp_path: Path, count: object, code: str
) -> None:
    rows = [["unit", "event", "count"], ["dianzi", "report_late", count]]
    path = write_sheet(tmp_path / "events.xlsx", "events", rows)
    assert problems_of(read_events, path, UNITS) == [(code, 2, "C (count)")]


def test_grades_and_bonus_cells_of_infinity_or_nan_are_refused_naming_their_cell(
    tmp_path: Path,
) -> None:
    grades = [
        ["unit", "item", "period", "rater", "grade"],
        ["dianzi", "key_work", "Q1", "r", "nan"],
    ]
    path = write_sheet(tmp_path / "grades.xlsx", "grades", grades)
    assert problems_of(read_grades, path, PLAN, UNITS) == [("unknown_grade", 2, "E (grade)")]
    # A number cell holding infinity (only a hand-made file has one) as the approved flag.
    strings = ["unit", "title", "approved", "dianzi", "创新"]
    cells = "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABC"))
    rows = f'<row r="1">{cells}</row><row r="2"><c r="A2" t="s"><v>3</v></c>'
    rows += '<c r="B2" t="s"><v>4</v></c><c r="C2"><v>inf</v></c></row>'
    path = plain_workbook(tmp_path / "bonus.xlsx", "bonus", rows, strings)
    assert problems_of(read_bonus, path, UNITS) == [("bad_yes_no", 2, "C (approved)")]


# -- a column mixing percentages and plain numbers -------------------------------------------


def values_with_formats(path: Path, formats: dict[str, str]) -> Path:
    """Towns' gdp_growth in column B; cells named in `formats` get that number format."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "values"
    sheet.append(["unit", "gdp_growth", "pm25"])
    sheet.append(["dianzi", 0.075, 30.0])
    sheet.append(["xiji", 6.0, 28.0])
    for cell, number_format in formats.items():
        sheet[cell].number_format = number_format
    book.save(path)
    return path


def test_a_column_mixing_percent_cells_and_plain_numbers_warns_naming_the_cells(
    tmp_path: Path,
) -> None:
    path = values_with_formats(tmp_path / "values.xlsx", {"B2": "0.0%"})
    warnings: list[InputProblem] = []
    values = read_values(path, PLAN, TOWNS, warnings=warnings)
    assert values.matrix[:, 0].tolist() == [0.075, 6.0]  # still read as stored
    [warning] = warnings
    assert (warning.code, warning.column, warning.sheet) == (
        "mixed_percent",
        "B (gdp_growth)",
        "values",
    )
    assert warning.params["cells"] == ["B2"]
    assert (warning.params["example_cell"], warning.params["example"]) == ("B3", 6.0)
    line = format_problem(warning, "zh")
    assert "B2" in line and "7.5%" in line and "0.075" in line and "B3" in line
    assert "B2" in format_problem(warning, "en")


@pytest.mark.parametrize(
    "formats",
    [{}, {"B2": "0.0%", "B3": "0.00%"}, {"C2": "0.00"}, {"B2": '0.0" %"'}],
    ids=["plain", "all percent", "other format", "a quoted percent sign"],
)
def test_no_warning_without_a_mix(tmp_path: Path, formats: dict[str, str]) -> None:
    warnings: list[InputProblem] = []
    read_values(values_with_formats(tmp_path / "v.xlsx", formats), PLAN, TOWNS, warnings=warnings)
    assert warnings == []


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def sample(tmp_path: Path) -> SampleFiles:
    return write_sample(tmp_path / "sample")


def score_args(files: SampleFiles) -> list[str]:
    return [
        "score",
        "--plan", str(files.plan),
        "--units", str(files.units),
        "--values", str(files.values),
    ]  # fmt: skip


def set_values(files: SampleFiles, cells: dict[str, object], formats: dict[str, str]) -> None:
    book = openpyxl.load_workbook(files.values)
    sheet = next(s for s in book.worksheets if s.title in ("values", "指标值"))
    for cell, value in cells.items():
        sheet[cell] = value
    for cell, number_format in formats.items():
        sheet[cell].number_format = number_format
    book.save(files.values)


def header_row(files: SampleFiles) -> int:
    book = openpyxl.load_workbook(files.values, read_only=True)
    sheet = next(s for s in book.worksheets if s.title in ("values", "指标值"))
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if any(v is not None for v in row):
            return number
    raise AssertionError("no header")


def test_kaohe_score_json_refuses_1e308_with_status_2_naming_file_row_and_column(
    sample: SampleFiles,
) -> None:
    first = header_row(sample) + 1
    set_values(sample, {f"C{first}": 1e308, f"C{first + 1}": -1e308}, {})
    result = runner.invoke(app, [*score_args(sample), "--json"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for row in (first, first + 1):
        assert f"第 {row} 行 C 列" in result.stderr
    assert sample.values.name in result.stderr


def test_kaohe_score_prints_the_mixed_percent_warning_and_scores(sample: SampleFiles) -> None:
    first = header_row(sample) + 1
    set_values(sample, {f"C{first}": 0.075}, {f"C{first}": "0.0%"})
    result = runner.invoke(app, [*score_args(sample), "--json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # the results are still there, and clean JSON
    assert f"C{first}" in result.stderr and "百分比格式" in result.stderr
