"""The programme calendar (scoring.calendar): every day from 2024 to 2030 in Shanghai and in a
time zone with daylight saving, and properties of deadlines, extensions and month states."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.calendar import (
    MonthState,
    deadline_day,
    end_of_day,
    last_due_month,
    local_date,
    month_due,
    month_due_at,
    month_is_open,
    month_state,
    next_month,
    plan_report_due_at,
    previous_month,
    quarter_days,
    report_deadline,
    report_due_at,
    report_due_date,
    report_months,
    report_window,
    year_due_at,
)
from scoring.plan import Plan
from tests.factories import make_plan

ZONES = ("Asia/Shanghai", "America/New_York")
FIRST, LAST = date(2024, 1, 1), date(2030, 12, 31)
# Moments of a local day: its first instant, the morning, the last minute, the last microsecond.
TIMES = (time(0, 0), time(9, 0), time(23, 59), time(23, 59, 59, 999999))
FAST = settings(max_examples=300, deadline=None, database=None)

days = st.dates(min_value=FIRST, max_value=LAST)
due_days = st.integers(min_value=1, max_value=28)
zones = st.sampled_from(ZONES)


def every_day() -> Iterator[date]:
    """Every calendar day from 2024-01-01 to 2030-12-31."""
    day = FIRST
    while day <= LAST:
        yield day
        day += timedelta(days=1)


def at(day: date, clock: time, zone: str) -> datetime:
    """The local moment `day` `clock` in `zone`, in UTC."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def plans(zone: str, due_day: int = 5) -> dict[int, Plan]:
    """A plan of each year around 2024-2030 in `zone`, reports due on `due_day`."""
    return {
        y: make_plan(y, timezone=zone, schedule={"monthly_report_due_day": due_day})
        for y in range(2023, 2032)
    }


PLANS = {zone: plans(zone) for zone in ZONES}


# --- every day, both time zones ---------------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES)
def test_every_day_the_month_due_and_its_deadline_agree(zone: str) -> None:
    year_plans = PLANS[zone]
    for day in every_day():
        this, previous = (day.year, day.month), previous_month(day.year, day.month)
        assert report_window(day) == (this, previous)
        due = report_due_date(*previous, 5)
        assert (due.year, due.month, due.day) == (day.year, day.month, 5)
        # The month due is this month or the previous one: the previous until its deadline day.
        assert month_due(day, 5) == (previous if day <= due else this)
        # The deadline ends at the first instant of the next local day.
        ends = report_due_at(*previous, 5, zone)
        assert ends == end_of_day(due, zone)
        assert ends.astimezone(ZoneInfo(zone)).time() == time(0, 0)
        assert local_date(ends, zone) == due + timedelta(days=1)
        assert local_date(ends - timedelta(microseconds=1), zone) == due
        assert deadline_day(ends, zone) == due
        for clock in TIMES:
            now = at(day, clock, zone)
            assert local_date(now, zone) == day
            assert month_due_at(now, 5, zone) == month_due(day, 5)
            months, first = report_months(now, year_plans[day.year], year_plans[previous[0]])
            assert months == [this, previous]
            assert first == month_due(day, 5)
            assert report_months(now, year_plans[day.year], None) == ([this], this)
            assert month_is_open(*this, day) and not month_is_open(*next_month(*this), day)
            found = last_due_month({y: year_plans[y] for y in (day.year - 1, day.year)}, now)
            assert found is not None and plan_report_due_at(year_plans[found[0]], *found) <= now
            assert plan_report_due_at(year_plans[next_month(*found)[0]], *next_month(*found)) > now


@pytest.mark.parametrize("zone", ZONES)
def test_just_before_a_deadline_the_previous_month_is_due_and_from_it_this_month(
    zone: str,
) -> None:
    for year in range(2024, 2031):
        for month in range(1, 13):
            previous = previous_month(year, month)
            for due_day in (1, 5, 28):
                ends = report_due_at(*previous, due_day, zone)
                before = ends - timedelta(microseconds=1)
                assert month_due_at(before, due_day, zone) == previous
                assert month_due_at(ends, due_day, zone) == (year, month)
                assert month_due_at(ends + timedelta(hours=12), due_day, zone) == (year, month)


def test_the_daylight_saving_days_are_23_and_25_hours_long_and_deadlines_end_at_midnight() -> None:
    zone = "America/New_York"
    lengths = {}
    for day in every_day():
        length = end_of_day(day, zone) - end_of_day(day - timedelta(days=1), zone)
        lengths[day] = length
        assert end_of_day(day, zone).astimezone(ZoneInfo(zone)).time() == time(0, 0)
    assert lengths[date(2025, 3, 9)] == timedelta(hours=23)  # clocks go forward
    assert lengths[date(2025, 11, 2)] == timedelta(hours=25)  # and back
    assert {lengths[d] for d in every_day()} == {
        timedelta(hours=23),
        timedelta(hours=24),
        timedelta(hours=25),
    }
    assert sum(1 for d in every_day() if lengths[d] != timedelta(hours=24)) == 2 * 7
    # Shanghai keeps no daylight saving: every day is 24 hours.
    assert {
        end_of_day(d, "Asia/Shanghai") - end_of_day(d - timedelta(days=1), "Asia/Shanghai")
        for d in every_day()
    } == {timedelta(hours=24)}


