"""Reports from the database: the year's report workbook with a sheet per unit, and one unit's
assessment report (考核评价报告) — its result, rank, tier, every explanation, its tasks,
monthly reports, findings and rectifications.

The records are read in a few bulk queries for the whole year (tasks, the newest progress of
each task, findings, rectifications, the month facts), then grouped by unit. As of a moment,
only what was recorded by then is shown, and a finding's status is the one it had then.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scoring import Group, Standings
from scoring.calendar import MonthState
from services.errors import NotFound
from services.files.report import ReportSheet, write_report
from services.files.report_content import (
    FindingLine,
    MonthLine,
    RectificationLine,
    TaskLine,
    UnitRecords,
)
from services.files.report_content import (
    UnitDossier as UnitDossier,
)
from services.files.unit_report import write_unit_workbook
from services.findings import false_report_facts, finding_facts
from services.plans import plan_in_force
from services.reports import month_report_facts
from services.standings import compute_standings
from storage.clock import as_utc
from storage.repositories.findings import Findings
from storage.repositories.tasks import Tasks
from storage.repositories.year_data import TaskProgress, YearUnits
from storage.statuses import FindingStatus, RectificationDecision
from storage.unit_of_work import UnitOfWork
from templates.catalog import normalise_language, render


def year_records(
    uow: UnitOfWork, year: int, as_of: datetime | None = None, unit: str | None = None
) -> dict[str, UnitRecords]:
    """Every unit's records of `year` (or one unit's, by code), as of `as_of` (now if None)."""
    with uow:
        plan = plan_in_force(uow, year)
        at = as_utc(as_of) if as_of is not None else as_utc(uow.now())
        units = {r.id: r for r in uow.repository(YearUnits).rows(include_inactive=True)}
        only = next((r.id for r in units.values() if r.code == unit), None)
        if unit is not None and only is None:
            raise NotFound("unknown_unit", unit=unit)
        items = {i.code: i.name for i in plan.work.items}

        tasks: dict[int, list[TaskLine]] = defaultdict(list)
        progress = uow.repository(TaskProgress).latest(year, at, only)
        files = uow.repository(TaskProgress).evidence_counts(year, at, only)
        for row in uow.repository(Tasks).of_year(year):
            if (only is not None and row.unit_id != only) or as_utc(row.created_at) > at:
                continue
            latest = progress.get(row.id)
            tasks[row.unit_id].append(
                TaskLine(
                    code=row.code,
                    title=row.title,
                    source_document=row.source_document,
                    target=row.target,
                    due_date=row.due_date,
                    work_item=items.get(row.work_item, row.work_item),
                    month=latest[1] if latest else None,
                    status=latest[3] if latest else None,
                    figure=latest[4] if latest else "",
                    note=latest[5] if latest else "",
                    files=files.get((row.id, latest[1], latest[2]), 0) if latest else 0,
                )
            )

        months: dict[int, list[MonthLine]] = defaultdict(list)
        firsts = uow.repository(TaskProgress).first_submissions(year)
        for fact in month_report_facts(uow, year, at):
            if only is None or fact.unit_id == only:
                submitted = firsts.get((fact.unit_id, fact.month))
                if fact.state is MonthState.MISSING or (submitted and submitted > at):
                    submitted = None
                months[fact.unit_id].append(
                    MonthLine(fact.month, fact.state.value, fact.due_at, submitted)
                )

        findings = _findings(uow, year, at, only)
        false_reports: dict[int, int] = defaultdict(int)
        for false_report in false_report_facts(uow, year, at):
            false_reports[false_report.unit_id] += 1

    wanted = [only] if only is not None else list(units)
    return {
        units[uid].code: UnitRecords(
            unit=units[uid].code,
            tasks=tuple(tasks.get(uid, ())),
            months=tuple(sorted(months.get(uid, ()), key=lambda m: m.month)),
            findings=tuple(findings.get(uid, ())),
            false_reports=false_reports.get(uid, 0),
        )
        for uid in wanted
    }


def _findings(
    uow: UnitOfWork, year: int, at: datetime, only: int | None
) -> dict[int, list[FindingLine]]:
    """The findings recorded by `at`, grouped by unit id, with their status as of `at`."""
    repo = uow.repository(Findings)
    rows = [r for r in repo.of_year(year, only) if as_utc(r.created_at) <= at]
    facts = finding_facts(uow, year, at)
    overdue = {f.finding_id for f in facts if f.rectification_overdue}
    deadline_end = {f.finding_id: f.deadline_end for f in facts}
    submissions = repo.rectifications_of([r.id for r in rows])
    out: dict[int, list[FindingLine]] = defaultdict(list)
    for row in rows:
        lines = []
        for r in submissions[row.id]:
            submitted = as_utc(r.submitted_at)
            if submitted > at:
                continue
            decided = r.decided_at is not None and as_utc(r.decided_at) <= at
            lines.append(
                RectificationLine(
                    submitted_at=submitted,
                    text=r.text,
                    on_time=submitted < deadline_end.get(row.id, submitted),
                    decision=r.decision if decided else None,
                    reason=r.reason if decided else None,
                    decided_at=as_utc(r.decided_at) if decided and r.decided_at else None,
                )
            )
        out[row.unit_id].append(
            FindingLine(
                id=row.id,
                description=row.description,
                source=row.source,
                found_on=row.found_at,
                deadline=row.deadline,
                status=_status(lines, row.id in overdue),
                rectifications=tuple(lines),
            )
        )
    return out


def _status(rectifications: Sequence[RectificationLine], overdue: bool) -> FindingStatus:
    """A finding's status from its rectifications as of the report."""
    if any(r.decision == RectificationDecision.ACCEPTED for r in rectifications):
        return FindingStatus.ACCEPTED
    if overdue:
        return FindingStatus.OVERDUE
    if not rectifications:
        return FindingStatus.OPEN
    if rectifications[-1].decision == RectificationDecision.RETURNED:
        return FindingStatus.RETURNED
    return FindingStatus.SUBMITTED


