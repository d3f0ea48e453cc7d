"""A whole assessment year through the services, on SQLite and PostgreSQL: units, tasks, twelve
months of reports (some late, some missing, every month closed), findings with rectifications
(accepted, returned, overdue), a false report, grades, bonus and values; the standings from the
database equal those of `kaohe score` on the same data exported to workbooks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from scoring import EventKind
from services.file_scoring import ScoringFiles, score_files
from services.standings import compute_standings, export_year_workbooks
from services.unit_report import unit_dossier, write_unit_report, write_year_report
from storage.database import open_database
from storage.models import Base
from tests.e2e.year import (
    SHANGHAI,
    UNITS,
    YEAR,
    Year,
    build_year,
)
from tests.texts import text_of


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def year(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Year]:
    """The whole year, stored once per backend; the tests only read it."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("year") / "kaohe.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        database = open_database(f"sqlite:///{path}")
    else:
        database = open_database(request.getfixturevalue("postgres_url"))
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield build_year(database)
    database.dispose()


def events_of(year: Year, code: str, as_of: datetime | None = None) -> dict[str, int]:
    """A unit's event counts in the standings (as of a moment)."""
    standings = compute_standings(year.uow(), YEAR, as_of)
    row = [u.code for u in standings.units].index(code)
    counts = standings.work.event_counts[row]
    return {kind.value: int(counts[k]) for k, kind in enumerate(EventKind) if counts[k]}


def test_events_are_derived_from_the_stored_reports_and_findings(year: Year) -> None:
    assert events_of(year, "dianzi") == {}
    assert events_of(year, "xiji") == {"report_late": 2, "rectification_overdue": 1}
    assert events_of(year, "shuiquan") == {"report_missing": 1, "false_report": 1}
    assert events_of(year, "devzone") == {"rectification_overdue": 1}
    assert events_of(year, "finance") == {"report_missing": 1}


def test_events_count_only_after_their_dates(year: Year) -> None:
    end_of_april = datetime(2025, 5, 1, tzinfo=SHANGHAI)
    assert events_of(year, "xiji", end_of_april) == {"report_late": 1}
    after_deadline = datetime(2025, 5, 11, tzinfo=SHANGHAI)
    assert events_of(year, "xiji", after_deadline) == {
        "report_late": 1,
        "rectification_overdue": 1,
    }
    assert events_of(year, "devzone", after_deadline) == {"rectification_overdue": 1}
    assert events_of(year, "shuiquan", datetime(2025, 6, 30, tzinfo=SHANGHAI)) == {
        "report_missing": 1
    }


def test_standings_from_the_database_equal_kaohe_score_on_the_exported_workbooks(
    year: Year, tmp_path: Path
) -> None:
    standings = compute_standings(year.uow(), YEAR)
    files = export_year_workbooks(year.uow(), YEAR, tmp_path / "export")
    from_files = score_files(
        ScoringFiles(
            files.plan, files.units, files.values, files.grades, files.bonus, files.events
        )
    )
    assert json.dumps(from_files.to_json()) == json.dumps(standings.to_json())
    town = standings.explain("xiji")
    assert {i.code: i.value for i in town.indicators}["pm25"] == 41.2  # version 2 in force
    assert standings.result("dianzi").bonus == 20
    assert standings.result("xiji").bonus == 10
    assert standings.result("devzone").bonus == 0


def test_standings_as_of_a_past_day_equal_kaohe_score_on_that_days_export(
    year: Year, tmp_path: Path
) -> None:
    as_of = datetime(2025, 12, 21, tzinfo=SHANGHAI)  # grades in, not re-graded, no values
    standings = compute_standings(year.uow(), YEAR, as_of)
    files = export_year_workbooks(year.uow(), YEAR, tmp_path / "export", as_of)
    from_files = score_files(
        ScoringFiles(
            files.plan, files.units, files.values, files.grades, files.bonus, files.events
        )
    )
    assert json.dumps(from_files.to_json()) == json.dumps(standings.to_json())
    assert standings.result("dianzi").development == 0  # values came in 2026
    assert standings.result("dianzi").bonus == 0


def test_unit_report_explains_the_result_and_lists_the_records(year: Year, tmp_path: Path) -> None:
    dossier = unit_dossier(year.uow(), YEAR, "西集镇")
    assert dossier.explanation.result.code == "xiji"
    records = dossier.records
    assert [t.code for t in records.tasks] == ["T1"]
    assert records.tasks[0].month == 12
    assert [m.state for m in records.months if m.state != "on_time"] == ["late", "late"]
    assert len(records.months) == 12
    [finding] = records.findings
    assert finding.status == "overdue"
    assert finding.rectifications[0].decision == "returned"
    path = tmp_path / "xiji.xlsx"
    write_unit_report(year.uow(), YEAR, "xiji", path, "zh")
    assert path.stat().st_size > 5000


def test_year_report_has_a_sheet_per_unit(year: Year, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "report.xlsx"
    write_year_report(year.uow(), YEAR, path, "zh")
    book = openpyxl.load_workbook(path, read_only=True)
    names = book.sheetnames
    for unit in UNITS:
        assert unit.name in names
    sheet = book["区财政局"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == text_of("year.col_kind")
    kinds = [r[0] for r in rows[1:]]
    assert kinds == [text_of("year.kind_task"), text_of("year.kind_finding")]
    book.close()
