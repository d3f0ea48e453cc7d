"""compute_standings on a seeded year, on SQLite and PostgreSQL: the engine's fast grade path
(GradeTable, issue 12) gives the standings the frame path gives, number for number, and the
grades as columns give what the grades as records give (year_inputs)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from unittest import mock

import numpy as np

from scoring import Grade, GradeRecord, Group, IndicatorValues, Unit, score
from scoring.grading import GradeTable
from services.access import Actor, Role
from services.files.plan_file import default_plan_text
from services.people import register_units
from services.plans import load_plan
from services.standings import compute_standings, year_inputs
from services.tasks import TaskInput, import_tasks
from services.year_data import import_grades, import_values
from storage.clock import FixedClock
from storage.unit_of_work import UnitOfWork

YEAR = 2025
UOW = Callable[[], UnitOfWork]
COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="发改局")


def seeded_year(uow: UOW, clock: FixedClock) -> None:
    """Twelve towns and four departments, values, and grades of two to seven raters per item
    and period (so that some are trimmed), with coefficients whose sums round."""
    clock.set(datetime(YEAR, 1, 2, 9, tzinfo=UTC))
    rng = random.Random(12)
    plan = default_plan_text(YEAR)
    load_plan(uow(), COORDINATOR, plan, "plan.yaml")
    units = [Unit(f"t{i:02d}", f"镇{i}", Group.TOWN) for i in range(12)]
    units += [Unit(f"d{i}", f"局{i}", Group.ZONE_OR_DEPARTMENT) for i in range(4)]
    register_units(uow(), COORDINATOR, units)
    tasks = [TaskInput(u.code, "T1", "任务", work_item="key_work") for u in units]
    import_tasks(uow(), COORDINATOR, YEAR, tasks)
    inputs = year_inputs(uow(), YEAR)
    codes = [ind.code for ind in inputs.plan.development.indicators]
    towns = [u.code for u in units if u.group is Group.TOWN]
    matrix = np.round(np.array([[rng.uniform(1, 90) for _ in codes] for _ in towns]), 2)
    import_values(
        uow(), COORDINATOR, YEAR, IndicatorValues(tuple(towns), tuple(codes), matrix), "v.xlsx"
    )
    grades = [
        GradeRecord(u.code, item, period, f"r{k}", rng.choice(list(Grade)))
        for u in units
        for item in ("key_work", "basic_work")
        for period in ("Q1", "Q2", "Q3", "Q4", "year")
        for k in range(rng.randint(2, 7))
    ]
    import_grades(uow(), COORDINATOR, YEAR, grades, "g.xlsx")


def test_the_fast_grade_path_gives_the_standings_of_the_frame_path(
    uow: UOW, clock: FixedClock
) -> None:
    seeded_year(uow, clock)
    fast = compute_standings(uow(), YEAR)
    with mock.patch.object(GradeTable, "plain", property(lambda self: False)):
        frame = compute_standings(uow(), YEAR)
    assert fast.to_json() == frame.to_json()
    assert np.array_equal(fast.totals, frame.totals)
    assert np.array_equal(fast.work.coef, frame.work.coef, equal_nan=True)
    assert fast.work.trimmed.any()  # the trimming path was taken
    for unit in fast.units:
        assert fast.explain(unit.code) == frame.explain(unit.code)


def test_grades_as_columns_score_as_grades_as_records(uow: UOW, clock: FixedClock) -> None:
    seeded_year(uow, clock)
    inputs = year_inputs(uow(), YEAR)  # the grades as records
    by_records = score(
        inputs.plan,
        inputs.units,
        inputs.values,
        inputs.grades,
        inputs.bonus,
        inputs.events,
        inputs.rectification,
    )
    assert compute_standings(uow(), YEAR).to_json() == by_records.to_json()
