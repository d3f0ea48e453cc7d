"""Findings from supervision (督导发现问题), their rectification (整改), and false reports (虚报).

A coordinator records a finding with a rectification deadline; a liaison of the unit submits a
rectification; the coordinator accepts it or returns it with a reason. A finding whose deadline
day has passed (in the plan's time zone) while it is open or returned shows as `overdue`; the
stored status stays as it is. `finding_facts` and `false_report_facts` are what the standings
derive the `rectification_overdue` and `false_report` events from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from scoring.calendar import end_of_day, local_date
from services.access import Actor, Role, require_own_unit, require_role
from services.errors import Invalid, NotFound
from services.evidence import require_evidence
from services.extensions import ExtensionView, extension_view
from services.plans import plan_in_force_or_none, require_year_open
from services.supervision_plan import activity_for_finding
from storage.clock import as_utc
from storage.models import FalseReport, FindingRow, RectificationRow, UnitRow
from storage.repositories.extensions import Extensions
from storage.repositories.findings import Contacts, FalseReports, Findings
from storage.statuses import FindingStatus, RectificationDecision, SupervisionKind
from storage.unit_of_work import UnitOfWork

# A finding's source is how the supervision was done, in the order the bot offers them.
SOURCES: tuple[SupervisionKind, ...] = tuple(SupervisionKind)
# Aliases the rectify dialog imports.
OPEN = FindingStatus.OPEN
SUBMITTED = FindingStatus.SUBMITTED
RETURNED = FindingStatus.RETURNED
ACCEPTED = FindingStatus.ACCEPTED
OVERDUE = FindingStatus.OVERDUE
# The plan's default; used for a year whose plan is not loaded yet.
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class FindingView:
    """A finding as the bot shows it; `liaison_telegram_ids` are the unit's active liaisons
    (set when the finding is recorded or listed, so the bot can tell them)."""

    id: int
    year: int
    unit_id: int
    unit_code: str
    unit_name: str
    description: str
    source: SupervisionKind
    found_on: date
    deadline: date
    deadline_end: datetime
    status: FindingStatus
    created_at: datetime
    accepted_at: datetime | None
    evidence_ids: tuple[int, ...] = ()
    liaison_telegram_ids: tuple[int, ...] = ()
    activity_id: int | None = None

    def effective_status(self, as_of: datetime) -> FindingStatus:
        """The status as of `as_of`: `overdue` once the deadline day has passed while the
        finding is open or returned, otherwise the stored status."""
        if (
            self.status in (FindingStatus.OPEN, FindingStatus.RETURNED)
            and as_utc(as_of) >= self.deadline_end
        ):
            return FindingStatus.OVERDUE
        return self.status


@dataclass(frozen=True)
class RectificationReceipt:
    """What a liaison gets back for a rectification: its receipt number, and whether it came
    before the deadline ended; `coordinator_telegram_ids` are whom to tell to review it."""

    rectification_id: int
    finding_id: int
    receipt: str
    submitted_at: datetime
    on_time: bool
    coordinator_telegram_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RectificationView:
    """A rectification with its finding and decision; `liaison_telegram_ids` (set when it is
    decided) are the unit's liaisons to tell."""

    id: int
    finding_id: int
    unit_id: int
    unit_name: str
    finding_description: str
    finding_deadline: date
    text: str
    evidence_ids: tuple[int, ...]
    receipt: str
    submitted_at: datetime
    submitted_by: int | None
    on_time: bool
    decision: RectificationDecision | None
    reason: str | None
    decided_at: datetime | None
    liaison_telegram_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class FindingFact:
    """Whether a finding counts as `rectification_overdue` as of some moment; and, for the
    rectification evaluation (scoring.md §2b), whether its deadline had passed then (`due`)
    and it was accepted as rectified by that deadline (`rectified_on_time`)."""

    finding_id: int
    unit_id: int
    deadline_end: datetime
    rectification_overdue: bool
    due: bool = False
    rectified_on_time: bool = False


