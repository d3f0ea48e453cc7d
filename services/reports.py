"""Monthly progress reports (月跟踪): submit and correct, look back, close a month, and the
on-time / late / missing facts that scoring derives its events from.

Rules and decisions:

- The report of month M may be submitted from the first day of M (in the plan's time zone); it
  is due at the end of day `schedule.monthly_report_due_day` of M+1, or of the unit's granted
  extension. A report submitted at or after that instant is accepted and marked late.
- A second submission for the same unit and month is a correction: a new version; the earlier
  versions are kept unchanged. Whether the month counts as on time for scoring is decided by the
  FIRST version only: a unit that reported on time and corrected later is not late, and a late
  unit cannot become on time by correcting.
- Closing a month (coordinators) is allowed once every deadline of the units still without a
  report has passed (extensions included), and only once per month. Units expected to report
  (active units with a task of the year) that have no report at that moment are missing; the
  closure is a snapshot, so a report that arrives after it is stored (late) but the month stays
  missing for that unit.
- `month_report_facts` gives, as of any moment, one fact per unit and month whose deadline has
  passed: on_time / late from the first version submitted by then, missing for months closed by
  then. A unit past its deadline without a report in a month not yet closed yields no fact (no
  event yet); `report_status` shows it as `overdue`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from scoring import Plan
from scoring.calendar import (
    MonthState,
    YearMonth,
    end_of_day,
    local_date,
    month_is_open,
    month_state,
    report_deadline,
    report_due_at,
    report_due_date,
    report_months,
    report_window,
)
from services.access import Actor, Role, require_own_unit, require_role
from services.errors import Invalid, NotFound
from services.evidence import EvidenceFile, evidence_files_in
from services.plans import parsed_plan, plan_in_force, plan_in_force_or_none, require_year_open
from services.tasks import TaskView, require_unit_view
from storage.clock import as_utc
from storage.models import MonthClosure
from storage.repositories.reports import (
    EntryRow,
    FirstReport,
    Reports,
    UnitBrief,
    UnitYear,
    VersionRow,
)
from storage.repositories.tasks import Tasks
from storage.statuses import EntryStatus
from storage.unit_of_work import UnitOfWork

ENTRY_STATUSES: tuple[EntryStatus, ...] = tuple(EntryStatus)
MAX_FIGURE = 100


@dataclass(frozen=True)
class ReportEntryInput:
    """The progress of one task: status, a percent or key figure (may be empty), a note."""

    task_id: int
    status: str
    figure: str = ""
    note: str = ""


@dataclass(frozen=True)
class ReportReceipt:
    """What the submitter is given back: a unique receipt number and the submission time."""

    receipt: str
    report_id: int
    unit_id: int
    year: int
    month: int
    version: int
    submitted_at: datetime
    due_at: datetime
    on_time: bool  # this version
    counts_on_time: bool  # the month, for scoring: the first version's on_time

    @property
    def correction(self) -> bool:
        """Whether this submission corrected an earlier version."""
        return self.version > 1


@dataclass(frozen=True)
class ReportEntryView:
    """One task's entry of a stored report version."""

    task_id: int
    task_code: str
    task_title: str
    status: EntryStatus
    figure: str
    note: str
    files: tuple[int, ...] = ()  # the evidence sent for this task


@dataclass(frozen=True)
class ReportVersionView:
    """One stored version of a unit's report for a month."""

    report_id: int
    unit_id: int
    year: int
    month: int
    version: int
    receipt: str
    submitted_at: datetime
    submitted_by: int | None
    due_at: datetime
    on_time: bool
    entries: tuple[ReportEntryView, ...]
    evidence_ids: tuple[int, ...]  # every file of the version, each once
    # Files of the whole report, not of one task (versions stored before files kept their task).
    report_files: tuple[int, ...] = field(default=())

    @property
    def file_count(self) -> int:
        """The files of the version as the liaison sent them: per task (a file sent for two
        tasks counts for each), plus the files of the whole report."""
        return sum(len(e.files) for e in self.entries) + len(self.report_files)


