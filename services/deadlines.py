"""Deadlines in the plan's time zone: when a month's report is due, when a finding is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after `day` in `timezone`, in UTC: the moment a deadline day passes."""
    local = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def report_due_date(year: int, month: int, due_day: int) -> date:
    """The day the report of `year`-`month` is due: `due_day` of the following month."""
    return date(year + month // 12, month % 12 + 1, due_day)


def report_due_at(
    year: int, month: int, due_day: int, timezone: str, extended_to: date | None = None
) -> datetime:
    """When the report of a month stops being on time (end of its due day, or of the
    granted extension), in UTC."""
    return end_of_day(extended_to or report_due_date(year, month, due_day), timezone)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar date of `moment` in `timezone`."""
    return moment.astimezone(ZoneInfo(timezone)).date()