@dataclass(frozen=True)
class FalseReportView:
    """A confirmed false report."""

    id: int
    year: int
    unit_id: int
    description: str
    report_id: int | None
    confirmed_by: int | None
    confirmed_at: datetime


@dataclass(frozen=True)
class FalseReportFact:
    """A false report confirmed by some moment: one `false_report` event of its unit."""

    false_report_id: int
    unit_id: int
    report_id: int | None
    confirmed_at: datetime


# --- helpers -------------------------------------------------------------------------------


@contextmanager
def _reading(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """Use the unit of work's open transaction if there is one, else open (and close) one, so
    that the standings can call the fact functions inside their own transaction."""
    try:
        uow.session  # noqa: B018 - raises if the unit of work is not open
    except RuntimeError:
        with uow:
            yield uow
        return
    yield uow


def plan_timezone(uow: UnitOfWork, year: int) -> str:
    """The time zone of the year's plan (the default if no plan is loaded), inside a uow."""
    plan = plan_in_force_or_none(uow, year)
    return DEFAULT_TIMEZONE if plan is None else plan.timezone


class _Timezones:
    """Plan time zones by year, each looked up once per call."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.known: dict[int, str] = {}

    def __call__(self, year: int) -> str:
        if year not in self.known:
            self.known[year] = plan_timezone(self.uow, year)
        return self.known[year]


def _text(value: str, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(code)
    return value


def _unit(uow: UnitOfWork, unit_id: int) -> UnitRow:
    unit = uow.repository(Contacts).unit(unit_id)
    if unit is None or not unit.active:
        raise NotFound("unknown_unit", unit=str(unit_id))
    return unit


def _finding_snapshot(row: FindingRow) -> dict[str, object]:
    return {
        "year": row.year,
        "unit_id": row.unit_id,
        "description": row.description,
        "source": row.source,
        "found_at": row.found_at,
        "deadline": row.deadline,
        "status": row.status,
    }


def _rectification_snapshot(row: RectificationRow) -> dict[str, object]:
    return {
        "finding_id": row.finding_id,
        "text": row.text,
        "receipt": row.receipt,
        "decision": row.decision,
        "reason": row.reason,
    }


def _finding_view(
    row: FindingRow,
    unit: UnitRow,
    timezone: str,
    evidence_ids: Iterable[int] = (),
    liaison_telegram_ids: tuple[int, ...] = (),
) -> FindingView:
    return FindingView(
        id=row.id,
        year=row.year,
        unit_id=row.unit_id,
        unit_code=unit.code,
        unit_name=unit.name,
        description=row.description,
        source=row.source,
        found_on=row.found_at,
        deadline=row.deadline,
        deadline_end=end_of_day(row.deadline, timezone),
        status=row.status,
        created_at=as_utc(row.created_at),
        accepted_at=as_utc(row.accepted_at) if row.accepted_at is not None else None,
        evidence_ids=tuple(evidence_ids),
        liaison_telegram_ids=liaison_telegram_ids,
        activity_id=row.activity_id,
    )


def _rectification_view(
    row: RectificationRow,
    finding: FindingRow,
    unit: UnitRow,
    timezone: str,
    evidence_ids: Iterable[int],
    liaison_telegram_ids: tuple[int, ...] = (),
) -> RectificationView:
    submitted_at = as_utc(row.submitted_at)
    return RectificationView(
        id=row.id,
        finding_id=finding.id,
        unit_id=finding.unit_id,
        unit_name=unit.name,
        finding_description=finding.description,
        finding_deadline=finding.deadline,
        text=row.text,
        evidence_ids=tuple(evidence_ids),
        receipt=row.receipt,
        submitted_at=submitted_at,
        submitted_by=row.submitted_by,
        on_time=submitted_at < end_of_day(finding.deadline, timezone),
        decision=row.decision,
        reason=row.reason,
        decided_at=as_utc(row.decided_at) if row.decided_at is not None else None,
        liaison_telegram_ids=liaison_telegram_ids,
    )


def _receipt(finding: FindingRow, number: int) -> str:
    return f"ZG{finding.year}-{finding.id:05d}-{number:02d}"


# --- findings ------------------------------------------------------------------------------


def record_finding(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    description: str,
    source: str,
    found_on: date,
    deadline: date,
    evidence_ids: Iterable[int] = (),
    activity_id: int | None = None,
) -> FindingView:
    """A coordinator records a problem found in supervision, with its rectification deadline
    and, if named, the activity of the year's supervision plan it came from (which is then
    done); the view carries the unit's liaisons to tell at once."""
    require_role(actor, Role.COORDINATOR)
    description = _text(description, "finding_description_empty")
    if source not in SOURCES:
        raise Invalid("finding_unknown_source", source=source, sources=list(SOURCES))
    if deadline < found_on:
        raise Invalid("finding_deadline_before_found", deadline=deadline, found_on=found_on)
    with uow:
        require_year_open(uow, found_on.year)
        unit = _unit(uow, unit_id)
        timezone = plan_timezone(uow, found_on.year)
        today = local_date(uow.now(), timezone)
        if found_on > today:
            raise Invalid("finding_found_in_future", found_on=found_on, today=today)
        evidence = require_evidence(uow, evidence_ids)
        if activity_id is not None:
            activity_id = activity_for_finding(uow, activity_id, found_on)
        findings = uow.repository(Findings)
        row = findings.add(
            FindingRow(
                year=found_on.year,
                unit_id=unit_id,
                description=description,
                source=source,
                found_at=found_on,
                deadline=deadline,
                status=FindingStatus.OPEN,
                created_by=actor.person_id,
                created_at=uow.now(),
                activity_id=activity_id,
            )
        )
        uow.flush()
        findings.attach_evidence(row.id, evidence)
        after = {**_finding_snapshot(row), "evidence_ids": list(evidence)}
        if activity_id is not None:
            after["activity_id"] = activity_id
        uow.audit(actor.audit_name, "finding.record", "finding", row.id, None, after)
        liaisons = uow.repository(Contacts).liaison_telegram_ids(unit_id)
        uow.commit()
        return _finding_view(row, unit, timezone, evidence, liaisons)