@dataclass(frozen=True)
class UnitRef:
    """A unit named in a result."""

    unit_id: int
    code: str
    name: str


@dataclass(frozen=True)
class ClosedMonth:
    """A month just closed and the units found missing."""

    year: int
    month: int
    closed_at: datetime
    missing: tuple[UnitRef, ...]


@dataclass(frozen=True)
class UnitReportStatus:
    """One unit's standing with one month's report, now (the coordinators' matrix)."""

    unit_id: int
    unit_code: str
    unit_name: str
    group: str
    year: int
    month: int
    state: MonthState
    due_at: datetime
    due_on: date  # the deadline day (the last day on time), extension included
    first_submitted_at: datetime | None
    latest_version: int  # 0: nothing submitted
    latest_receipt: str | None


class UnitMonthFact(NamedTuple):
    """A settled fact of one unit and month: reported on time, late, or missing.

    An immutable tuple rather than a frozen dataclass: a year of 2,000 units makes 24,000 of
    them for every standings computation, and tuples are made three times faster.
    """

    unit_id: int
    unit_code: str
    year: int
    month: int
    state: MonthState  # ON_TIME, LATE or MISSING only
    due_at: datetime  # the unit's deadline for the month, extension included


# ---------------------------------------------------------------------------------------------
# Submitting


