"""A whole assessment year through the services, on SQLite and PostgreSQL: units, tasks, twelve
months of reports (some late, some missing, every month closed), findings with rectifications
(accepted, returned, overdue), a false report, grades, bonus and values; the standings from the
database equal those of `kaohe score` on the same data exported to workbooks."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import text

from scoring import BonusItem, EventKind, Grade, GradeRecord, Group, IndicatorValues, Unit
from services.access import Actor, Role
from services.file_scoring import ScoringFiles, score_files
from services.files.plan_file import default_plan_text
from services.findings import (
    accept_rectification,
    confirm_false_report,
    record_finding,
    return_rectification,
    submit_rectification,
)
from services.people import register_units
from services.plans import load_plan
from services.reports import ReportEntryInput, close_month, submit_report
from services.standings import compute_standings, export_year_workbooks
from services.tasks import TaskInput, import_tasks
from services.unit_report import unit_dossier, write_unit_report, write_year_report
from services.year_data import (
    add_bonus,
    decide_bonus,
    import_bonus,
    import_grades,
    import_values,
    record_grade,
)
from storage.clock import FixedClock
from storage.database import Database, open_database
from storage.models import Base
from storage.repositories.year_data import YearUnits
from storage.unit_of_work import UnitOfWork
from tests.texts import text_of

YEAR = 2025
SHANGHAI = ZoneInfo("Asia/Shanghai")
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局")
RATER = Actor(person_id=None, role=Role.RATER, name="统计局")
UNITS = [
    Unit("dianzi", "店子镇", Group.TOWN),
    Unit("xiji", "西集镇", Group.TOWN),
    Unit("shuiquan", "水泉镇", Group.TOWN),
    Unit("devzone", "山亭经济开发区", Group.ZONE_OR_DEPARTMENT),
    Unit("finance", "区财政局", Group.ZONE_OR_DEPARTMENT),
]
# (unit, month) -> day of the next month the report comes in (due on day 5); None: missing.
LATE = {("xiji", 3): 8, ("xiji", 7): 9}
MISSING = {("shuiquan", 5), ("finance", 9)}
INDICATORS = ["gdp_growth", "general_budget_revenue", "energy_intensity", "pm25"]
UOW = Callable[[], UnitOfWork]


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment in Shanghai."""
    return datetime(year, month, day, hour, 0, tzinfo=SHANGHAI)


def liaison(unit_id: int) -> Actor:
    """The liaison of a unit."""
    return Actor(person_id=None, role=Role.LIAISON, unit_id=unit_id, name=f"联络员{unit_id}")


@dataclass(frozen=True)
class Year:
    """The stored year: its database, the clock standing after it, the units' ids."""

    database: Database
    clock: FixedClock
    ids: dict[str, int]

    def uow(self) -> UnitOfWork:
        """A unit of work on the year's database."""
        return UnitOfWork(self.database, self.clock)


