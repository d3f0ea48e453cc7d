"""services.reports.open_report: what the first screen of /report needs, in one transaction,
with the programme calendar's months and a unit's own (extended) deadline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest

from scoring.calendar import MonthState, end_of_day, report_deadline, report_months
from services.access import Actor, Role
from services.errors import Invalid, NotFound, Refused
from services.plans import current_plan
from services.reports import (
    close_month,
    last_report,
    open_report,
    report_history,
    report_status,
    unit_months,
)
from storage.clock import FixedClock
from storage.unit_of_work import UnitOfWork
from tests.conftest import SHANGHAI
from tests.services.district import YEAR, District

UowFactory = Callable[[], UnitOfWork]
ZONE = "Asia/Shanghai"


def test_without_a_plan_of_this_year_nothing_opens(uow: UowFactory) -> None:
    liaison = Actor(1, Role.LIAISON, 1, "联络员")
    with pytest.raises(NotFound) as raised:
        open_report(uow(), liaison, 1, ZONE)
    assert raised.value.code == "no_plan"
    assert raised.value.params == {"year": 2025}


def test_the_months_offered_and_the_first_are_the_calendars(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    for now in (
        datetime(2025, 3, 5, 23, 59, tzinfo=SHANGHAI),
        datetime(2025, 3, 6, 0, 0, tzinfo=SHANGHAI),
    ):
        clock.set(now)
        opening = open_report(uow(), district.liaison["a"], district.unit["a"], ZONE)
        plan = current_plan(uow(), YEAR)
        months, first = report_months(now, plan, plan)
        assert list(opening.months) == months == [(2025, 3), (2025, 2)]
        overdue = [m for m in months if opening.states[m].state is MonthState.OVERDUE]
        assert opening.first == (min(overdue) if overdue else first)
        assert (opening.year, opening.month) == opening.first
        assert opening.other == next(m for m in months if m != opening.first)
        assert [t.code for t in opening.tasks] == ["T1", "T2"]
        assert opening.correcting is None and opening.last is None


def test_a_month_not_offered_is_refused_with_the_months_that_are(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    clock.set(datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI))
    with pytest.raises(Invalid) as raised:
        open_report(uow(), district.liaison["a"], district.unit["a"], ZONE, (2025, 1))
    assert raised.value.code == "report_month_not_offered"
    assert raised.value.params["months"] == [
        {"year": 2025, "month": 2},
        {"year": 2025, "month": 3},
    ]


def test_a_granted_extension_is_the_units_deadline_day_everywhere(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    district.grant_extension("a", 2, date(2025, 3, 12))
    clock.set(datetime(2025, 3, 8, 9, 0, tzinfo=SHANGHAI))
    # February is not overdue (its deadline moved), so the month due, March, comes first.
    assert open_report(uow(), district.liaison["a"], district.unit["a"], ZONE).first == (2025, 3)
    opening = open_report(uow(), district.liaison["a"], district.unit["a"], ZONE, (2025, 2))
    assert opening.states[(2025, 2)].state is MonthState.NOT_DUE_YET
    assert opening.due_on == date(2025, 3, 12) == report_deadline(2025, 2, 5, date(2025, 3, 12))
    assert opening.due_at == end_of_day(date(2025, 3, 12), ZONE)
    assert not opening.overdue
    # The reminders' deadline day is the same date, carried as a date (no instant between).
    statuses = {s.unit_id: s for s in report_status(uow(), YEAR, 2)}
    assert statuses[district.unit["a"]].due_on == date(2025, 3, 12)
    assert statuses[district.unit["b"]].due_on == date(2025, 3, 5)
    assert statuses[district.unit["b"]].state is MonthState.OVERDUE
    other = open_report(uow(), district.liaison["b"], district.unit["b"], ZONE)
    assert (other.month, other.overdue, other.due_on) == (2, True, date(2025, 3, 5))


def test_a_reported_month_opens_as_a_correction_of_its_latest_version(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI))
    district.submit("a", 2)
    district.submit("a", 2)
    opening = open_report(uow(), district.liaison["a"], district.unit["a"], ZONE, (2025, 2))
    assert opening.correcting is not None and opening.correcting.version == 2
    assert opening.states[(2025, 2)].state is MonthState.ON_TIME
    march = open_report(uow(), district.liaison["a"], district.unit["a"], ZONE, (2025, 3))
    assert march.correcting is None
    assert march.last is not None and march.last.month == 2


def test_a_liaison_opens_only_their_own_units_report(uow: UowFactory) -> None:
    district = District(uow)
    with pytest.raises(Refused):
        open_report(uow(), district.liaison["a"], district.unit["b"], ZONE)


def test_a_correction_after_an_earlier_month_shows_both_versions_as_their_history_does(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI))
    district.submit("a", 1)
    district.submit("a", 2)
    district.submit("a", 2)
    liaison, unit = district.liaison["a"], district.unit["a"]
    opening = open_report(uow(), liaison, unit, ZONE, (2025, 2))
    assert opening.correcting == report_history(uow(), liaison, unit, YEAR, 2)[-1]
    assert opening.last == last_report(uow(), liaison, unit, YEAR, 2)
    assert opening.last is not None and opening.last.month == 1
    assert [e.task_code for e in opening.correcting.entries] == ["T1", "T2"]


def test_an_unknown_unit_is_not_found_once_its_months_are_checked(
    uow: UowFactory, clock: FixedClock
) -> None:
    District(uow)
    manager = Actor(None, Role.COORDINATOR, None, "coordinator")
    clock.set(datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI))
    with pytest.raises(Invalid) as refused:
        open_report(uow(), manager, 999, ZONE, (2025, 1))
    assert refused.value.code == "report_month_not_offered"
    with pytest.raises(NotFound) as raised:
        open_report(uow(), manager, 999, ZONE)
    assert (raised.value.code, raised.value.params) == ("unknown_unit", {"unit": 999})


def test_one_units_months_read_for_it_alone_match_the_every_unit_status(
    uow: UowFactory, clock: FixedClock
) -> None:
    district = District(uow)
    clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI))
    district.submit("a", 2)
    district.submit("a", 2)  # a correction: the first version still decides
    district.grant_extension("b", 2, date(2025, 3, 20))
    clock.set(datetime(2025, 3, 4, 9, 0, tzinfo=SHANGHAI))
    district.grant_extension("b", 2, date(2025, 3, 12))  # decided later: this one holds
    clock.set(datetime(2025, 3, 13, 9, 0, tzinfo=SHANGHAI))
    close_month(uow(), district.coordinator, YEAR, 2)
    clock.set(datetime(2025, 4, 20, 9, 0, tzinfo=SHANGHAI))
    district.submit("a", 3)  # late
    for unit in ("a", "b"):
        months = unit_months(uow(), district.coordinator, district.unit[unit], YEAR)
        assert [m.month for m in months] == [1, 2, 3, 4]
        for month in months:
            [status] = [
                s for s in report_status(uow(), YEAR, month.month)
                if s.unit_id == district.unit[unit]
            ]  # fmt: skip
            assert (month.state, month.due_at, month.due_on) == (
                status.state,
                status.due_at,
                status.due_on,
            )
    months = unit_months(uow(), district.coordinator, district.unit["b"], YEAR)
    assert months[1].due_on == date(2025, 3, 12) and months[1].state is MonthState.MISSING
