"""`kaohe values|grades|bonus import`, `kaohe standings` and `kaohe report` end to end, on SQLite
and PostgreSQL: the standings from the database equal `kaohe score` on the same files."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from services.files.plan_file import load_plan_file
from services.files.reader import read_units
from services.sample_district import SampleFiles
from services.standings import export_year_workbooks
from storage.database import Database
from storage.models import IndicatorValue, ValueSet
from storage.unit_of_work import UnitOfWork
from tests.e2e.cli import kaohe_cli
from tests.e2e.test_full_year import build_year
from tests.fixtures_workbooks import write_workbook
from tests.texts import text_of


def flat(text: str) -> str:
    """Output without line breaks and repeated spaces (the terminal may wrap long lines)."""
    return "".join(text.split())


def year_of(files: SampleFiles) -> str:
    """The sample plan's year."""
    return str(load_plan_file(files.plan).year)


def import_sample(files: SampleFiles) -> None:
    """Import the sample's values, grades and bonus through the command line."""
    year = year_of(files)
    for kind, path in (("values", files.values), ("grades", files.grades), ("bonus", files.bonus)):
        result = kaohe_cli(kind, "import", str(path), "--year", year)
        assert result.exit_code == 0, result.output


def test_imported_files_give_the_same_standings_json_as_kaohe_score(
    sample: SampleFiles,
) -> None:
    import_sample(sample)
    from_db = kaohe_cli("standings", "--year", year_of(sample), "--json")
    assert from_db.exit_code == 0, from_db.output
    from_files = kaohe_cli(
        "score",
        "--plan", str(sample.plan),
        "--units", str(sample.units),
        "--values", str(sample.values),
        "--grades", str(sample.grades),
        "--bonus", str(sample.bonus),
        "--json",
    )  # fmt: skip
    assert from_files.exit_code == 0, from_files.output
    assert json.loads(from_db.stdout) == json.loads(from_files.stdout)


def test_second_values_import_is_version_two_and_says_what_it_replaced(
    sample: SampleFiles, kaohe: Database
) -> None:
    year = year_of(sample)
    first = kaohe_cli("values", "import", str(sample.values), "--year", year)
    assert "第1版" in flat(first.stdout)
    again = kaohe_cli("values", "import", str(sample.values), "--year", year)
    assert again.exit_code == 0, again.output
    assert "第2版" in flat(again.stdout)
    assert "取代第1版" in flat(again.stdout)
    assert "变动0个数值" in flat(again.stdout)
    with UnitOfWork(kaohe) as uow:
        assert uow.session.execute(select(func.count()).select_from(ValueSet)).scalar_one() == 2


def test_bad_values_workbook_stores_nothing_and_lists_every_problem(
    sample: SampleFiles, kaohe: Database, tmp_path: Path
) -> None:
    bad = write_workbook(
        tmp_path / "bad.xlsx",
        {"values": [["unit", "gdp_growth"], ["不存在镇", 1.0], [None, "N/A"]]},
    )
    result = kaohe_cli("values", "import", str(bad), "--year", year_of(sample))
    assert result.exit_code == 2
    assert "不存在镇" in result.output
    with UnitOfWork(kaohe) as uow:
        count = uow.session.execute(select(func.count()).select_from(IndicatorValue))
        assert count.scalar_one() == 0


def test_values_import_for_a_year_without_a_plan_is_refused(
    sample: SampleFiles,
) -> None:
    result = kaohe_cli("values", "import", str(sample.values), "--year", "2031")
    assert result.exit_code == 2
    assert "2031" in result.output


def test_standings_table_and_a_bad_as_of_date(sample: SampleFiles) -> None:
    import_sample(sample)
    table = kaohe_cli(
        "standings", "--year", year_of(sample), "--as-of", f"{year_of(sample)}-12-31"
    )
    assert table.exit_code == 0, table.output
    assert text_of("cli.ranking_title", group=text_of("cli.group_town"), year=2025) in table.output
    assert "截至" in table.output
    bad = kaohe_cli("standings", "--year", year_of(sample), "--as-of", "31/12/2025")
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output


def test_report_and_one_units_report_are_written(sample: SampleFiles, tmp_path: Path) -> None:
    import_sample(sample)
    year = year_of(sample)
    report = tmp_path / "report.xlsx"
    result = kaohe_cli("report", "--year", year, "-o", str(report))
    assert result.exit_code == 0, result.output
    unit = read_units(sample.units)[0]
    book = load_workbook(report, read_only=True)
    assert unit.name in book.sheetnames
    book.close()
    again = kaohe_cli("report", "--year", year, "-o", str(report))
    assert again.exit_code == 2  # never overwritten without --force

    mine = tmp_path / "unit.xlsx"
    result = kaohe_cli("report", "--year", year, "--unit", unit.code, "-o", str(mine))
    assert result.exit_code == 0, result.output
    book = load_workbook(mine)
    assert book.sheetnames[:2] == [text_of("year.ur_sheet_summary"), "发展成效"]
    summary = [c for row in book["考核结果"].iter_rows(values_only=True) for c in row if c]
    assert unit.name in summary
    alerts = {
        rule.text
        for ws in book.worksheets
        for rng in ws.conditional_formatting
        for rule in rng.rules
    }
    assert {
        text_of("year.finding_status_overdue"),
        text_of("year.task_status_behind"),
    } <= alerts  # overdue findings, tasks behind: red
    book.close()
    unknown = kaohe_cli(
        "report", "--year", year, "--unit", "nowhere", "-o", str(tmp_path / "x.xlsx")
    )
    assert unknown.exit_code == 2
    assert not (tmp_path / "x.xlsx").exists()


def test_full_year_standings_equal_kaohe_score_on_the_exported_workbooks(
    kaohe: Database, tmp_path: Path
) -> None:
    year = build_year(kaohe)
    from_db = kaohe_cli("standings", "--year", "2025", "--json")
    assert from_db.exit_code == 0, from_db.output
    files = export_year_workbooks(year.uow(), 2025, tmp_path / "export")
    from_files = kaohe_cli(
        "score",
        "--plan", str(files.plan),
        "--units", str(files.units),
        "--values", str(files.values),
        "--grades", str(files.grades),
        "--bonus", str(files.bonus),
        "--events", str(files.events),
        "--json",
    )  # fmt: skip
    assert from_files.exit_code == 0, from_files.output
    assert from_db.stdout == from_files.stdout
    deductions = {
        u["unit"]: u["deductions"]
        for g in json.loads(from_db.stdout)["groups"].values()
        for u in g
    }
    assert deductions["xiji"] > 0 and deductions["dianzi"] == 0