def submit_report(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    year: int,
    month: int,
    entries: Sequence[ReportEntryInput],
    evidence_ids: Sequence[int] = (),
    task_evidence: Mapping[int, Sequence[int]] | None = None,
) -> ReportReceipt:
    """Store a unit's report for a month (its liaison, or a manager on its behalf); a second
    submission is a correction (a new version). `task_evidence` gives each task's files (task
    id -> evidence ids; one file may prove several tasks), `evidence_ids` files of the whole
    report."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    require_own_unit(actor, unit_id)
    _check_month(month)
    cleaned = _check_entries(entries)
    links: list[tuple[int | None, int]] = [
        (task_id, evidence_id)
        for task_id, ids in (task_evidence or {}).items()
        for evidence_id in dict.fromkeys(ids)
    ]
    links += [(None, evidence_id) for evidence_id in dict.fromkeys(evidence_ids)]
    evidence = list(dict.fromkeys(evidence_id for _, evidence_id in links))
    reported = {entry.task_id for entry in cleaned}
    for task_id in task_evidence or {}:
        if task_id not in reported:
            raise Invalid("report_evidence_task_not_reported", task=task_id)
    with uow:
        # Plain Core statements throughout (no ORM objects, no flushes): the deadline day has
        # every liaison of a district submitting at once (bench/bench_storage.py, goal 4).
        # Two reads (on PostgreSQL each a round trip, which the deadline day pays thousands of
        # times): the unit locked with the plan, then the rest once the lock is held (versions
        # committed by another submission of the unit while this one waited are seen).
        reports = uow.repository(Reports)
        head = reports.lock_for_submission(unit_id, year)
        if head is None:
            raise NotFound("unknown_unit", unit=unit_id)
        unit_code = head.unit_code
        state = reports.submission_state(unit_id, year, month, evidence)
        if state.year_closed:
            raise Invalid("year_closed", year=year)  # as require_year_open
        if head.plan_text is None or head.plan_version is None:
            raise NotFound("no_plan", year=year)  # as plan_in_force
        plan = parsed_plan(head.plan_text, year, head.plan_version)
        now = as_utc(uow.now())
        opens = date(year, month, 1)
        if local_date(now, plan.timezone) < opens:
            raise Invalid("report_month_not_open", year=year, month=month, opens=opens)
        codes = state.task_codes
        for entry in cleaned:
            if entry.task_id not in codes:  # no such task, or another unit's, or another year's
                raise Invalid(
                    "report_task_not_of_unit", task=entry.task_id, unit=unit_code, year=year
                )
        if state.evidence_found != len(evidence):  # which ones, read only to say so
            found = reports.existing_evidence(evidence)
            raise NotFound(
                "report_evidence_not_found", ids=[i for i in evidence if i not in found]
            )

        due = report_due_at(
            year, month, plan.schedule.monthly_report_due_day, plan.timezone, state.extension
        )
        previous = state.versions
        version = previous + 1
        on_time = now < due
        receipt = receipt_number(unit_id, year, month, version)
        report_id = reports.insert(
            {
                "unit_id": unit_id,
                "year": year,
                "month": month,
                "version": version,
                "submitted_by": actor.person_id,
                "submitted_at": now,
                "due_at": due,
                "on_time": on_time,
                "receipt": receipt,
            }
        )
        reports.insert_entries(
            [
                {
                    "report_id": report_id,
                    "task_id": entry.task_id,
                    "status": entry.status,
                    "figure": entry.figure,
                    "note": entry.note,
                }
                for entry in cleaned
            ]
        )
        reports.insert_evidence_links(report_id, links)
        after = _version_dict(
            unit_code, year, month, version, receipt, on_time, due, cleaned, links, codes
        )
        before = None
        if previous:
            # A correction (rare): the version it replaces, as it was recorded.
            last = reports.version_rows(unit_id, year, month)[previous - 1]
            before_codes = _task_codes(uow, last)
            before = _report_dict(
                last,
                last.entries,
                reports.evidence_links([last.id])[last.id],
                before_codes,
                unit_code,
            )
        uow.audit(
            actor.audit_name,
            "report.correct" if previous else "report.submit",
            "progress_report",
            report_id,
            before,
            after,
        )
        counts_on_time = state.first_on_time if state.first_on_time is not None else on_time
        uow.commit()
        return ReportReceipt(
            receipt=receipt,
            report_id=report_id,
            unit_id=unit_id,
            year=year,
            month=month,
            version=version,
            submitted_at=now,
            due_at=due,
            on_time=on_time,
            counts_on_time=counts_on_time,
        )


def receipt_number(unit_id: int, year: int, month: int, version: int) -> str:
    """The receipt of a report version, such as `R2025-03-0007-v2` (unique by construction)."""
    return f"R{year}-{month:02d}-{unit_id:04d}-v{version}"


def _check_month(month: int) -> None:
    if not 1 <= month <= 12:
        raise Invalid("report_month_invalid", month=month)


def _check_entries(entries: Sequence[ReportEntryInput]) -> list[ReportEntryInput]:
    """Entries with trimmed text; refuse an empty report, bad statuses and repeated tasks."""
    if not entries:
        raise Invalid("report_no_entries")
    seen: set[int] = set()
    out: list[ReportEntryInput] = []
    for entry in entries:
        if entry.status not in ENTRY_STATUSES:
            raise Invalid("report_bad_status", status=entry.status, choices=list(ENTRY_STATUSES))
        if entry.task_id in seen:
            raise Invalid("report_duplicate_task", task=entry.task_id)
        seen.add(entry.task_id)
        figure = entry.figure.strip()
        if len(figure) > MAX_FIGURE:
            raise Invalid("report_figure_too_long", limit=MAX_FIGURE, length=len(figure))
        out.append(ReportEntryInput(entry.task_id, entry.status, figure, entry.note.strip()))
    return out


# ---------------------------------------------------------------------------------------------
# Looking back


def report_history(
    uow: UnitOfWork, actor: Actor, unit_id: int, year: int, month: int
) -> list[ReportVersionView]:
    """Every version of a unit's report for a month, oldest first."""
    require_unit_view(actor, unit_id)
    _check_month(month)
    with uow:
        reports = uow.repository(Reports)
        versions = reports.version_rows(unit_id, year, month)
        return _views(uow, versions)


def last_report(
    uow: UnitOfWork, actor: Actor, unit_id: int, year: int, month: int
) -> ReportVersionView | None:
    """The newest version of the unit's latest report of an earlier month of `year` (for
    "same as last month"); None in January or when nothing was reported before."""
    require_unit_view(actor, unit_id)
    _check_month(month)
    with uow:
        report = uow.repository(Reports).latest_before(unit_id, year, month)
        return _views(uow, [report])[0] if report is not None else None


