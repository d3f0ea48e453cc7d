"""The half-year comprehensive supervision report (半年综合督导报告): per unit, the progress of
its target tasks, the findings of supervision and their rectification, and the good practices
(典型经验) to promote.

A half year is H1 (January–June) or H2 (July–December) of a plan year. The report is as of the
end of the half (in the plan's time zone), or now while the half is still running: a task's
status is that of its newest progress report by then; the findings are those found in the half,
and earlier ones of the year still not accepted at that moment (they are still the unit's
business); the good practices are those recorded in the half; the activities of the year's
supervision plan planned in the half are listed against those done, with their findings.
Every active unit has its place (a unit with nothing to report shows zeros); a deactivated unit
appears only if it has findings or good practices in the report.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from scoring.calendar import end_of_day, local_date
from services.access import Actor, Role, require_role
from services.files.report_content import ActivityLine, SupervisionUnit
from services.files.report_content import SupervisionReport as SupervisionReport
from services.files.supervision_report import write_supervision_workbook
from services.plans import plan_in_force
from services.practices import good_practices
from services.supervision_plan import activities_between
from services.unit_report import year_records
from storage.clock import as_utc
from storage.repositories.year_data import YearUnits
from storage.statuses import FindingStatus
from storage.unit_of_work import UnitOfWork

HALVES: tuple[int, ...] = (1, 2)


def half_of(day: date) -> int:
    """The half year (1 or 2) a day falls in."""
    return 1 if day.month <= 6 else 2


def half_days(year: int, half: int) -> tuple[date, date]:
    """The first and last day of a half year."""
    if half not in HALVES:
        raise ValueError(f"a half year is 1 or 2, not {half!r}")
    return (
        (date(year, 1, 1), date(year, 6, 30))
        if half == 1
        else (date(year, 7, 1), date(year, 12, 31))
    )


def supervision_report(uow: UnitOfWork, actor: Actor, year: int, half: int) -> SupervisionReport:
    """The comprehensive supervision report of a half year (coordinators, admins, leaders)."""
    require_role(actor, Role.COORDINATOR, Role.VIEWER)
    first, last = half_days(year, half)
    with uow:
        timezone = plan_in_force(uow, year).timezone  # NotFound("no_plan") without a plan
        now = as_utc(uow.now())
        unit_rows = uow.repository(YearUnits).rows(include_inactive=True)
        active = {r.code for r in uow.repository(YearUnits).rows()}
    start = end_of_day(first - timedelta(days=1), timezone)  # the half's first instant
    as_of = min(now, end_of_day(last, timezone))
    records = year_records(uow, year, as_of)
    practices = [
        p
        for p in good_practices(uow, actor, year)
        if start < p.recorded_at <= as_of and first <= local_date(p.recorded_at, timezone) <= last
    ]
    units = []
    for row in unit_rows:
        record = records.get(row.code)
        findings = tuple(
            f
            for f in (record.findings if record is not None else ())
            if first <= f.found_on <= last
            or (f.found_on < first and f.status != FindingStatus.ACCEPTED)
        )
        mine = tuple(p for p in practices if p.unit_code == row.code)
        if row.code not in active and not findings and not mine:
            continue
        units.append(
            SupervisionUnit(
                code=row.code,
                name=row.name,
                group=row.group,
                active=row.code in active,
                tasks=record.tasks if record is not None else (),
                findings=findings,
                practices=mine,
            )
        )
    activities = tuple(
        ActivityLine(
            planned_on=a.planned_on,
            kind=a.kind.value,
            focus=a.focus,
            units=tuple(name for _, name in a.units),
            done_on=a.done_on,
            findings=tuple((f.unit_name, f.description, f.status) for f in a.findings),
        )
        for a in activities_between(uow, first, last)
    )
    return SupervisionReport(
        year=year,
        half=half,
        first_day=first,
        last_day=last,
        as_of=as_of,
        generated_at=now,
        timezone=timezone,
        units=tuple(units),
        activities=activities,
    )


def write_supervision_report(
    uow: UnitOfWork,
    actor: Actor,
    year: int,
    half: int,
    path: Path,
    language: str | None = None,
) -> SupervisionReport:
    """Write the half year's comprehensive supervision report workbook to `path`."""
    report = supervision_report(uow, actor, year, half)
    write_supervision_workbook(report, Path(path), language)
    return report


@dataclass(frozen=True)
class SupervisionWorkbook:
    """The half year's report workbook as bytes, and the report it was written from."""

    content: bytes
    report: SupervisionReport


def supervision_report_bytes(
    uow: UnitOfWork, actor: Actor, year: int, half: int, language: str | None = None
) -> SupervisionWorkbook:
    """The half year's report workbook (as /supervision_report sends it) as bytes; the writer's
    temporary folder is gone when this returns (slow: call it off the loop)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-supervision-") as folder:
        path = Path(folder) / "supervision.xlsx"
        report = write_supervision_report(uow, actor, year, half, path, language)
        return SupervisionWorkbook(path.read_bytes(), report)
