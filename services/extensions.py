"""Extension requests: a unit asks for a later deadline of a finding or a month's report, and a
coordinator grants or refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from scoring.calendar import report_deadline
from services.access import Actor, Role, require_own_unit, require_role
from services.errors import Invalid, NotFound
from services.plans import plan_in_force, require_year_open
from storage.models import ExtensionRequest
from storage.repositories.extensions import Extensions
from storage.repositories.findings import Contacts, Findings
from storage.repositories.reports import Reports
from storage.statuses import ExtensionDecision, FindingStatus
from storage.unit_of_work import UnitOfWork

# Aliases the dialogs import.
GRANTED = ExtensionDecision.GRANTED
REFUSED = ExtensionDecision.REFUSED


@dataclass(frozen=True)
class ExtensionView:
    """An extension request and its decision.

    `coordinator_telegram_ids` (set when requested) and `liaison_telegram_ids` (set when
    decided) are the people the bot should tell at once."""

    id: int
    unit_id: int
    finding_id: int | None
    report_year: int | None
    report_month: int | None
    reason: str
    requested_date: date
    requested_at: datetime
    requested_by: int | None
    decision: ExtensionDecision | None
    reason_for_decision: str | None
    decided_at: datetime | None
    coordinator_telegram_ids: tuple[int, ...] = ()
    liaison_telegram_ids: tuple[int, ...] = ()

    @property
    def pending(self) -> bool:
        """Whether the request waits for a decision."""
        return self.decision is None

    @property
    def submitted_at(self) -> datetime:
        """When the request was made (for ordering with other things to review)."""
        return self.requested_at


def extension_view(
    row: ExtensionRequest,
    coordinator_telegram_ids: tuple[int, ...] = (),
    liaison_telegram_ids: tuple[int, ...] = (),
) -> ExtensionView:
    """The view of a stored request."""
    return ExtensionView(
        id=row.id,
        unit_id=row.unit_id,
        finding_id=row.finding_id,
        report_year=row.report_year,
        report_month=row.report_month,
        reason=row.reason,
        requested_date=row.requested_date,
        requested_at=row.requested_at,
        requested_by=row.requested_by,
        decision=row.decision,
        reason_for_decision=row.reason_for_decision,
        decided_at=row.decided_at,
        coordinator_telegram_ids=coordinator_telegram_ids,
        liaison_telegram_ids=liaison_telegram_ids,
    )


def _snapshot(row: ExtensionRequest) -> dict[str, object]:
    return {
        "unit_id": row.unit_id,
        "finding_id": row.finding_id,
        "report_year": row.report_year,
        "report_month": row.report_month,
        "reason": row.reason,
        "requested_date": row.requested_date,
        "decision": row.decision,
        "reason_for_decision": row.reason_for_decision,
    }


def _report_deadline(uow: UnitOfWork, unit_id: int, year: int, month: int) -> date:
    """A unit's deadline day of a month's report, inside an open unit of work: the plan's,
    moved by a granted extension; `NotFound("no_plan")` without a plan of `year`."""
    return report_deadline(
        year,
        month,
        plan_in_force(uow, year).schedule.monthly_report_due_day,
        uow.repository(Extensions).granted_report_extension(unit_id, year, month),
    )


def current_deadline(uow: UnitOfWork, actor: Actor, request_id: int) -> date:
    """The deadline a request would move, as it stands now (coordinators): its finding's, or
    the unit's deadline day of the month's report with an extension granted earlier, never
    the plan's day alone; `NotFound` when the request, its finding or the year's plan is gone."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        row = uow.repository(Extensions).by_id(request_id)
        if row is None:
            raise NotFound("extension_not_found", request_id=request_id)
        if row.finding_id is not None:
            finding = uow.repository(Findings).by_id(row.finding_id)
            if finding is None:
                raise NotFound("finding_not_found", finding_id=row.finding_id)
            return finding.deadline
        if row.report_year is None or row.report_month is None:
            # request_extension stores exactly one target: such a row names nothing to move.
            raise NotFound("extension_not_found", request_id=request_id)
        return _report_deadline(uow, row.unit_id, row.report_year, row.report_month)