def test_month_ends_leap_days_and_year_ends() -> None:
    assert report_due_date(2024, 1, 28) == date(2024, 2, 28)
    assert report_due_date(2024, 12, 5) == date(2025, 1, 5)
    assert report_due_date(2030, 12, 28) == date(2031, 1, 28)
    # 29 February: a day like any other; January's report is due by then when due on the 28th.
    assert month_due(date(2024, 2, 29), 28) == (2024, 2)
    assert month_due(date(2024, 2, 28), 28) == (2024, 1)
    assert month_due(date(2024, 3, 1), 5) == (2024, 2)
    # The first days of a year still owe December of the year before.
    assert month_due(date(2025, 1, 1), 5) == (2024, 12)
    assert month_due(date(2025, 1, 6), 5) == (2025, 1)
    assert previous_month(2025, 1) == (2024, 12) and next_month(2024, 12) == (2025, 1)
    assert quarter_days(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))
    assert quarter_days(2024, 4) == (date(2024, 10, 1), date(2024, 12, 31))


@pytest.mark.parametrize("year", range(2024, 2031))
def test_the_quarters_cover_the_year_without_gap_or_overlap(year: int) -> None:
    spans = [quarter_days(year, q) for q in range(1, 5)]
    assert spans[0][0] == date(year, 1, 1) and spans[-1][1] == date(year, 12, 31)
    for (_, last), (first, _) in pairwise(spans):
        assert first == last + timedelta(days=1)


# --- properties --------------------------------------------------------------------------------


@FAST
@given(day=days, due_day=due_days)
def test_the_month_due_is_this_or_the_previous_month(day: date, due_day: int) -> None:
    due = month_due(day, due_day)
    assert due in report_window(day)
    # Its deadline is the next one: today or later, and the month before it's already past.
    assert report_due_date(*due, due_day) >= day
    assert report_due_date(*previous_month(*due), due_day) < day


@FAST
@given(
    year=st.integers(min_value=2024, max_value=2030),
    month=st.integers(min_value=1, max_value=12),
    due_day=due_days,
    extension=st.one_of(st.none(), days),
    zone=zones,
)
def test_an_extension_never_makes_a_deadline_earlier(
    year: int, month: int, due_day: int, extension: date | None, zone: str
) -> None:
    base = report_due_date(year, month, due_day)
    day = report_deadline(year, month, due_day, extension)
    assert day >= base
    assert day == (base if extension is None else max(base, extension))
    assert report_due_at(year, month, due_day, zone, extension) >= report_due_at(
        year, month, due_day, zone
    )
    assert report_due_at(year, month, due_day, zone, extension) == end_of_day(day, zone)


@FAST
@given(day=days, due_day=due_days, zone=zones)
def test_a_year_of_deadlines_is_the_plans_due_day_of_each_next_month(
    day: date, due_day: int, zone: str
) -> None:
    plan = make_plan(day.year, timezone=zone, schedule={"monthly_report_due_day": due_day})
    deadlines = year_due_at(plan, day.year)
    assert sorted(deadlines) == list(range(1, 13))
    for month, ends in deadlines.items():
        assert deadline_day(ends, zone) == report_due_date(day.year, month, due_day)
        assert ends == plan_report_due_at(plan, day.year, month)


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


@FAST
@given(
    now=moments,
    due=moments,
    reported=st.one_of(st.none(), st.tuples(moments, st.booleans())),
    closed=st.one_of(st.none(), moments),
    owes=st.one_of(st.none(), moments),
)
def test_a_months_state_follows_its_report_closure_and_deadline(
    now: datetime,
    due: datetime,
    reported: tuple[datetime, bool] | None,
    closed: datetime | None,
    owes: datetime | None,
) -> None:
    state = month_state(now, due, first_report=reported, closed_at=closed, owes_since=owes)
    is_closed = closed is not None and closed <= now
    settled = closed if closed is not None and is_closed else now
    if reported is not None and reported[0] <= settled:
        assert reported is not None
        assert state is (MonthState.ON_TIME if reported[1] else MonthState.LATE)
    elif owes is None or owes > settled:
        assert state is None  # owes no report (yet)
    elif is_closed:
        assert state is MonthState.MISSING
    else:
        assert state is (MonthState.OVERDUE if due <= now else MonthState.NOT_DUE_YET)