def _find_unit(standings: Standings, unit: str) -> str:
    """The code of the unit whose code or name is `unit`."""
    key = unit.strip()
    for u in standings.units:
        if key in (u.code, u.name):
            return u.code
    raise NotFound("unknown_unit", unit=unit)


def unit_dossier(
    uow: UnitOfWork, year: int, unit: str, as_of: datetime | None = None
) -> UnitDossier:
    """One unit's assessment report: its explained result and its records (unit by code or
    name; only active units are scored)."""
    standings = compute_standings(uow, year, as_of)
    code = _find_unit(standings, unit)
    records = year_records(uow, year, as_of, code)[code]
    return UnitDossier(
        plan=standings.plan,
        explanation=standings.explain(code),
        records=records,
        as_of=as_utc(as_of) if as_of is not None else None,
        generated_at=as_utc(uow.now()),
    )


def write_unit_report(
    uow: UnitOfWork,
    year: int,
    unit: str,
    path: Path,
    language: str | None = None,
    as_of: datetime | None = None,
) -> UnitDossier:
    """Write one unit's assessment report workbook to `path`."""
    dossier = unit_dossier(uow, year, unit, as_of)
    write_unit_workbook(dossier, Path(path), normalise_language(language))
    return dossier


@dataclass(frozen=True)
class UnitReportFile:
    """One unit's assessment report workbook as bytes, and the dossier it was written from."""

    content: bytes
    dossier: UnitDossier