@dataclass(frozen=True)
class ReportOpening:
    """Everything the first screen of /report needs, read in one transaction."""

    year: int
    month: int  # the month opened: the one asked for, else the one offered first
    months: tuple[YearMonth, ...]  # the months the liaison may report now, this month first
    first: YearMonth  # the month offered first: an overdue one, else the month due
    other: YearMonth | None  # the other month offered, for its button
    states: Mapping[YearMonth, UnitMonth]  # where the unit stands with the months offered
    plan: Plan  # the plan of the month opened (its time zone, deadline, costs)
    due_on: date  # the unit's deadline day for the month, extension included
    due_at: datetime  # the instant that day ends
    overdue: bool
    tasks: tuple[TaskView, ...]  # every task of the unit and year (none: nothing to report)
    correcting: ReportVersionView | None  # the month's latest version: a correction starts there
    correction_files: tuple[EvidenceFile, ...]  # the files of that version that still exist
    last: ReportVersionView | None  # the newest report of an earlier month of the year


def open_report(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    timezone: str,
    chosen: YearMonth | None = None,
) -> ReportOpening:
    """Open /report for a unit now (the unit of work's clock): the months it may report (this
    month, and the previous one when its year has a plan), the month `chosen` or the one
    offered first (an overdue month, else the month due), and what that month's first screen
    shows; `timezone` names the year before a plan is found. `NotFound("no_plan")` without a
    plan of this year; `Invalid("report_month_not_offered")` for a month not offered."""
    require_unit_view(actor, unit_id)
    if chosen is not None:
        _check_month(chosen[1])
    with uow:
        now = as_utc(uow.now())
        year = local_date(now, timezone).year
        plans: dict[int, Plan | None] = {year: plan_in_force(uow, year)}
        plan = plans[year]
        assert plan is not None
        previous_year = report_window(local_date(now, plan.timezone))[1][0]
        if previous_year not in plans:
            plans[previous_year] = plan_in_force_or_none(uow, previous_year)
        months, first = report_months(now, plan, plans[previous_year])
        states: dict[YearMonth, UnitMonth] = {}
        # The unit and its tasks of each year offered, read with the year's months.
        unit_years: dict[int, UnitYear | None] = {}
        for state_year in sorted({y for y, _ in months}):
            year_plan = plans[state_year]
            assert year_plan is not None  # report_months offers only years with a plan
            year_months, unit_years[state_year] = _unit_months_in(
                uow, unit_id, state_year, year_plan, now
            )
            for unit_month in year_months:
                states[(state_year, unit_month.month)] = unit_month
        overdue = [m for m in months if m in states and states[m].state is MonthState.OVERDUE]
        if overdue:
            first = min(overdue)
        if chosen is not None and chosen not in months:
            raise Invalid(
                "report_month_not_offered",
                year=chosen[0],
                month=chosen[1],
                months=[{"year": y, "month": m} for y, m in sorted(months)],
            )
        year, month = chosen if chosen is not None else first
        other = next((m for m in months if m != (year, month)), None)
        month_plan = plans.get(year) or plan
        unit_year = (
            unit_years[year]
            if year in unit_years
            else uow.repository(Reports).unit_with_tasks(unit_id, year)
        )
        tasks = _unit_tasks(unit_id, unit_year)
        known = {task.id: (task.code, task.title) for task in tasks}
        latest, earlier = uow.repository(Reports).latest_and_before(unit_id, year, month)
        correcting = _views(uow, [latest], known)[0] if latest is not None else None
        last = _views(uow, [earlier], known)[0] if earlier is not None else None
        files = (
            tuple(evidence_files_in(uow, list(correcting.evidence_ids)))
            if correcting is not None
            else ()
        )
        state = states.get((year, month))
        # The unit's own deadline: a granted extension moves it.
        due_on = (
            state.due_on
            if state is not None
            else report_deadline(year, month, month_plan.schedule.monthly_report_due_day)
        )
        return ReportOpening(
            year=year,
            month=month,
            months=tuple(months),
            first=first,
            other=other,
            states=states,
            plan=month_plan,
            due_on=due_on,
            due_at=state.due_at if state is not None else end_of_day(due_on, month_plan.timezone),
            overdue=state is not None and state.state is MonthState.OVERDUE,
            tasks=tasks,
            correcting=correcting,
            correction_files=files,
            last=last,
        )