def open_findings(uow: UnitOfWork, actor: Actor, unit_id: int) -> list[FindingView]:
    """A unit's findings not yet accepted (open, submitted, returned; overdue ones among
    them), by deadline; for its liaisons and the coordinators."""
    require_own_unit(actor, unit_id)
    with uow:
        unit = _unit(uow, unit_id)
        findings = uow.repository(Findings)
        rows = findings.unsettled_of_unit(unit_id)
        evidence = findings.evidence_of([r.id for r in rows])
        liaisons = uow.repository(Contacts).liaison_telegram_ids(unit_id)
        timezone = _Timezones(uow)
        return [_finding_view(r, unit, timezone(r.year), evidence[r.id], liaisons) for r in rows]


def get_finding(uow: UnitOfWork, actor: Actor, finding_id: int) -> FindingView:
    """One finding (for its unit's liaisons and the coordinators)."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    with uow:
        findings = uow.repository(Findings)
        row = findings.by_id(finding_id)
        if row is None:
            raise NotFound("finding_not_found", finding_id=finding_id)
        require_own_unit(actor, row.unit_id)
        unit = uow.repository(Contacts).unit(row.unit_id)
        assert unit is not None  # a foreign key
        timezone = plan_timezone(uow, row.year)
        return _finding_view(row, unit, timezone, findings.evidence_of([row.id])[row.id])


def year_findings(
    uow: UnitOfWork, actor: Actor, year: int, unit_id: int | None = None
) -> list[FindingView]:
    """Every finding of a year (of one unit if told), in the order recorded; a liaison sees
    only their own unit's."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    if actor.role is Role.LIAISON:
        unit_id = actor.unit_id
    with uow:
        findings = uow.repository(Findings)
        rows = findings.of_year(year, unit_id)
        units = uow.repository(Contacts).units({r.unit_id for r in rows})
        evidence = findings.evidence_of([r.id for r in rows])
        timezone = plan_timezone(uow, year)
        return [_finding_view(r, units[r.unit_id], timezone, evidence[r.id]) for r in rows]


