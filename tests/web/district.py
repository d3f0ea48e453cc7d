"""The sample district with figures, grades and people, for the dashboard's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from scoring import Grade, GradeRecord, IndicatorValues
from services.access import Actor, Role
from services.files.plan_file import default_plan_text
from services.findings import record_finding
from services.people import register_person, register_units
from services.plans import load_plan
from services.sample_district import (
    SAMPLE_YEAR,
    sample_grades,
    sample_plan,
    sample_units,
    sample_values,
)
from services.tasks import TaskInput, import_tasks, tasks_of_year
from services.year_data import import_grades, import_values
from storage.clock import FixedClock
from storage.database import Database
from storage.unit_of_work import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
OPERATOR = Actor.operator("test")
YEAR = SAMPLE_YEAR
NOW = datetime(2025, 6, 10, 10, 0, tzinfo=SHANGHAI)
BOT_TOKEN = "123456:dashboard-test-token"


@dataclass(frozen=True)
class Person:
    """A sample person: Telegram id, name, role and (liaisons) unit."""

    telegram_id: int
    name: str
    role: Role
    unit: str | None = None


COORDINATOR = Person(9001, "赵敏", Role.COORDINATOR)
VIEWER = Person(9002, "钱领导", Role.VIEWER)
LIAISON = Person(9003, "王芳", Role.LIAISON, "dianzi")
OTHER_LIAISON = Person(9004, "李强", Role.LIAISON, "xiji")
ENGLISH_VIEWER = Person(9005, "Alice", Role.VIEWER)
PEOPLE = (COORDINATOR, VIEWER, LIAISON, OTHER_LIAISON, ENGLISH_VIEWER)


def seed(database: Database, clock: FixedClock) -> None:
    """The sample plan, units, values, grades, people, a task per town and two findings."""

    def uow() -> UnitOfWork:
        return UnitOfWork(database, clock)

    load_plan(uow(), OPERATOR, default_plan_text(YEAR), "sample")
    register_units(uow(), OPERATOR, sample_units())
    plan = sample_plan()
    rows = sample_values(plan)
    codes = tuple(ind.code for ind in plan.development.indicators)
    matrix = np.array(
        [[np.nan if v is None else float(v) for v in row[1:]] for row in rows], dtype=float
    )
    import_values(
        uow(), OPERATOR, YEAR, IndicatorValues(tuple(str(r[0]) for r in rows), codes, matrix), "v"
    )
    grades = [
        GradeRecord(str(u), str(i), str(p), str(r), Grade(str(g)))
        for u, i, p, r, g in sample_grades(plan)
    ]
    import_grades(uow(), OPERATOR, YEAR, grades, "g")
    for person in PEOPLE:
        register_person(uow(), OPERATOR, person.telegram_id, person.name, person.role, person.unit)
    import_tasks(
        uow(),
        OPERATOR,
        YEAR,
        [TaskInput("dianzi", "T1", "重点项目建设", work_item="key_work"),
         TaskInput("xiji", "T1", "重点项目建设", work_item="key_work")],
    )  # fmt: skip
    ids = {t.unit_code: t.unit_id for t in tasks_of_year(uow(), OPERATOR, YEAR)}
    record_finding(
        uow(), OPERATOR, ids["dianzi"], "项目进度滞后", "on_site_inspection",
        date(2025, 5, 10), date(2025, 5, 31),
    )  # fmt: skip
    record_finding(
        uow(), OPERATOR, ids["xiji"], "台账不完整", "on_site_inspection",
        date(2025, 6, 1), date(2025, 6, 30),
    )  # fmt: skip