def _unit_tasks(unit_id: int, unit_year: UnitYear | None) -> tuple[TaskView, ...]:
    """The views services.tasks.unit_tasks_in gives, from the unit and tasks read already (the
    same NotFound for an unknown unit)."""
    if unit_year is None:
        raise NotFound("unknown_unit", unit=unit_id)
    unit = unit_year.unit
    return tuple(
        TaskView(
            id=row.id,
            year=row.year,
            unit_id=row.unit_id,
            unit_code=unit.code,
            unit_name=unit.name,
            code=row.code,
            title=row.title,
            source_document=row.source_document,
            target=row.target,
            due_date=row.due_date,
            work_item=row.work_item,
        )
        for row in unit_year.tasks
    )


def _views(
    uow: UnitOfWork,
    versions: Sequence[VersionRow],
    known: Mapping[int, tuple[str, str]] | None = None,
) -> list[ReportVersionView]:
    """Views of report versions; `known` gives the code and title of tasks read already."""
    reports = uow.repository(Reports)
    links = reports.evidence_links(r.id for r in versions)
    wanted = {e.task_id for r in versions for e in r.entries}
    tasks = dict(known or {})
    if not wanted <= tasks.keys():
        tasks.update(uow.repository(Tasks).codes_and_titles(wanted - tasks.keys()))
    return [
        ReportVersionView(
            report_id=r.id,
            unit_id=r.unit_id,
            year=r.year,
            month=r.month,
            version=r.version,
            receipt=r.receipt,
            submitted_at=as_utc(r.submitted_at),
            submitted_by=r.submitted_by,
            due_at=as_utc(r.due_at),
            on_time=r.on_time,
            entries=tuple(
                ReportEntryView(
                    task_id=e.task_id,
                    task_code=tasks[e.task_id][0],
                    task_title=tasks[e.task_id][1],
                    status=e.status,
                    figure=e.figure,
                    note=e.note,
                    files=tuple(i for task_id, i in links[r.id] if task_id == e.task_id),
                )
                for e in r.entries
            ),
            evidence_ids=tuple(dict.fromkeys(i for _, i in links[r.id])),
            report_files=tuple(i for task_id, i in links[r.id] if task_id is None),
        )
        for r in versions
    ]


def _task_codes(uow: UnitOfWork, report: VersionRow) -> dict[int, str]:
    tasks = uow.repository(Tasks).codes_and_titles(e.task_id for e in report.entries)
    return {task_id: code for task_id, (code, _) in tasks.items()}


def _report_dict(
    report: VersionRow,
    entries: Sequence[ReportEntryInput] | Sequence[EntryRow],
    evidence: Sequence[tuple[int | None, int]],
    codes: dict[int, str],
    unit_code: str,
) -> dict[str, Any]:
    return _version_dict(
        unit_code,
        report.year,
        report.month,
        report.version,
        report.receipt,
        report.on_time,
        report.due_at,
        entries,
        evidence,
        codes,
    )


def _version_dict(
    unit_code: str,
    year: int,
    month: int,
    version: int,
    receipt: str,
    on_time: bool,
    due_at: datetime,
    entries: Sequence[ReportEntryInput] | Sequence[EntryRow],
    evidence: Sequence[tuple[int | None, int]],
    codes: dict[int, str],
) -> dict[str, Any]:
    """A report version as the audit log records it (evidence: (task id or None, file id))."""
    return {
        "unit": unit_code,
        "year": year,
        "month": month,
        "version": version,
        "receipt": receipt,
        "on_time": on_time,
        "due_at": due_at,
        "entries": [
            {
                "task": codes.get(e.task_id, e.task_id),
                "status": e.status,
                "figure": e.figure,
                "note": e.note,
            }
            for e in entries
        ],
        "evidence": [
            {"task": codes.get(task_id, task_id) if task_id is not None else None, "file": file}
            for task_id, file in evidence
        ],
    }