def request_extension(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    reason: str,
    new_date: date,
    finding_id: int | None = None,
    report_year: int | None = None,
    report_month: int | None = None,
) -> ExtensionView:
    """A liaison asks for a later deadline of one of their unit's findings or of a month's
    report (exactly one of the two); one pending request per target at a time."""
    require_role(actor, Role.LIAISON)
    require_own_unit(actor, unit_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("extension_reason_empty")
    for_report = report_year is not None or report_month is not None
    if (finding_id is not None) == for_report:
        raise Invalid("extension_target_ambiguous")
    if for_report and (report_year is None or report_month is None):
        raise Invalid("extension_target_ambiguous")
    if report_month is not None and not 1 <= report_month <= 12:
        raise Invalid("extension_bad_month", month=report_month)
    with uow:
        # The unit row is locked so that two requests for one target cannot both pass the
        # "one pending request" check on PostgreSQL (SQLite writers are serialised anyway).
        if uow.repository(Contacts).unit(unit_id, lock=True) is None:
            raise NotFound("unknown_unit", unit=str(unit_id))
        extensions = uow.repository(Extensions)
        if finding_id is not None:
            finding = uow.repository(Findings).by_id(finding_id)
            if finding is None or finding.unit_id != unit_id:
                raise NotFound("finding_not_found", finding_id=finding_id)
            require_year_open(uow, finding.year)
            if finding.status == FindingStatus.ACCEPTED:
                raise Invalid("finding_already_accepted", finding_id=finding_id)
            current = finding.deadline
            pending = extensions.pending_for_finding(finding_id)
        else:
            assert report_year is not None and report_month is not None
            require_year_open(uow, report_year)
            current = _report_deadline(uow, unit_id, report_year, report_month)
            pending = extensions.pending_for_report(unit_id, report_year, report_month)
            if uow.repository(Reports).versions(unit_id, report_year, report_month):
                # Nothing is left to be late: a correction is not bound by the deadline.
                raise Invalid(
                    "extension_report_already_submitted", year=report_year, month=report_month
                )
        if new_date <= current:
            raise Invalid("extension_date_not_later", current=current, requested=new_date)
        if pending is not None:
            raise Invalid("extension_already_pending", request_id=pending.id)
        row = extensions.add(
            ExtensionRequest(
                unit_id=unit_id,
                finding_id=finding_id,
                report_year=report_year,
                report_month=report_month,
                reason=reason,
                requested_date=new_date,
                requested_by=actor.person_id,
                requested_at=uow.now(),
            )
        )
        uow.flush()
        after = {**_snapshot(row), "current_deadline": current}
        uow.audit(actor.audit_name, "extension.request", "extension_request", row.id, None, after)
        coordinators = uow.repository(Contacts).coordinator_telegram_ids()
        uow.commit()
        return extension_view(row, coordinator_telegram_ids=coordinators)


def decide_extension(
    uow: UnitOfWork, actor: Actor, request_id: int, grant: bool, reason: str | None = None
) -> ExtensionView:
    """A coordinator grants or refuses a pending request, once; granting a finding's request
    moves the finding's deadline, granting a report's is read by the report deadline."""
    require_role(actor, Role.COORDINATOR)
    reason = (reason or "").strip() or None
    with uow:
        extensions = uow.repository(Extensions)
        row = extensions.by_id(request_id, lock=True)
        if row is None:
            raise NotFound("extension_not_found", request_id=request_id)
        if row.decision is not None:
            raise Invalid("extension_already_decided", request_id=request_id)
        of_finding = (
            uow.repository(Findings).by_id(row.finding_id) if row.finding_id is not None else None
        )
        require_year_open(uow, of_finding.year if of_finding is not None else row.report_year or 0)
        before = _snapshot(row)
        now = uow.now()
        if grant and row.finding_id is not None:
            finding = uow.repository(Findings).by_id(row.finding_id, lock=True)
            assert finding is not None  # a foreign key
            if finding.status == FindingStatus.ACCEPTED:
                raise Invalid("finding_already_accepted", finding_id=finding.id)
            if row.requested_date <= finding.deadline:
                raise Invalid(
                    "extension_date_not_later",
                    current=finding.deadline,
                    requested=row.requested_date,
                )
            old = finding.deadline
            finding.deadline = row.requested_date
            uow.audit(
                actor.audit_name,
                "finding.extend_deadline",
                "finding",
                finding.id,
                {"deadline": old},
                {"deadline": finding.deadline, "extension_request_id": row.id},
            )
        row.decision = ExtensionDecision.GRANTED if grant else ExtensionDecision.REFUSED
        row.reason_for_decision = reason
        row.decided_by = actor.person_id
        row.decided_at = now
        action = "extension.grant" if grant else "extension.refuse"
        uow.audit(actor.audit_name, action, "extension_request", row.id, before, _snapshot(row))
        liaisons = uow.repository(Contacts).liaison_telegram_ids(row.unit_id)
        uow.commit()
        return extension_view(row, liaison_telegram_ids=liaisons)


def pending_extensions(uow: UnitOfWork, actor: Actor) -> list[ExtensionView]:
    """Every request waiting for a decision, oldest first (coordinators)."""
    require_role(actor, Role.COORDINATOR)
    with uow:
        return [extension_view(row) for row in uow.repository(Extensions).pending()]


def unit_extensions(uow: UnitOfWork, actor: Actor, unit_id: int) -> list[ExtensionView]:
    """A unit's requests and their decisions, newest first (its liaisons and coordinators)."""
    require_own_unit(actor, unit_id)
    with uow:
        return [extension_view(row) for row in uow.repository(Extensions).of_unit(unit_id)]