# --- rectifications ------------------------------------------------------------------------


def submit_rectification(
    uow: UnitOfWork, actor: Actor, finding_id: int, text: str, evidence_ids: Iterable[int] = ()
) -> RectificationReceipt:
    """A liaison of the finding's unit submits its rectification (while the finding is open or
    returned); the finding becomes `submitted` and the receipt number is given back."""
    require_role(actor, Role.LIAISON)
    text = _text(text, "rectification_text_empty")
    with uow:
        findings = uow.repository(Findings)
        # Locked so that two submissions for one finding cannot both pass the status check.
        finding = findings.by_id(finding_id, lock=True)
        if finding is None:
            raise NotFound("finding_not_found", finding_id=finding_id)
        require_own_unit(actor, finding.unit_id)
        require_year_open(uow, finding.year)
        if finding.status not in (FindingStatus.OPEN, FindingStatus.RETURNED):
            raise Invalid("finding_not_awaiting_rectification", status=finding.status)
        evidence = require_evidence(uow, evidence_ids)
        now = uow.now()
        row = findings.add_rectification(
            RectificationRow(
                finding_id=finding.id,
                text=text,
                submitted_by=actor.person_id,
                submitted_at=now,
                receipt=_receipt(finding, findings.rectification_count(finding.id) + 1),
            )
        )
        uow.flush()
        findings.attach_rectification_evidence(row.id, evidence)
        after = {**_rectification_snapshot(row), "evidence_ids": list(evidence)}
        uow.audit(actor.audit_name, "rectification.submit", "rectification", row.id, None, after)
        _set_status(uow, actor, finding, FindingStatus.SUBMITTED)
        on_time = as_utc(now) < end_of_day(finding.deadline, plan_timezone(uow, finding.year))
        coordinators = uow.repository(Contacts).coordinator_telegram_ids()
        uow.commit()
        return RectificationReceipt(
            row.id, finding.id, row.receipt, as_utc(now), on_time, coordinators
        )


def _set_status(uow: UnitOfWork, actor: Actor, finding: FindingRow, status: FindingStatus) -> None:
    before = {"status": finding.status}
    finding.status = status
    if status == FindingStatus.ACCEPTED:
        finding.accepted_at = uow.now()
    uow.audit(
        actor.audit_name, "finding.status", "finding", finding.id, before, {"status": status}
    )


def _decide(
    uow: UnitOfWork,
    actor: Actor,
    rectification_id: int,
    decision: RectificationDecision,
    reason: str | None,
) -> RectificationView:
    with uow:
        findings = uow.repository(Findings)
        row = findings.rectification(rectification_id, lock=True)
        if row is None:
            raise NotFound("rectification_not_found", rectification_id=rectification_id)
        if row.decision is not None:
            raise Invalid("rectification_already_decided", decision=row.decision)
        finding = findings.by_id(row.finding_id, lock=True)
        assert finding is not None  # a foreign key
        require_year_open(uow, finding.year)
        before = _rectification_snapshot(row)
        row.decision = decision
        row.reason = reason
        row.decided_by = actor.person_id
        row.decided_at = uow.now()
        accepted = decision == RectificationDecision.ACCEPTED
        action = f"rectification.{'accept' if accepted else 'return'}"
        after = _rectification_snapshot(row)
        uow.audit(actor.audit_name, action, "rectification", row.id, before, after)
        _set_status(uow, actor, finding, FindingStatus(decision))
        contacts = uow.repository(Contacts)
        unit = contacts.unit(finding.unit_id)
        assert unit is not None  # a foreign key
        liaisons = contacts.liaison_telegram_ids(finding.unit_id)
        evidence = findings.rectification_evidence_of([row.id])[row.id]
        timezone = plan_timezone(uow, finding.year)
        uow.commit()
        return _rectification_view(row, finding, unit, timezone, evidence, liaisons)