# ---------------------------------------------------------------------------------------------
# Closing a month, and where every unit stands


def close_month(uow: UnitOfWork, actor: Actor, year: int, month: int) -> ClosedMonth:
    """Close a month (coordinators): units expected to report that have none are missing."""
    require_role(actor, Role.COORDINATOR)
    _check_month(month)
    with uow:
        require_year_open(uow, year)
        plan = plan_in_force(uow, year)
        reports = uow.repository(Reports)
        existing = reports.closure(year, month)
        if existing is not None:
            raise Invalid(
                "report_month_already_closed",
                year=year,
                month=month,
                closed_on=local_date(as_utc(existing.closed_at), plan.timezone),
            )
        now = as_utc(uow.now())
        due_day = report_due_date(year, month, plan.schedule.monthly_report_due_day)
        if now < report_due_at(year, month, plan.schedule.monthly_report_due_day, plan.timezone):
            raise Invalid("report_month_not_due", year=year, month=month, due=due_day)
        basis = _Basis.load(uow, plan, year, month)
        reported = {unit_id for unit_id, _ in basis.firsts}
        missing = [
            unit for unit in basis.units if unit.id not in reported and basis.expected(unit, now)
        ]
        pending = [
            (unit, basis.extensions[(unit.id, month)])
            for unit in missing
            if now < basis.due(unit.id, month)
        ]
        if pending:
            raise Invalid(
                "report_month_extension_pending",
                year=year,
                month=month,
                units=[unit.code for unit, _ in pending],
                due=max(day for _, day in pending),
            )
        closure = reports.add_closure(
            MonthClosure(year=year, month=month, closed_at=now, closed_by=actor.person_id)
        )
        uow.flush()
        refs = tuple(UnitRef(u.id, u.code, u.name) for u in missing)
        uow.audit(
            actor.audit_name,
            "month.close",
            "month_closure",
            closure.id,
            None,
            {"year": year, "month": month, "missing": [u.code for u in refs]},
        )
        uow.commit()
    return ClosedMonth(year, month, now, refs)


def report_status(
    uow: UnitOfWork, year: int, month: int, *, plan: Plan | None = None
) -> list[UnitReportStatus]:
    """Every expected unit's state for one month, now (works inside an open unit of work too)."""
    _check_month(month)
    with _reading(uow):
        plan = plan or plan_in_force(uow, year)
        now = as_utc(uow.now())
        basis = _Basis.load(uow, plan, year, month)
        latest = uow.repository(Reports).latest_versions(year, month)
        out: list[UnitReportStatus] = []
        for unit in basis.units:
            state = basis.state(unit, month, now)
            if state is None:
                continue
            first = basis.firsts.get((unit.id, month))
            last = latest.get(unit.id)
            out.append(
                UnitReportStatus(
                    unit_id=unit.id,
                    unit_code=unit.code,
                    unit_name=unit.name,
                    group=unit.group,
                    year=year,
                    month=month,
                    state=state,
                    due_at=basis.due(unit.id, month),
                    due_on=basis.due_on(unit.id, month),
                    first_submitted_at=first.submitted_at if first else None,
                    latest_version=last.version if last else 0,
                    latest_receipt=last.receipt if last else None,
                )
            )
        return out


@dataclass(frozen=True)
class UnitMonth:
    """One month's report of one unit, as the unit sees it now."""

    month: int
    state: MonthState
    due_at: datetime  # the unit's deadline, extension included
    due_on: date  # its deadline day (the last day on time)


def unit_months(uow: UnitOfWork, actor: Actor, unit_id: int, year: int) -> list[UnitMonth]:
    """The months of `year` the unit owes a report for by now, with their state, in order
    (the unit's liaison and the managers)."""
    require_unit_view(actor, unit_id)
    with uow:
        plan = plan_in_force(uow, year)
        return _unit_months_in(uow, unit_id, year, plan, as_utc(uow.now()))[0]