def unit_report_bytes(
    uow: UnitOfWork, year: int, unit: str, language: str | None, as_of: datetime | None = None
) -> UnitReportFile:
    """One unit's assessment report workbook (as /publish sends it to the unit's liaisons) as
    bytes; the writer's temporary folder is gone when this returns (slow: call it off the loop)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-unit-report-") as folder:
        path = Path(folder) / "report.xlsx"
        dossier = write_unit_report(uow, year, unit, path, language, as_of)
        return UnitReportFile(path.read_bytes(), dossier)


# ---------------------------------------------------------------------------------------------
# The year's report workbook


def write_year_report(
    uow: UnitOfWork,
    year: int,
    path: Path,
    language: str | None = None,
    as_of: datetime | None = None,
) -> Standings:
    """Write the year's report workbook (rankings, indicators, work, bonus) with a sheet per
    unit of its tasks, findings and rectification status."""
    lang = normalise_language(language)
    standings = compute_standings(uow, year, as_of)
    records = year_records(uow, year, as_of)
    sheets = [
        unit_sheet(result.name, records[result.code], lang)
        for group in Group
        for result in standings.group(group)
        if result.code in records
    ]
    write_report(standings, Path(path), lang, extra_sheets=sheets)
    return standings


@dataclass(frozen=True)
class YearReport:
    """The year's report workbook as bytes, and the time zone of the plan it was computed by."""

    content: bytes
    timezone: str


def year_report_bytes(
    uow: UnitOfWork, year: int, language: str | None = None, as_of: datetime | None = None
) -> YearReport:
    """The year's report workbook (as /export sends it, the dashboard downloads it and an
    approver receives a draft result, as of its moment), as bytes; the writer's temporary
    folder is gone when this returns (slow: call it off the loop)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-report-") as folder:
        path = Path(folder) / "report.xlsx"
        standings = write_year_report(uow, year, path, language, as_of)
        return YearReport(path.read_bytes(), standings.plan.timezone)


def _t(key: str, lang: str, **params: Any) -> str:
    return render(f"year.{key}", lang, **params)


def unit_sheet(name: str, records: UnitRecords, lang: str) -> ReportSheet:
    """A unit's sheet of the year's report: its tasks, then its findings and rectification."""
    headers = [
        _t(f"col_{c}", lang)
        for c in (
            "kind",
            "number",
            "content",
            "basis",
            "target",
            "found_on",
            "deadline",
            "status",
            "progress",
        )
    ]
    rows: list[list[object]] = []
    for task in records.tasks:
        rows.append(
            [
                _t("kind_task", lang),
                task.code,
                task.title,
                task.source_document,
                task.target,
                None,
                task.due_date,
                _t(f"task_status_{task.status}", lang) if task.status else _t("no_progress", lang),
                task_progress_text(task, lang),
            ]
        )
    for finding in records.findings:
        rows.append(
            [
                _t("kind_finding", lang),
                f"#{finding.id}",
                finding.description,
                _t(f"source_{finding.source}", lang),
                None,
                finding.found_on,
                finding.deadline,
                _t(f"finding_status_{finding.status}", lang),
                rectification_text(finding, lang),
            ]
        )
    if not rows:
        rows.append([_t("nothing_recorded", lang)])
    # Overdue findings and tasks behind schedule show red, as in /tasks and /matrix.
    alerts = (_t("finding_status_overdue", lang), _t("task_status_behind", lang))
    return ReportSheet(name, headers, rows, [10, 10, 40, 22, 22, 12, 12, 12, 44], alerts)


def task_progress_text(task: TaskLine, lang: str) -> str:
    """The newest progress of a task in a few words."""
    if task.month is None:
        return ""
    return _t("task_progress", lang, month=task.month, figure=task.figure, note=task.note)


def rectification_text(finding: FindingLine, lang: str) -> str:
    """A finding's rectification in a few words: how many submissions, the last decision."""
    if not finding.rectifications:
        return _t("no_rectification", lang)
    last = finding.rectifications[-1]
    return _t(
        "rectification_summary",
        lang,
        count=len(finding.rectifications),
        decision=_t(f"decision_{last.decision or 'pending'}", lang),
        reason=last.reason or "",
    )