def accept_rectification(
    uow: UnitOfWork, actor: Actor, rectification_id: int
) -> RectificationView:
    """A coordinator accepts a rectification (once); its finding becomes `accepted`."""
    require_role(actor, Role.COORDINATOR)
    return _decide(uow, actor, rectification_id, RectificationDecision.ACCEPTED, None)


def return_rectification(
    uow: UnitOfWork, actor: Actor, rectification_id: int, reason: str
) -> RectificationView:
    """A coordinator returns a rectification with a reason (once); its finding becomes
    `returned`, to be rectified again."""
    require_role(actor, Role.COORDINATOR)
    reason = _text(reason, "rectification_return_reason_empty")
    return _decide(uow, actor, rectification_id, RectificationDecision.RETURNED, reason)


def review_queue(uow: UnitOfWork, actor: Actor) -> list[RectificationView | ExtensionView]:
    """What waits for a coordinator: submitted rectifications and pending extension requests,
    oldest first."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        findings = uow.repository(Findings)
        rectifications = findings.undecided_rectifications()
        by_id = findings.by_ids({r.finding_id for r in rectifications})
        units = uow.repository(Contacts).units({f.unit_id for f in by_id.values()})
        evidence = findings.rectification_evidence_of([r.id for r in rectifications])
        timezone = _Timezones(uow)
        items: list[RectificationView | ExtensionView] = []
        for row in rectifications:
            finding = by_id[row.finding_id]
            unit = units[finding.unit_id]
            items.append(
                _rectification_view(row, finding, unit, timezone(finding.year), evidence[row.id])
            )
        items.extend(extension_view(r) for r in uow.repository(Extensions).pending())
        items.sort(key=lambda item: (as_utc(item.submitted_at), isinstance(item, ExtensionView)))
        return items


def finding_rectifications(
    uow: UnitOfWork, actor: Actor, finding_id: int
) -> list[RectificationView]:
    """Every rectification of a finding with its decision, oldest first."""
    require_role(actor, Role.LIAISON, Role.COORDINATOR)
    with uow:
        findings = uow.repository(Findings)
        finding = findings.by_id(finding_id)
        if finding is None:
            raise NotFound("finding_not_found", finding_id=finding_id)
        require_own_unit(actor, finding.unit_id)
        unit = uow.repository(Contacts).unit(finding.unit_id)
        assert unit is not None  # a foreign key
        rows = findings.rectifications_of([finding.id])[finding.id]
        evidence = findings.rectification_evidence_of([r.id for r in rows])
        timezone = plan_timezone(uow, finding.year)
        return [_rectification_view(r, finding, unit, timezone, evidence[r.id]) for r in rows]


# --- facts for the standings ---------------------------------------------------------------


def _counts_as_rectified(row: RectificationRow, deadline_end: datetime, as_of: datetime) -> bool:
    """Whether a rectification keeps its finding from being overdue as of `as_of`: submitted
    before the deadline ended and, as of then, accepted or not yet decided."""
    if as_utc(row.submitted_at) >= deadline_end:
        return False
    if row.decision is None or as_utc(row.decided_at or as_of) > as_of:
        return True
    return row.decision == RectificationDecision.ACCEPTED


def finding_facts(uow: UnitOfWork, year: int, as_of: datetime) -> list[FindingFact]:
    """Per finding of `year` recorded by `as_of`: its deadline end and whether it counts as
    `rectification_overdue` as of `as_of` (works inside or outside an open unit of work)."""
    as_of = as_utc(as_of)
    with _reading(uow):
        findings = uow.repository(Findings)
        timezone = plan_timezone(uow, year)
        rows = [r for r in findings.of_year(year) if as_utc(r.created_at) <= as_of]
        rectifications: dict[int, list[RectificationRow]] = {r.id: [] for r in rows}
        for rectification in findings.rectifications_of_year(year):
            if rectification.finding_id in rectifications:
                rectifications[rectification.finding_id].append(rectification)
        facts = []
        ends: dict[date, datetime] = {}  # most findings share a few deadlines
        for row in rows:
            # The deadline as it stands: a granted extension has moved it already.
            deadline_end = ends.get(row.deadline)
            if deadline_end is None:
                deadline_end = ends[row.deadline] = end_of_day(row.deadline, timezone)
            due = as_of >= deadline_end
            overdue = due and not any(
                _counts_as_rectified(r, deadline_end, as_of) for r in rectifications[row.id]
            )
            on_time = due and any(
                _accepted_on_time(r, deadline_end, as_of) for r in rectifications[row.id]
            )
            facts.append(FindingFact(row.id, row.unit_id, deadline_end, overdue, due, on_time))
        return facts


def _accepted_on_time(row: RectificationRow, deadline_end: datetime, as_of: datetime) -> bool:
    """Whether a rectification submitted before the deadline ended was accepted by `as_of`
    (the review may come after the deadline: the unit rectified in time)."""
    return (
        as_utc(row.submitted_at) < deadline_end
        and row.decision == RectificationDecision.ACCEPTED
        and row.decided_at is not None
        and as_utc(row.decided_at) <= as_of
    )


# --- false reports -------------------------------------------------------------------------


def confirm_false_report(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    year: int,
    description: str,
    report_id: int | None = None,
) -> FalseReportView:
    """A coordinator confirms a false report (虚报) of a unit in a year, optionally naming the
    progress report version it was found in."""
    require_role(actor, Role.COORDINATOR)
    description = _text(description, "false_report_description_empty")
    with uow:
        require_year_open(uow, year)
        _unit(uow, unit_id)
        false_reports = uow.repository(FalseReports)
        if report_id is not None:
            report = false_reports.report(report_id)
            if report is None:
                raise NotFound("false_report_report_not_found", report_id=report_id)
            if report.unit_id != unit_id or report.year != year:
                raise Invalid("false_report_report_mismatch", report_id=report_id)
        row = false_reports.add(
            FalseReport(
                year=year,
                unit_id=unit_id,
                description=description,
                report_id=report_id,
                confirmed_by=actor.person_id,
                confirmed_at=uow.now(),
            )
        )
        uow.flush()
        after = {
            "year": year,
            "unit_id": unit_id,
            "description": description,
            "report_id": report_id,
        }
        uow.audit(actor.audit_name, "false_report.confirm", "false_report", row.id, None, after)
        uow.commit()
        return _false_report_view(row)


def _false_report_view(row: FalseReport) -> FalseReportView:
    return FalseReportView(
        id=row.id,
        year=row.year,
        unit_id=row.unit_id,
        description=row.description,
        report_id=row.report_id,
        confirmed_by=row.confirmed_by,
        confirmed_at=as_utc(row.confirmed_at),
    )


def false_reports(uow: UnitOfWork, actor: Actor, year: int) -> list[FalseReportView]:
    """The confirmed false reports of a year (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        return [_false_report_view(r) for r in uow.repository(FalseReports).of_year(year)]


def false_report_facts(uow: UnitOfWork, year: int, as_of: datetime) -> list[FalseReportFact]:
    """The false reports of `year` confirmed by `as_of`, one `false_report` event each (works
    inside or outside an open unit of work)."""
    as_of = as_utc(as_of)
    with _reading(uow):
        return [
            FalseReportFact(r.id, r.unit_id, r.report_id, as_utc(r.confirmed_at))
            for r in uow.repository(FalseReports).of_year(year)
            if as_utc(r.confirmed_at) <= as_of
        ]
