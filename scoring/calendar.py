"""The programme calendar: which month a liaison reports, when a report is due, and where a
month stands, in the plan's time zone. Pure: no clock, no storage; moments come in as aware
datetimes and go out in UTC.

The rules (domain.md, 月跟踪):

- The report of month M opens on the first day of M and is due on day
  `schedule.monthly_report_due_day` of M+1 (the deadline day); a granted extension moves that
  day later, never earlier.
- A deadline day ends at the first instant of the following local day: a report submitted at
  or after that instant is late.
- The month due (the one a liaison is asked for) is the previous month until its deadline day
  has passed, then this month; /report also offers the other of the two.
- A month's state for a unit: reported on time or late (by its first version), missing (the
  month was closed without its report), overdue (deadline passed, not closed), not due yet;
  none when the unit owes no report then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from scoring.plan import Plan

YearMonth = tuple[int, int]
QUARTERS_OF_YEAR = 4


@lru_cache(maxsize=64)
def _zone(timezone: str) -> ZoneInfo:
    return ZoneInfo(timezone)


# --- days and instants ------------------------------------------------------------------------


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of `moment` in `timezone`."""
    return moment.astimezone(_zone(timezone)).date()


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after `day` in `timezone`, in UTC: the moment a deadline day passes."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=_zone(timezone))
    return local.astimezone(UTC)


def deadline_day(due_at: datetime, timezone: str) -> date:
    """The last day of a deadline that ends at `due_at` (the first instant after that day):
    for deadlines stored as instants (a report version's `due_at`)."""
    return (due_at - timedelta(microseconds=1)).astimezone(_zone(timezone)).date()


# --- months -----------------------------------------------------------------------------------


def previous_month(year: int, month: int) -> YearMonth:
    """The (year, month) before `year`-`month`."""
    return (year, month - 1) if month > 1 else (year - 1, 12)


def next_month(year: int, month: int) -> YearMonth:
    """The (year, month) after `year`-`month`."""
    return (year, month + 1) if month < 12 else (year + 1, 1)


def month_opens(year: int, month: int) -> date:
    """The first day the report of `year`-`month` may be submitted: the month's first day."""
    return date(year, month, 1)


def month_is_open(year: int, month: int, today: date) -> bool:
    """Whether the report of `year`-`month` may be submitted on `today` (local date)."""
    return month_opens(year, month) <= today


def quarter_days(year: int, quarter: int) -> tuple[date, date]:
    """The first and last day of quarter 1..4 of `year`."""
    first = date(year, 3 * quarter - 2, 1)
    following = (
        date(year + 1, 1, 1) if quarter == QUARTERS_OF_YEAR else date(year, 3 * quarter + 1, 1)
    )
    return first, following - timedelta(days=1)


# --- report deadlines -------------------------------------------------------------------------


def report_due_date(year: int, month: int, due_day: int) -> date:
    """The deadline day of the report of `year`-`month`: `due_day` of the following month."""
    return date(year + month // 12, month % 12 + 1, due_day)


def report_deadline(year: int, month: int, due_day: int, extended_to: date | None = None) -> date:
    """A unit's deadline day for the report of `year`-`month`: the plan's, or the granted
    extension's when later (an extension never moves a deadline earlier)."""
    base = report_due_date(year, month, due_day)
    return base if extended_to is None or extended_to < base else extended_to


def report_due_at(
    year: int, month: int, due_day: int, timezone: str, extended_to: date | None = None
) -> datetime:
    """When the report of a month stops being on time (the end of its deadline day, an
    extension included), in UTC."""
    return end_of_day(report_deadline(year, month, due_day, extended_to), timezone)


def plan_report_due_at(
    plan: Plan, year: int, month: int, extended_to: date | None = None
) -> datetime:
    """`report_due_at` with the plan's due day and time zone."""
    return report_due_at(
        year, month, plan.schedule.monthly_report_due_day, plan.timezone, extended_to
    )


def year_due_at(plan: Plan, year: int) -> dict[int, datetime]:
    """The plan's deadline of every month of `year` (month -> instant, no extension)."""
    due_day = plan.schedule.monthly_report_due_day
    return {m: report_due_at(year, m, due_day, plan.timezone) for m in range(1, 13)}


# --- the month due ----------------------------------------------------------------------------


def month_due(today: date, due_day: int) -> YearMonth:
    """The month a liaison reports on local `today`: the previous month until its deadline
    day (`due_day` of this month) has passed, then this month."""
    previous = previous_month(today.year, today.month)
    if today <= report_due_date(*previous, due_day):
        return previous
    return today.year, today.month


def month_due_at(now: datetime, due_day: int, timezone: str) -> YearMonth:
    """The month due at the moment `now` (`month_due` of its local date in `timezone`)."""
    return month_due(local_date(now, timezone), due_day)


def report_window(today: date) -> tuple[YearMonth, YearMonth]:
    """The months a report can be opened for on local `today`: this month and the one before."""
    return (today.year, today.month), previous_month(today.year, today.month)


def report_months(
    now: datetime, plan: Plan, previous_plan: Plan | None
) -> tuple[list[YearMonth], YearMonth]:
    """The months a liaison may report at `now` (this month, and the month before when its
    year has a plan: `previous_plan`) and the one offered first (the month before, until its
    deadline in its own plan)."""
    current, previous = report_window(local_date(now, plan.timezone))
    if previous_plan is None:
        return [current], current
    due = plan_report_due_at(previous_plan, *previous)
    return [current, previous], previous if now < due else current


def last_due_month(plans: Mapping[int, Plan], now: datetime) -> YearMonth | None:
    """The latest (year, month) among the plans' years whose report deadline has passed."""
    for year in sorted(plans, reverse=True):
        plan = plans[year]
        for month in range(12, 0, -1):
            if plan_report_due_at(plan, year, month) <= now:
                return year, month
    return None


# --- where a month stands ---------------------------------------------------------------------


class MonthState(StrEnum):
    """Where a unit stands with one month's report."""

    ON_TIME = "on_time"  # first version submitted before the deadline
    LATE = "late"  # first version submitted at or after the deadline
    MISSING = "missing"  # no report when the month was closed
    OVERDUE = "overdue"  # deadline passed, no report yet, month not closed (no event yet)
    NOT_DUE_YET = "not_due_yet"  # no report, deadline still ahead


def month_state(
    at: datetime,
    due_at: datetime,
    *,
    first_report: tuple[datetime, bool] | None,
    closed_at: datetime | None,
    owes_since: datetime | None,
) -> MonthState | None:
    """A unit's state for one month as of `at`: `first_report` is (submitted at, on time) of
    its first version, `closed_at` when the month was closed, `owes_since` since when the unit
    owes reports (active, with a task of the year; None: it owes none); None when it owes no
    report for the month at `at`."""
    if closed_at is not None and closed_at <= at:
        if first_report is not None and first_report[0] <= closed_at:
            return MonthState.ON_TIME if first_report[1] else MonthState.LATE
        owed = owes_since is not None and owes_since <= closed_at
        return MonthState.MISSING if owed else None
    if first_report is not None and first_report[0] <= at:
        return MonthState.ON_TIME if first_report[1] else MonthState.LATE
    if owes_since is None or owes_since > at:
        return None
    if due_at <= at:
        return MonthState.OVERDUE
    return MonthState.NOT_DUE_YET