def build_year(database: Database) -> Year:
    """Run the whole year through the services, moving the clock as it goes."""
    clock = FixedClock(at(2025, 1, 2))

    def uow() -> UnitOfWork:
        return UnitOfWork(database, clock)

    load_plan(uow(), COORDINATOR, default_plan_text(YEAR), "plan-2025.yaml")
    register_units(uow(), COORDINATOR, UNITS)
    with uow() as u:
        ids = {r.code: r.id for r in u.repository(YearUnits).rows()}
    tasks = [
        TaskInput(
            unit.code,
            "T1",
            f"{unit.name}重点任务",
            "区政府文件",
            "年底完成",
            date(2025, 12, 31),
            "key_work",
        )
        for unit in UNITS
    ]
    tasks.append(TaskInput("dianzi", "T2", "信息报送", "", "每月报送", None, "basic_work"))
    import_tasks(uow(), COORDINATOR, YEAR, tasks)
    with uow() as u:
        from storage.repositories.tasks import Tasks

        task_of = {(r.unit_id, r.code): r.id for r in u.repository(Tasks).of_year(YEAR)}

    for month in range(1, 13):
        next_year, next_month = (YEAR + month // 12, month % 12 + 1)
        arrivals = []
        for unit in UNITS:
            if (unit.code, month) in MISSING:
                continue
            day = LATE.get((unit.code, month), 3)
            arrivals.append((day, unit.code))
        for day, code in sorted(arrivals):
            clock.set(at(next_year, next_month, day))
            uid = ids[code]
            entries = [ReportEntryInput(task_of[uid, "T1"], "on_track", f"{month * 8}%")]
            submit_report(uow(), liaison(uid), uid, YEAR, month, entries)
        if month == 2:  # a correction, later in the month: a second version, still on time
            clock.set(at(2025, 3, 20))
            uid = ids["dianzi"]
            entries = [ReportEntryInput(task_of[uid, "T1"], "behind", "12%", "更正")]
            submit_report(uow(), liaison(uid), uid, YEAR, 2, entries)
        clock.set(at(next_year, next_month, 10))
        close_month(uow(), COORDINATOR, YEAR, month)

        if month == 3:
            _findings(uow, clock, ids)
        if month == 8:
            clock.set(at(2025, 9, 15))
            confirm_false_report(uow(), COORDINATOR, ids["shuiquan"], YEAR, "上报数据与台账不符")

    _grades_bonus_values(uow, clock, ids)
    clock.set(at(2026, 1, 20))
    return Year(database, clock, ids)


def _findings(uow: UOW, clock: FixedClock, ids: dict[str, int]) -> None:
    """Four findings: accepted, returned (then overdue), never rectified (overdue), and one
    rectified in time but not yet reviewed (not overdue)."""
    clock.set(at(2025, 4, 12))
    found, deadline = date(2025, 4, 10), date(2025, 5, 10)
    f1 = record_finding(
        uow(), COORDINATOR, ids["dianzi"], "台账不全", "on_site_inspection", found, deadline
    )
    f2 = record_finding(
        uow(), COORDINATOR, ids["xiji"], "项目进度滞后", "dispatch_meeting", found, deadline
    )
    record_finding(uow(), COORDINATOR, ids["devzone"], "政策未落实", "visit", found, deadline)
    f4 = record_finding(
        uow(),
        COORDINATOR,
        ids["finance"],
        "资金拨付慢",
        "ledger_monitoring",
        found,
        date(2025, 10, 31),
    )
    clock.set(at(2025, 5, 1))
    r1 = submit_rectification(uow(), liaison(ids["dianzi"]), f1.id, "已补齐台账")
    r2 = submit_rectification(uow(), liaison(ids["xiji"]), f2.id, "已加快进度")
    submit_rectification(uow(), liaison(ids["finance"]), f4.id, "已拨付")
    clock.set(at(2025, 5, 3))
    accept_rectification(uow(), COORDINATOR, r1.rectification_id)
    return_rectification(uow(), COORDINATOR, r2.rectification_id, "缺少佐证材料")


def _grades_bonus_values(uow: UOW, clock: FixedClock, ids: dict[str, int]) -> None:
    """Quarterly and year-end grades (one re-graded), bonus items, two versions of values."""
    clock.set(at(2025, 12, 20))
    cycle = [Grade.EXCELLENT, Grade.GOOD, Grade.FAIR, Grade.GOOD, Grade.POOR, Grade.GOOD]
    grades = []
    for k, unit in enumerate(UNITS):
        for item in ("key_work", "basic_work"):
            for q, period in enumerate(("Q1", "Q2", "Q3", "Q4")):
                grades.append(GradeRecord(unit.code, item, period, "发改局", cycle[(k + q) % 6]))
            for r, rater in enumerate(("财政局", "人社局", "统计局")):
                grades.append(GradeRecord(unit.code, item, "year", rater, cycle[(k + r) % 6]))
    import_grades(uow(), COORDINATOR, YEAR, grades, "grades.xlsx")
    clock.set(at(2025, 12, 22))
    record_grade(uow(), RATER, YEAR, ids["xiji"], "key_work", "year", Grade.EXCELLENT)

    clock.set(at(2025, 12, 28))
    import_bonus(
        uow(),
        COORDINATOR,
        YEAR,
        [
            BonusItem("dianzi", "省级创新试点", True, "省发改委文件"),
            BonusItem("dianzi", "产业集群", True),
            BonusItem("xiji", "政策创新", False, "待核"),
            BonusItem("finance", "争取重大政策", True),
        ],
        "bonus.xlsx",
    )
    pending = add_bonus(uow(), COORDINATOR, YEAR, ids["devzone"], "招商引资", "材料")
    decide_bonus(uow(), COORDINATOR, pending.id, approve=False)
    with uow() as u:
        from storage.repositories.year_data import Bonuses

        xiji_item = next(
            b.id for b in u.repository(Bonuses).of_year(YEAR) if b.title == "政策创新"
        )
    decide_bonus(uow(), COORDINATOR, xiji_item, approve=True)

    clock.set(at(2026, 1, 15))
    matrix = np.array(
        [[7.5, 12.25, 0.45, 38.0], [6.1, 9.5, 0.52, np.nan], [8.3, 15.0, 0.39, 35.5]]
    )
    towns = ("dianzi", "xiji", "shuiquan")
    import_values(
        uow(),
        COORDINATOR,
        YEAR,
        IndicatorValues(towns, tuple(INDICATORS), matrix),
        "values-v1.xlsx",
    )
    clock.set(at(2026, 1, 16))
    corrected = matrix.copy()
    corrected[1, 3] = 41.2
    import_values(
        uow(),
        COORDINATOR,
        YEAR,
        IndicatorValues(towns, tuple(INDICATORS), corrected),
        "values-v2.xlsx",
    )


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