def _unit_months_in(
    uow: UnitOfWork, unit_id: int, year: int, plan: Plan, now: datetime
) -> tuple[list[UnitMonth], UnitYear | None]:
    """`unit_months` inside an open unit of work, and the unit with its tasks of the year as
    read for them (None: no such unit)."""
    reports = uow.repository(Reports)
    unit_year = reports.unit_with_tasks(unit_id, year)
    if unit_year is None:
        return [], None
    unit, first_task = unit_year.unit, unit_year.first_task
    firsts, extensions, closures = reports.unit_month_basis(unit_id, year)
    # This unit's basis only: a liaison's view must not read every unit's reports.
    basis = _Basis(
        plan=plan,
        year=year,
        units=[unit],
        first_task={unit_id: first_task} if first_task is not None else {},
        firsts=firsts,
        closures=closures,
        extensions=extensions,
        base_due=_year_due_at(year, plan.schedule.monthly_report_due_day, plan.timezone),
    )
    today = local_date(now, plan.timezone)
    out = []
    for month in range(1, 13):
        state = basis.state(unit, month, now)
        if state is not None and month_is_open(year, month, today):
            out.append(
                UnitMonth(month, state, basis.due(unit_id, month), basis.due_on(unit_id, month))
            )
    return out, unit_year


def month_report_facts(
    uow: UnitOfWork, year: int, as_of: datetime, *, plan: Plan | None = None
) -> list[UnitMonthFact]:
    """Per unit and month of `year` whose deadline passed by `as_of`: reported on time, late,
    or missing (closed months only); works inside an open unit of work too. Pass the year's
    `plan` if you have it, to save parsing it again."""
    at = as_utc(as_of)
    on_time, late, missing = MonthState.ON_TIME, MonthState.LATE, MonthState.MISSING
    with _reading(uow):
        # (unit, month) -> (on time, submitted before the month's closure), for first versions
        # submitted by `at`; the database compares the times, so none is read back.
        settled = uow.repository(Reports).first_versions_as_of(year, at)
        basis = _Basis.load(
            uow,
            plan or plan_in_force(uow, year),
            year,
            firsts=False,
            reporting={u for u, _ in settled},
        )
        extensions = basis.extensions
        out: list[UnitMonthFact] = []
        # Written out for speed: 2,000 units make 24,000 unit-months a year.
        for month in range(1, 13):
            base = basis.base_due[month]
            closed = basis.closures.get(month)
            if closed is not None and closed <= at:
                # A closed month: settled for every unit at its closure.
                for unit in basis.units:
                    first = settled.get((unit.id, month))
                    if first is not None and first[1]:
                        state = on_time if first[0] else late
                    elif basis.expected(unit, closed):
                        state = missing
                    else:
                        continue
                    due = base if (unit.id, month) not in extensions else basis.due(unit.id, month)
                    out.append(UnitMonthFact(unit.id, unit.code, year, month, state, due))
                continue
            if base > at:
                continue  # nothing is settled before the plan's deadline; extensions only add
            for unit in basis.units:
                first = settled.get((unit.id, month))
                if first is None:
                    continue  # not reported (yet): no fact until the month is closed
                due = base if (unit.id, month) not in extensions else basis.due(unit.id, month)
                if due > at:
                    continue  # reported, but its (extended) deadline has not passed yet
                out.append(
                    UnitMonthFact(
                        unit.id, unit.code, year, month, on_time if first[0] else late, due
                    )
                )
        return out


