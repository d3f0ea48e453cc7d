"""Standings from the database, now and as of past moments: what was recorded by then counts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from scoring import IndicatorValues
from services.access import Actor, Role
from services.errors import NotFound
from services.files.plan_file import default_plan_text
from services.findings import record_finding
from services.people import register_units
from services.plans import load_plan
from services.reports import ReportEntryInput, submit_report
from services.standings import as_of_day, compute_standings, year_inputs
from services.tasks import TaskInput, import_tasks
from services.year_data import add_bonus, decide_bonus, import_values, record_grade
from storage.clock import FixedClock
from storage.models import UnitRow
from storage.repositories.tasks import Tasks
from storage.repositories.year_data import YearUnits
from tests.services.district import SHANGHAI, UNITS, UOW, YEAR, at

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局")


@pytest.fixture
def ids(uow: UOW, clock: FixedClock) -> dict[str, int]:
    """The plan, the units with a task each, and an excellent year-end grade of every unit's
    items recorded on 3 January; the units' ids by code."""
    clock.set(at(1, 2))
    load_plan(uow(), COORDINATOR, default_plan_text(YEAR), "plan.yaml")
    register_units(uow(), COORDINATOR, UNITS)
    tasks = [TaskInput(u.code, "T1", "任务", work_item="key_work") for u in UNITS]
    import_tasks(uow(), COORDINATOR, YEAR, tasks)
    with uow() as u:
        found = {r.code: r.id for r in u.repository(YearUnits).rows()}
    clock.set(at(1, 3))
    for uid in found.values():
        for item in ("key_work", "basic_work"):
            record_grade(uow(), COORDINATOR, YEAR, uid, item, "year", "excellent", "考核组")
    return found


def points(uow: UOW, unit: str, item: str, as_of: datetime | None = None) -> float:
    """A unit's points of a work item (as of a moment)."""
    return compute_standings(uow(), YEAR, as_of).result(unit).items[item]


def test_a_late_report_costs_a_point_only_once_it_came_in_late(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    with uow() as u:
        task = u.repository(Tasks).of_unit(ids["xiji"], YEAR)[0].id
    clock.set(at(2, 8))  # January's report was due at the end of 5 February
    liaison = Actor(person_id=None, role=Role.LIAISON, unit_id=ids["xiji"], name="联络员")
    submit_report(uow(), liaison, ids["xiji"], YEAR, 1, [ReportEntryInput(task, "on_track")])
    assert points(uow, "xiji", "basic_work", at(2, 7)) == 200
    assert points(uow, "xiji", "basic_work", at(2, 8, 12)) == 199
    assert points(uow, "xiji", "basic_work") == 199
    assert points(uow, "dianzi", "basic_work") == 200  # not reported, month not closed: no event


def test_an_overdue_finding_costs_two_points_only_after_its_deadline(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    clock.set(at(3, 1))
    record_finding(
        uow(),
        COORDINATOR,
        ids["finance"],
        "台账不全",
        "visit",
        date(2025, 3, 1),
        date(2025, 3, 31),
    )
    clock.set(at(6, 1))
    assert points(uow, "finance", "key_work", at(3, 31, 23)) == 200
    end_of_deadline_day = as_of_day(uow(), YEAR, date(2025, 3, 31))
    assert points(uow, "finance", "key_work", end_of_deadline_day) == 198
    assert points(uow, "finance", "key_work") == 198


def test_the_as_of_day_is_the_end_of_that_day_in_the_plans_time_zone(
    uow: UOW, ids: dict[str, int]
) -> None:
    moment = as_of_day(uow(), YEAR, date(2025, 6, 30))
    assert moment == datetime(2025, 7, 1, tzinfo=SHANGHAI)


def test_values_as_of_a_day_are_the_newest_version_imported_by_then(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    def gdp(a: float, b: float) -> IndicatorValues:
        return IndicatorValues.from_rows(
            {"dianzi": {"gdp_growth": a}, "xiji": {"gdp_growth": b}}, ["gdp_growth"]
        )

    clock.set(at(3, 1))
    import_values(uow(), COORDINATOR, YEAR, gdp(5.0, 6.0), "v1.xlsx")
    clock.set(at(3, 5))
    import_values(uow(), COORDINATOR, YEAR, gdp(7.0, 6.0), "v2.xlsx")

    def value(as_of: datetime | None) -> float | None:
        return float(year_inputs(uow(), YEAR, as_of).values.matrix[0, 0])

    assert value(at(3, 3)) == 5.0
    assert value(None) == 7.0
    assert year_inputs(uow(), YEAR, at(2, 1)).value_version is None
    assert year_inputs(uow(), YEAR).value_version == 2


def test_a_replaced_grade_is_in_force_until_it_was_replaced(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    clock.set(at(4, 1))
    record_grade(uow(), COORDINATOR, YEAR, ids["xiji"], "key_work", "year", "fair", "考核组")
    assert points(uow, "xiji", "key_work", at(3, 31)) == 200
    assert points(uow, "xiji", "key_work", at(4, 2)) == pytest.approx(120)
    assert points(uow, "xiji", "key_work", at(1, 2)) == 0  # nothing graded yet


def test_bonus_counts_from_the_moment_it_was_approved(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    clock.set(at(5, 1))
    item = add_bonus(uow(), COORDINATOR, YEAR, ids["dianzi"], "省级试点", "文件")
    clock.set(at(5, 10))
    decide_bonus(uow(), COORDINATOR, item.id, approve=True)
    assert compute_standings(uow(), YEAR, at(5, 5)).result("dianzi").bonus == 0
    assert compute_standings(uow(), YEAR, at(5, 11)).result("dianzi").bonus == 10
    explained = compute_standings(uow(), YEAR, at(5, 5)).explain("dianzi").bonus
    assert explained.not_approved == ("省级试点",)


def test_a_deactivated_unit_is_left_out_with_its_values(
    uow: UOW, clock: FixedClock, ids: dict[str, int]
) -> None:
    values = IndicatorValues.from_rows(
        {"dianzi": {"gdp_growth": 5.0}, "xiji": {"gdp_growth": 9.0}}, ["gdp_growth"]
    )
    import_values(uow(), COORDINATOR, YEAR, values, "v.xlsx")
    with uow() as u:
        row = u.session.get(UnitRow, ids["xiji"])
        assert row is not None
        row.active = False
        u.commit()
    standings = compute_standings(uow(), YEAR)
    assert [u.code for u in standings.units] == ["dianzi", "finance"]
    gdp = standings.explain("dianzi").indicators[0]
    assert (gdp.value, gdp.best, gdp.worst) == (5.0, 5.0, 5.0)


def test_a_year_with_nothing_recorded_scores_zero_with_flags(
    uow: UOW, ids: dict[str, int]
) -> None:
    standings = compute_standings(uow(), 2025)
    result = standings.result("dianzi")
    assert result.development == 0
    assert "missing_values" in result.flags


def test_standings_of_a_year_without_a_plan_are_not_found(uow: UOW) -> None:
    with pytest.raises(NotFound) as caught:
        compute_standings(uow(), 2031)
    assert caught.value.code == "no_plan"
