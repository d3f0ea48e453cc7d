"""The reporting matrix: every unit's monthly-report state for each month of a year, now
(on time, late, overdue, missing, not due yet), as /matrix shows it and the dashboard's matrix
page draws it; read in one unit of work, towns first in registration order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scoring import Group, Plan
from services.plans import plan_in_force
from services.reports import UnitReportStatus, report_status
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class YearMatrix:
    """The report states of a year, month by month, and the plan they were judged by."""

    plan: Plan
    months: dict[int, list[UnitReportStatus]]  # month 1..12 -> the units owing its report


def year_matrix(uow: UnitOfWork, year: int) -> YearMatrix:
    """Every month's report states of `year`, now, read in one unit of work."""
    with uow:
        plan = plan_in_force(uow, year)
        months = {m: report_status(uow, year, m, plan=plan) for m in range(1, 13)}
    return YearMatrix(plan, months)


def in_unit_order(statuses: Iterable[UnitReportStatus]) -> list[UnitReportStatus]:
    """Towns first, then the zone and departments, each in registration order."""
    groups = [g.value for g in Group]
    return sorted(
        statuses,
        key=lambda s: (groups.index(s.group) if s.group in groups else 9, s.unit_id),
    )