def month_event_counts(
    uow: UnitOfWork, year: int, as_of: datetime, *, plan: Plan | None = None
) -> Counter[tuple[int, MonthState]]:
    """Per unit: its months of `year` late and missing as of `as_of`, keyed (unit id, LATE or
    MISSING): the LATE and MISSING facts of `month_report_facts` counted without making them
    (the standings need only these counts; tests hold the two together)."""
    at = as_utc(as_of)
    late, missing = MonthState.LATE, MonthState.MISSING
    counts: Counter[tuple[int, MonthState]] = Counter()
    with _reading(uow):
        settled = uow.repository(Reports).first_versions_as_of(year, at)
        basis = _Basis.load(
            uow,
            plan or plan_in_force(uow, year),
            year,
            firsts=False,
            reporting={u for u, _ in settled},
        )
        extensions = basis.extensions
        for month in range(1, 13):
            base = basis.base_due[month]
            closed = basis.closures.get(month)
            if closed is not None and closed <= at:
                for unit in basis.units:
                    first = settled.get((unit.id, month))
                    if first is not None and first[1]:
                        if not first[0]:
                            counts[unit.id, late] += 1
                    elif basis.expected(unit, closed):
                        counts[unit.id, missing] += 1
                continue
            if base > at:
                continue
            for unit in basis.units:
                first = settled.get((unit.id, month))
                if first is None or first[0]:
                    continue  # not reported (yet), or on time: no event
                due = base if (unit.id, month) not in extensions else basis.due(unit.id, month)
                if due <= at:
                    counts[unit.id, late] += 1
    return counts


@dataclass
class _Basis:
    """Everything the month states of a year are computed from, read in a few queries."""

    plan: Plan
    year: int
    units: list[UnitBrief]
    first_task: dict[int, datetime]
    firsts: dict[tuple[int, int], FirstReport]
    closures: dict[int, datetime]
    extensions: dict[tuple[int, int], date]
    base_due: Mapping[int, datetime]

    @classmethod
    def load(
        cls,
        uow: UnitOfWork,
        plan: Plan,
        year: int,
        month: int | None = None,
        *,
        firsts: bool = True,
        reporting: set[int] | None = None,
    ) -> _Basis:
        """Read the basis of `year` (the first versions of one month only, or none)."""
        reports = uow.repository(Reports)
        first_versions = reports.first_versions(year, month) if firsts else {}
        first_task = uow.repository(Tasks).first_task_times(year)
        if reporting is None:
            reporting = {unit_id for unit_id, _ in first_versions}
        units = [u for u in reports.units() if u.id in first_task or u.id in reporting]
        return cls(
            plan=plan,
            year=year,
            units=units,
            first_task=first_task,
            firsts=first_versions,
            closures=reports.closures(year),
            extensions=reports.granted_extensions(year),
            base_due=_year_due_at(year, plan.schedule.monthly_report_due_day, plan.timezone),
        )

    def due(self, unit_id: int, month: int) -> datetime:
        """The unit's deadline for the month, extension included."""
        extension = self.extensions.get((unit_id, month))
        if extension is None:
            return self.base_due[month]
        return report_due_at(
            self.year,
            month,
            self.plan.schedule.monthly_report_due_day,
            self.plan.timezone,
            extension,
        )

    def due_on(self, unit_id: int, month: int) -> date:
        """The unit's deadline day for the month (the last day on time), extension included."""
        return report_deadline(
            self.year,
            month,
            self.plan.schedule.monthly_report_due_day,
            self.extensions.get((unit_id, month)),
        )

    def expected(self, unit: UnitBrief, at: datetime) -> bool:
        """Whether the unit owes reports at `at`: active, with a task of the year by then."""
        first = self.first_task.get(unit.id)
        return unit.active and first is not None and first <= at

    def state(self, unit: UnitBrief, month: int, at: datetime) -> MonthState | None:
        """The unit's state for the month as of `at`; None when it owes no report."""
        return month_state(
            at,
            self.due(unit.id, month),
            first_report=self.firsts.get((unit.id, month)),
            closed_at=self.closures.get(month),
            owes_since=self.first_task.get(unit.id) if unit.active else None,
        )


@lru_cache(maxsize=32)
def _year_due_at(year: int, due_day: int, timezone: str) -> Mapping[int, datetime]:
    """scoring.calendar.year_due_at, computed once per year, due day and time zone (every
    /report opening needs it; read-only, so one mapping serves every caller)."""
    return MappingProxyType({m: report_due_at(year, m, due_day, timezone) for m in range(1, 13)})


@contextmanager
def _reading(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """Use the unit of work if it is open already (inside another service), else open it."""
    try:
        uow.session  # noqa: B018 - raises when the unit of work is not open
    except RuntimeError:
        with uow:
            yield uow
        return
    yield uow
